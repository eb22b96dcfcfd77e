"""fev stat: table, JSON and Prometheus output, read straight from shared
memory with no fevd running."""
import json
import os
import re
import subprocess
import sys
import time

from fevtool import (FEVD, PROMTOOL, Skip, expect, expect_rc, main,
                     skip_unless_root, stop_fevd, wait_until)


def stat_json(f, *args):
    r = f.fev("stat", "--json", *args)
    expect_rc(r, 0, "stat --json")
    return json.loads(r.stdout)


def queue(doc, name):
    for q in doc["queues"]:
        if q["name"] == name:
            return q
    raise AssertionError("no queue %s in %s" % (name, doc))


def test_json_counts_match_what_was_published_and_consumed(f):
    f.create("jobs", capacity=128, max_event=512, policy="reject")
    f.create("idle", capacity=16, max_event=64)
    expect_rc(f.fev("pub", "jobs", "--size", "10", "--count", "50"), 0, "pub")
    expect_rc(f.fev("sub", "jobs", "-n", "20", "--timeout", "5s"), 0, "sub")
    doc = stat_json(f, "-i", "0")
    expect(doc["instance"] == f.instance, "instance", doc)
    expect([q["name"] for q in doc["queues"]] == ["idle", "jobs"],
           "every queue, in name order", doc)
    q = queue(doc, "jobs")
    want = {"capacity": 128, "max_event": 512, "policy": "reject",
            "depth": 30, "enqueued": 50, "dequeued": 20, "producers": 0,
            "consumers": 0, "dropped": 0, "redelivered": 0, "tombstoned": 0,
            "deleted": False, "oldest_claim": None}
    for k, v in want.items():
        expect(q[k] == v, "%s is %r, wanted %r" % (k, q[k], v), q)
    expect(abs(q["fill"] - 30 / 128) < 1e-3, "fill", q)
    expect(q["enqueue_rate"] is None, "one sample has no rate", q)
    expect(queue(doc, "idle")["depth"] == 0, "idle queue")


def test_json_rates_come_from_two_samples(f):
    f.create("jobs", capacity=4096)
    pub = f.spawn([os.environ["FEV"], "pub", "jobs", "-m", "x",
                   "--count", "2000", "--rate", "400/s", "-q"])
    # A slow (sanitized) start must not leave the two samples empty.
    wait_until(lambda: queue(stat_json(f, "-i", "0"), "jobs")["depth"] > 0,
               what="the publisher to start")
    q = queue(stat_json(f, "-i", "0.5"), "jobs")
    pub.kill()
    pub.wait(timeout=10)
    expect(q["enqueue_rate"] is not None and q["enqueue_rate"] > 0,
           "enqueue rate while publishing", q)
    expect(q["dequeue_rate"] == 0, "nobody consumes", q)
    expect(q["producers"] == 1, "the publisher is attached", q)


def test_stalled_consumer_claim_shows_age_and_pid(f):
    f.create("jobs")
    expect_rc(f.fev("pub", "jobs", "-m", "stuck"), 0, "pub")
    hold = f.spawn([os.environ["FEVTEST_HELPER"], "hold-consumer",
                    f.instance, "jobs", "20"], stdout=subprocess.PIPE,
                   text=True)
    expect(hold.stdout.readline().startswith("held "), "helper holds")
    q = queue(stat_json(f, "-i", "0.3"), "jobs")
    c = q["oldest_claim"]
    expect(c is not None, "a claim", q)
    expect(c["pid"] == hold.pid and c["role"] == "consumer" and
           c["alive"] is True, "whose claim", c)
    expect(c["age_s"] is not None and c["age_s"] >= 0.3, "age", c)
    r = f.fev("stat", "-i", "0.3")
    expect_rc(r, 0, "stat")
    row = [l for l in r.stdout.splitlines() if l.startswith("jobs ")][0]
    # fev_acquire stamps its claim: the age is exact, not ">=" a guess
    expect(re.search(r" [0-9.]+m?s cons @0 pid %d$" % hold.pid, row),
           "the table row names the claim", row)


def test_stalled_producer_claim_is_shown_as_producer(f):
    f.create("jobs")
    hold = f.spawn([os.environ["FEVTEST_HELPER"], "hold-producer",
                    f.instance, "jobs", "20"], stdout=subprocess.PIPE,
                   text=True)
    expect(hold.stdout.readline().startswith("held "), "helper holds")
    c = queue(stat_json(f, "-i", "0.2"), "jobs")["oldest_claim"]
    expect(c is not None and c["role"] == "producer" and
           c["pid"] == hold.pid, "producer claim", c)


def library_verdicts(f, queue, prefix=()):
    """The library's liveness rule (fev__attacher_life(), the one repair
    and fevd use) on each ACTIVE record: {pid: verdict}."""
    r = subprocess.run(list(prefix) + [os.environ["FEVTEST_HELPER"], "life",
                                       f.instance, queue],
                       capture_output=True, text=True, env=f.env, timeout=30)
    expect_rc(r, 0, "fevtest-helper life")
    return {int(p): v for p, v in (l.split() for l in r.stdout.splitlines())}


