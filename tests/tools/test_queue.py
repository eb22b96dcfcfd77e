"""fev queue create|delete|list against the real fevd, and fev stat after
fevd has stopped."""
import json
import os
import socket
import struct
import subprocess
import sys

from fevtool import FEVD, expect, expect_rc, expect_sentence, listed, main, \
    skip_unless_root, start_fevd, stop_fevd, wait_until

AS_NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534",
             "--clear-groups"]


def test_create_list_and_delete_through_fevd(f):
    start_fevd(f)
    expect("events" in listed(f), "fevd's default queue is listed")
    r = f.fev("queue", "create", "jobs", "--capacity", "64",
              "--max-event", "1K", "--policy", "reject")
    expect_rc(r, 0, "create")
    expect(r.stdout == "created queue 'jobs' in instance %s\n" % f.instance,
           "create says so", r.stdout)
    q = listed(f)["jobs"]
    expect(q["capacity"] == 64 and q["max_event"] == 1024 and
           q["policy"] == "reject" and q["depth"] == 0, "list", q)
    expect_rc(f.fev("pub", "jobs", "-m", "x", "--count", "3"), 0, "pub")
    r = f.fev("queue", "list")
    expect_rc(r, 0, "queue list")
    row = [l.split() for l in r.stdout.splitlines() if l.startswith("jobs ")]
    expect(row and row[0][1:5] == ["64", "1.0KB", "reject", "3"],
           "table row", r.stdout)
    expect_rc(f.fev("queue", "delete", "jobs", "-q"), 0, "delete")
    expect("jobs" not in listed(f), "deleted queue is gone")


def test_key_value_settings_are_accepted_as_in_the_config(f):
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "kv", "capacity=128",
                    "max_event=512", "policy=drop-oldest"), 0, "create")
    q = listed(f)["kv"]
    expect(q["capacity"] == 128 and q["policy"] == "drop-oldest", "kv", q)


def segment_header_u32(f, queue, offset):
    """A 32-bit word of the queue's segment header (layout.h, frozen by
    test_layout: attacher_max at 40)."""
    with open("/dev/shm/fev.%s.%s" % (f.instance, queue), "rb") as seg:
        return struct.unpack_from("<I", seg.read(64), offset)[0]


def test_every_config_key_is_accepted_by_create(f):
    # attachers= is a key of fevd's config: create forwards it too.
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "wide", "attachers=128",
                    "capacity=64", "max_event=1K", "policy=reject",
                    "mode=0640"), 0, "create attachers=128")
    expect(segment_header_u32(f, "wide", 40) == 128,
           "the segment has 128 attacher records")
    q = listed(f)["wide"]
    expect(q["capacity"] == 64 and q["policy"] == "reject", "wide", q)


def fevd_request(f, request):
    """One request on fevd's control socket, as the tool sends it: the
    reply's first line ("0" or "-ERRNO sentence")."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(10)
        s.connect(f.socket)
        s.send(request.encode())
        return s.recv(65536).decode().split("\n")[0]
    finally:
        s.close()


def config_error(f, text):
    """fevd's complaint about a config file holding text."""
    path = os.path.join(f.tmp, "bad.conf")
    with open(path, "w") as conf:
        conf.write(text)
    r = subprocess.run([FEVD, "--config", path, "--check-config"],
                       capture_output=True, text=True, timeout=30)
    expect(r.returncode != 0, "fevd refuses the config", r.stderr)
    return r.stderr


def test_a_bad_setting_reads_the_same_from_cli_config_and_socket(f):
    start_fevd(f)
    for setting, sentence in [
            ("colour=red", "unknown queue key 'colour' (capacity, "
             "max_event, attachers, partitions, policy, mode, group, "
             "trace_hops, producers or consumers)"),
            ("attachers=0", "attachers '0' out of range 1..4096"),
            ("capacity=100", "capacity '100' is not a power of two"),
            ("policy=maybe",
             "policy 'maybe' is not block, reject or drop-oldest"),
            ("producers=one", "producers 'one' is not single or multi")]:
        key, value = setting.split("=")
        expect_sentence(f.fev("queue", "create", "q", setting), 2,
                        "fev: " + sentence)
        err = config_error(f, "[queue q]\n%s = %s\n" % (key, value))
        expect(":2: " + sentence in err, "config says " + sentence, err)
        reply = fevd_request(f, "create q " + setting)
        expect(reply == "-22 bad request: " + sentence,
               "control socket says " + sentence, reply)
    expect("q" not in listed(f), "nothing created")