def stat_verdicts(f, queue, prefix=()):
    """fev stat's verdict on each attacher of queue: {pid: verdict}."""
    r = subprocess.run(list(prefix) + [os.environ["FEV"], "stat", queue,
                                       "--json", "-i", "0"],
                       capture_output=True, text=True, env=f.env, timeout=30)
    expect_rc(r, 0, "stat --json")
    att = json.loads(r.stdout)["queues"][0]["attachers"]
    return {a["pid"]: "dead" if not a["alive"] else
            "unchecked" if a["unchecked"] else "alive" for a in att}


def agree(f, queue, pid, want, prefix=()):
    lib = library_verdicts(f, queue, prefix)
    stat = stat_verdicts(f, queue, prefix)
    expect(lib.get(pid) == want, "the library says %s of pid %d" %
           (want, pid), lib)
    expect(stat == lib, "fev stat and the library agree", stat, lib)


def test_stat_and_the_library_agree_on_a_zombie(f):
    # A zombie still answers kill(pid, 0) and has a /proc entry: a rule of
    # fev stat's own that asked either would call it alive.
    f.create("jobs")
    hold = f.spawn([os.environ["FEVTEST_HELPER"], "hold-producer",
                    f.instance, "jobs", "60"], stdout=subprocess.PIPE,
                   text=True)
    expect(hold.stdout.readline().startswith("held "), "helper holds")
    agree(f, "jobs", hold.pid, "alive")
    os.kill(hold.pid, 9)  # not reaped: a zombie until hold.wait()

    def zombie():
        with open("/proc/%d/stat" % hold.pid) as st:
            return st.read().rsplit(")", 1)[1].split()[0] == "Z"
    wait_until(zombie, what="the helper to be a zombie")
    agree(f, "jobs", hold.pid, "dead")
    hold.wait()


def test_stat_and_the_library_agree_on_a_process_proc_hides(f):
    # /proc mounted with hidepid=invisible shows user nobody only its own
    # processes: root's attacher may run, and neither may call it dead.
    skip_unless_root("needs a mount namespace and another uid")
    hidden = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              "mount -t proc -o hidepid=invisible proc /proc && "
              "exec setpriv --reuid 65534 --regid 65534 --clear-groups "
              "\"$@\"", "sh"]
    if subprocess.run(hidden + [os.environ["FEV"], "--help"],
                      capture_output=True).returncode != 0:
        raise Skip("cannot run fev as nobody under a hidepid /proc here "
                   "(build tree closed to uid 65534, or no mount namespace)")
    f.create("jobs")
    hold = f.spawn([os.environ["FEVTEST_HELPER"], "hold-producer",
                    f.instance, "jobs", "60"], stdout=subprocess.PIPE,
                   text=True)
    expect(hold.stdout.readline().startswith("held "), "helper holds")
    agree(f, "jobs", hold.pid, "unchecked", prefix=hidden)
    hold.kill()
    hold.wait()


def test_stat_queue_adds_a_line_per_attached_process(f):
    f.create("jobs")
    expect_rc(f.fev("pub", "jobs", "-m", "a"), 0, "pub")
    hold = f.spawn([os.environ["FEVTEST_HELPER"], "hold-consumer",
                    f.instance, "jobs", "20"], stdout=subprocess.PIPE,
                   text=True)
    hold.stdout.readline()
    r = f.fev("stat", "jobs", "-i", "0")
    expect_rc(r, 0, "stat QUEUE")
    lines = [l.split() for l in r.stdout.splitlines()]
    mine = [l for l in lines if len(l) > 3 and l[1] == str(hold.pid)]
    expect(mine and mine[0][2] == "fevtest-helper" and
           mine[0][3] == "consumer", "attacher line", r.stdout)
    expect("policy block" in r.stdout, "queue details", r.stdout)


def test_prometheus_output_passes_promtool(f):
    if not PROMTOOL:
        print("  (promtool not installed: checking the format by eye only)")
    f.create("jobs", capacity=64)
    f.create("other.q", capacity=16)
    expect_rc(f.fev("pub", "jobs", "-m", "x", "--count", "7"), 0, "pub")
    r = f.fev("stat", "--prometheus", "-i", "0")
    expect_rc(r, 0, "stat --prometheus")
    expect('fev_queue_depth_events{fabric="%s",queue="jobs"} 7' % f.instance
           in r.stdout, "depth sample", r.stdout)
    expect("# TYPE fev_queue_enqueued_events_total counter" in r.stdout,
           "counter type", r.stdout)
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=r.stdout,
                           capture_output=True, text=True, timeout=30)
        expect(p.returncode == 0, "promtool check metrics", p.stdout,
               p.stderr)