def test_single_producer_and_consumer_queue_is_made_shown_and_kept(f):
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "ticks", "--sp", "--sc",
                    "--capacity", "64"), 0, "create --sp --sc")
    expect_rc(f.fev("queue", "create", "fan", "producers=single"), 0,
              "create producers=single")
    r = f.fev("stat", "--json", "ticks")
    expect_rc(r, 0, "stat ticks")
    expect(json.loads(r.stdout)["queues"][0]["sync"] == "spsc",
           "stat --json says spsc", r.stdout)
    r = f.fev("stat", "fan", "-i", "0")
    expect_rc(r, 0, "stat fan")
    expect("sync spmc" in r.stdout, "stat says spmc", r.stdout)
    # One producer at a time: the second fev pub is told why.
    holder = subprocess.Popen([os.environ["FEV"], "pub", "ticks"],
                              stdin=subprocess.PIPE, env=f.env,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: listed(f)["ticks"]["producers"] == 1,
                   what="the first producer attached")
        r = f.fev("pub", "ticks", "-m", "x")
        expect(r.returncode == 1 and "single-producer" in r.stderr,
               "a second producer is refused with a sentence", r.stderr)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    expect_rc(f.fev("pub", "ticks", "-m", "x"), 0, "pub once it left")
    for setting, sentence in [
            (["consumers=single", "policy=drop-oldest"],
             "consumers = single cannot have policy drop-oldest"),
            (["--sp", "--partitions", "4"], "are for queues, not topics")]:
        r = f.fev("queue", "create", "bad", *setting)
        expect(r.returncode == 1 and sentence in r.stderr,
               "refused: " + sentence, r.stderr)
    expect("bad" not in listed(f), "nothing created")


def test_fevd_errors_are_shown_as_sentences(f):
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "jobs"), 0, "create")
    expect_sentence(f.fev("queue", "create", "jobs"), 1, "already exists",
                    "jobs")
    expect_sentence(f.fev("queue", "delete", "nothere"), 1, "nothere")


def test_permission_denied_for_an_unprivileged_user(f):
    skip_unless_root("cannot run a command as another user")
    os.chmod(f.tmp, 0o755)  # let nobody reach the socket itself
    start_fevd(f)
    r = f.fev("queue", "create", "jobs", prefix=AS_NOBODY)
    expect_sentence(r, 1, "permission denied")
    expect("jobs" not in listed(f), "nothing created")
    r = f.fev("queue", "list", prefix=AS_NOBODY)
    expect_rc(r, 0, "anyone may list")


def test_stat_shows_whether_fevd_runs(f):
    p = start_fevd(f)
    doc = json.loads(f.fev("stat", "--json", "-i", "0").stdout)
    expect(doc["fevd"]["running"] is True and doc["fevd"]["pid"] == p.pid,
           "fevd is up", doc["fevd"])
    r = f.fev("stat", "--prometheus", "-i", "0")
    expect('fev_fevd_up{fabric="%s"} 1' % f.instance in r.stdout, "metric",
           r.stdout)
    stop_fevd(p)
    doc = json.loads(f.fev("stat", "--json", "-i", "0").stdout)
    expect(doc["fevd"]["running"] is False, "fevd is down", doc["fevd"])
    r = f.fev("stat", "-i", "0")
    expect("fevd not running" in r.stdout, "table header", r.stdout)


def test_stat_and_sub_show_what_fevd_repaired(f):
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "jobs", "--capacity", "16"), 0,
              "create")
    expect_rc(f.fev("pub", "jobs", "-m", "again"), 0, "pub")
    helper = os.environ["FEVTEST_HELPER"]
    for role in ("hold-consumer", "hold-producer"):
        h = f.spawn([helper, role, f.instance, "jobs", "30"],
                    stdout=subprocess.PIPE)
        expect(h.stdout.readline().startswith(b"held "), role)
        h.kill()
        h.wait(timeout=10)

    def repaired():
        r = f.fev("stat", "jobs", "--json", "-i", "0")
        q = json.loads(r.stdout)["queues"][0]
        return q if q["redelivered"] == 1 and q["tombstoned"] == 1 else None
    q = wait_until(repaired, what="fevd to repair both dead holders")
    expect(q["oldest_claim"] is None and q["attachers"] == [],
           "nothing held any more", q)
    r = f.fev("sub", "jobs", "-n", "1", "--json", "--timeout", "5s")
    ev = json.loads(r.stdout)
    expect(ev["payload"] == "again" and ev["redelivered"] is True and
           ev["flags"] == 1, "the event comes again, flagged", ev)
    r = f.fev("sub", "jobs", "--timeout", "300ms")
    expect(r.returncode == 0 and r.stdout == "",
           "the tombstone is skipped", r.stdout)


def test_topic_partitions_are_served_like_queues_by_fevd(f):
    p = start_fevd(f)
    r = f.fev("topic", "create", "orders", "--partitions", "4",
              "--capacity", "16")
    expect_rc(r, 0, "topic create")
    expect(r.stdout == "created topic 'orders' in instance %s\n" %
           f.instance, "create says it made a topic", r.stdout)
    names = ["orders", "orders@1", "orders@2", "orders@3"]
    q = listed(f)
    expect(all(n in q and q[n]["capacity"] == 16 for n in names),
           "every partition is listed", q)
    expect_rc(f.fev("queue", "create", "orders@1"), 2,
              "a partition name is no queue name")
    # fevd watches a partition as a queue: a dead holder is repaired.
    expect_rc(f.fev("pub", "orders@2", "-m", "again"), 0, "pub")
    h = f.spawn([os.environ["FEVTEST_HELPER"], "hold-consumer", f.instance,
                 "orders@2", "30"], stdout=subprocess.PIPE)
    expect(h.stdout.readline().startswith(b"held "), "held")
    h.kill()
    h.wait(timeout=10)
    r = f.fev("sub", "orders@2", "-n", "1", "--json", "--timeout", "10s")
    ev = json.loads(r.stdout)
    expect(ev["payload"] == "again" and ev["redelivered"] is True,
           "the event comes again, flagged", ev)
    # A restarted fevd adopts every partition.
    stop_fevd(p)
    start_fevd(f)
    q = listed(f)
    expect(all(n in q for n in names), "adopted after a restart", q)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")
    wait_until(lambda: not any(n in listed(f) for n in names),
               what="every partition to go")


def test_event_sub_could_not_write_out_is_delivered_again(f):
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "jobs", "--capacity", "16"), 0,
              "create")
    expect_rc(f.fev("pub", "jobs", "-m", "first"), 0, "pub")
    # The reader is gone before sub starts: closing it after the spawn
    # raced with a fast sub that wrote and released the event first.
    rd, wr = os.pipe()
    os.close(rd)
    sub = f.spawn([os.environ["FEV"], "sub", "jobs", "-n", "1"],
                  stdout=wr, stderr=subprocess.PIPE)
    os.close(wr)
    _, err = sub.communicate(timeout=20)
    expect(sub.returncode == 0 and err == b"", "a closed pipe ends sub "
           "quietly", sub.returncode, err)
    # sub sees the closed pipe before it takes the event (or, had it
    # taken it, fevd hands it back, flagged): either way it comes again.
    ev = json.loads(f.fev("sub", "jobs", "-n", "1", "--json",
                          "--timeout", "5s").stdout)
    expect(ev["payload"] == "first", "the event is not lost", ev)


def test_stat_works_after_fevd_stops(f):
    p = start_fevd(f)
    expect_rc(f.fev("queue", "create", "jobs", "--capacity", "32"), 0,
              "create")
    expect_rc(f.fev("pub", "jobs", "-m", "kept", "--count", "4"), 0, "pub")
    stop_fevd(p)
    expect_sentence(f.fev("queue", "list"), 1, "fevd is not running")
    r = f.fev("stat", "--json", "-i", "0")
    expect_rc(r, 0, "stat with fevd stopped")
    qs = {q["name"]: q for q in json.loads(r.stdout)["queues"]}
    expect("jobs" in qs and qs["jobs"]["depth"] == 4 and
           qs["jobs"]["capacity"] == 32, "queue still readable", qs)
    r = f.fev("sub", "jobs", "-n", "4", "--timeout", "5s")
    expect(r.returncode == 0 and r.stdout == "kept\n" * 4,
           "events outlive fevd", r.stdout)


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")], needs=("FEVD",)))