def test_stat_reads_queues_while_no_fevd_runs(f):
    f.create("jobs")
    r = f.fev("queue", "list")
    expect(r.returncode == 1 and "fevd is not running" in r.stderr,
           "no fevd serves this instance", r.stderr)
    r = f.fev("stat", "-i", "0")
    expect_rc(r, 0, "stat without fevd")
    expect(any(l.startswith("jobs ") for l in r.stdout.splitlines()),
           "the queue is listed", r.stdout)
    expect("fevd not running" in r.stdout.splitlines()[0], "header says so",
           r.stdout)
    doc = stat_json(f, "-i", "0")
    expect(doc["fevd"]["running"] is False, "json says so", doc)


def test_empty_instance_says_there_are_no_queues(f):
    r = f.fev("stat", "-i", "0")
    expect_rc(r, 0, "stat")
    expect("no queues in instance %s" % f.instance in r.stdout, "message",
           r.stdout)
    doc = stat_json(f, "-i", "0")
    expect(doc["queues"] == [], "empty list", doc)


def test_unreadable_segment_is_reported_not_fatal(f):
    f.create("good")
    f.create("bad")
    path = "/dev/shm/fev.%s.bad" % f.instance
    with open(path, "r+b") as fh:
        fh.write(b"garbage!")  # the magic
    doc = stat_json(f, "-i", "0")
    expect("error" in queue(doc, "bad"), "bad queue has an error", doc)
    expect(queue(doc, "good")["depth"] == 0, "good queue still read", doc)
    r = f.fev("stat", "-i", "0")
    expect_rc(r, 0, "table")
    expect("corrupt" in r.stdout, "says corrupt", r.stdout)


def test_garbage_in_counters_and_attacher_table_never_crashes_stat(f):
    f.create("trash", capacity=16, max_event=16)
    f.create("fine")
    for seed in range(1, 6):
        f.helper("scribble", "trash", str(seed))
        doc = stat_json(f, "-i", "0")
        expect(queue(doc, "fine")["depth"] == 0, "the good queue", doc)
        expect(isinstance(queue(doc, "trash")["attachers"], list),
               "the scribbled queue is still shown")
        for args in (["stat", "-i", "0"], ["stat", "trash", "-i", "0"],
                     ["stat", "--prometheus", "-i", "0"]):
            r = f.fev(*args)
            expect_rc(r, 0, " ".join(args) + " after scribble %d" % seed)
        if PROMTOOL:
            p = subprocess.run([PROMTOOL, "check", "metrics"],
                               input=r.stdout, capture_output=True,
                               text=True, timeout=30)
            expect(p.returncode == 0, "promtool", p.stdout, p.stderr)

def series(text):
    """HELP/TYPE lines and sample names with labels, values left out."""
    return sorted(l if l.startswith("#") else l.rsplit(" ", 1)[0]
                  for l in text.splitlines() if l)


def test_fevd_metrics_are_the_series_of_stat_prometheus(f):
    """curl fevd's /metrics (metrics_listen): promtool accepts it, and it
    has exactly the series fev stat --prometheus writes (common/prom)."""
    conf = os.path.join(f.tmp, "fevd.conf")
    with open(conf, "w") as c:
        c.write("[fabric]\ninstance = %s\ncontrol_socket = %s\n"
                "pidfile = %s\nmetrics_listen = 127.0.0.1:0\n"
                "[queue jobs]\ncapacity = 64\n[queue other.q]\n"
                % (f.instance, f.socket, os.path.join(f.tmp, "fevd.pid")))
    log = open(os.path.join(f.tmp, "fevd.log"), "w+")
    p = f.spawn([FEVD, "--config", conf], stdout=subprocess.DEVNULL,
                stderr=log)
    url = wait_until(lambda: re.search(r"http://127\.0\.0\.1:\d+/metrics",
                                       open(log.name).read()),
                     what="fevd to serve /metrics").group(0)
    expect_rc(f.fev("pub", "jobs", "-m", "x", "--count", "3"), 0, "pub")
    r = subprocess.run(["curl", "-sf", url], capture_output=True, text=True,
                       timeout=30)
    expect(r.returncode == 0, "curl " + url, r.stderr)
    expect('fev_queue_depth_events{fabric="%s",queue="jobs"} 3\n'
           % f.instance in r.stdout, "depth from fevd", r.stdout)
    if PROMTOOL:
        pt = subprocess.run([PROMTOOL, "check", "metrics"], input=r.stdout,
                            capture_output=True, text=True, timeout=30)
        expect(pt.returncode == 0, "promtool check metrics", pt.stdout,
               pt.stderr)
    st = f.fev("stat", "--prometheus", "-i", "0")
    expect_rc(st, 0, "stat --prometheus")
    expect(series(r.stdout) == series(st.stdout),
           "the same series from fevd and fev stat", r.stdout, st.stdout)
    stop_fevd(p)


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")]))
