"""The fev tool at its limits (issue 9): outputs that go away, rates and
groups at the edges of their ranges."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

from fevtool import expect, expect_rc, expect_sentence, listed, main, \
    skip_unless_root, start_fevd, wait_until


def depth(f, queue):
    r = f.fev("stat", queue, "--json", "-i", "0")
    expect_rc(r, 0, "stat")
    return json.loads(r.stdout)["queues"][0]["depth"]


def test_sub_on_a_quiet_queue_ends_when_its_reader_goes(f):
    f.create("jobs")
    r, w = os.pipe()
    sub = f.spawn([os.environ["FEV"], "sub", "jobs"], stdout=w,
                  stderr=subprocess.PIPE)
    os.close(w)
    wait_until(lambda: f.consumers("jobs") == 1, what="sub to attach")
    os.close(r)  # the reader goes; no event ever comes
    try:
        sub.wait(timeout=5)
    except subprocess.TimeoutExpired:
        raise AssertionError("sub still waits 5 s after its reader went")
    expect(sub.returncode == 0, "exit status", sub.returncode)


def test_sub_n_1_into_head_takes_exactly_one_event(f):
    f.create("jobs", capacity=1024)
    expect_rc(f.fev("pub", "jobs", "-m", "e", "--count", "1000"), 0, "pub")
    out = subprocess.run("'%s' sub jobs -n 1 | head -1" % os.environ["FEV"],
                         shell=True, env=f.env, capture_output=True,
                         text=True, timeout=30)
    expect(out.stdout == "e\n", "one event printed", out.stdout)
    expect(depth(f, "jobs") == 999, "only the printed one is released")


def test_sub_keeps_an_event_it_could_not_write(f):
    start_fevd(f)  # it redelivers what the failed sub held
    f.create("jobs")
    expect_rc(f.fev("pub", "jobs", "-m", "e", "--count", "3"), 0, "pub")
    # A full stdout that fails every write: /dev/full.
    with open("/dev/full", "w") as full:
        p = subprocess.run([os.environ["FEV"], "sub", "jobs", "-n", "3",
                            "--timeout", "2s"], stdout=full,
                           stderr=subprocess.PIPE, text=True, env=f.env,
                           timeout=30)
    expect(p.returncode == 1 and "writing the event failed" in p.stderr,
           "the failed write is reported", p.returncode, p.stderr)
    # The one it held comes back (redelivered): nothing was lost.
    r = f.fev("sub", "jobs", "-n", "3", "--timeout", "10s")
    expect(r.stdout == "e\n" * 3, "all three still there", r.stdout)


def test_pub_at_a_tiny_rate_waits_instead_of_overflowing(f):
    f.create("jobs")
    pub = f.spawn([os.environ["FEV"], "pub", "jobs", "-m", "x", "--count",
                   "2", "--rate", "1e-10"], stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    expect(pub.poll() is None, "pub finished: --rate 1e-10 was not applied")
    expect(depth(f, "jobs") == 1, "only the first event is due")
    pub.send_signal(signal.SIGINT)
    pub.communicate(timeout=10)
    expect(pub.returncode == 1, "interrupted", pub.returncode)


def test_queue_group_by_number_is_accepted_as_fevd_accepts_it(f):
    # A group the creator may give a file: any as root, else its own.
    gid = 65534 if os.geteuid() == 0 else os.getgid()
    start_fevd(f)
    r = f.fev("queue", "create", "a", "--group", str(gid), "--mode", "0660")
    expect_rc(r, 0, "create --group %d" % gid)
    expect(os.stat("/dev/shm/fev.%s.a" % f.instance).st_gid == gid,
           "owned by gid %d" % gid)
    # gid 0 means "the creator's" to libfev: refused by both, one reason.
    r = f.fev("queue", "create", "b", "--group", "0")
    expect_sentence(r, 2, "gid 0 cannot be given")
    r = f.fev("queue", "create", "b", "group=root")
    expect_sentence(r, 2, "gid 0 cannot be given")
    r = f.fev("queue", "create", "b", "--group", "3999999999")
    expect_sentence(r, 2, "no such group")
    expect("b" not in listed(f), "nothing created")


def test_stat_shows_an_attachers_escape_laden_name_harmlessly(f):
    f.create("jobs")
    # A process's name is its file name: any user picks it.  This one
    # clears the screen, sets the title, rings and is not UTF-8.
    evil = os.path.join(f.tmp.encode(), b"\x1b[2J\x1b]0;x\x07\xe9")
    os.symlink(os.environ["FEV"], evil)
    f.spawn([evil, b"sub", b"jobs"], stdout=subprocess.DEVNULL)
    # Bytes, not f.consumers(): that decodes the JSON as UTF-8.
    wait_until(lambda: b'"consumers":1,' in
               f.fev("stat", "jobs", "--json", "-i", "0", text=False).stdout,
               what="sub to attach")
    r = f.fev("stat", "jobs", "-i", "0", text=False)
    expect_rc(r, 0, "stat")
    expect(not any(c in r.stdout for c in b"\x1b\x07\xe9"),
           "escapes printed raw", r.stdout)
    expect(b"?[2J?]0;x??" in r.stdout, "the name, made harmless", r.stdout)
    r = f.fev("stat", "jobs", "--json", "-i", "0", text=False)
    doc = json.loads(r.stdout.decode("utf-8"))  # strict: valid UTF-8
    names = [a["process"] for a in doc["queues"][0]["attachers"]]
    expect(names == ["?[2J?]0;x??"], "json name", names)
    os.unlink(evil)


def test_queue_list_pages_through_more_queues_than_one_reply_holds(f):
    start_fevd(f)
    # ~120 bytes a line: 800 queues are about 96 KB, past the 64 KiB that
    # one reply of the control socket holds.  Created over one connection:
    # 800 runs of fev take minutes under a sanitizer.
    names = ["a-queue-with-a-long-name-to-fill-pages-%04d" % i
             for i in range(800)]
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.settimeout(30)
        s.connect(f.socket)
        for n in names:
            s.send(("create %s capacity=2 max_event=0" % n).encode())
            reply = s.recv(65536)
            expect(reply == b"0\n", "create " + n, reply)
    got = listed(f)
    expect(sorted(got) == sorted(names + ["events"]),
           "every queue listed once", len(got))
    r = f.fev("queue", "list")
    expect_rc(r, 0, "list")
    rows = r.stdout.splitlines()
    expect(len(rows) == 1 + 801 and rows[0].startswith("QUEUE"),
           "one header, one row per queue", len(rows))


def test_fev_does_not_talk_to_a_socket_in_someone_elses_run_dir(f):
    skip_unless_root("cannot act as two other users")
    # Not the uids of test_fevd_control_limits, which may run at the same time.
    victim, attacker = 54323, 54324
    run = "/tmp/fev-%d" % victim
    subprocess.run(["rm", "-rf", run], check=True)
    os.mkdir(run)
    os.chmod(run, 0o777)
    os.chown(run, attacker, attacker)
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    path = "%s/%s.sock" % (run, f.instance)
    try:
        srv.bind(path)
        os.chown(path, attacker, attacker)
        os.chmod(path, 0o666)
        srv.listen(4)
        srv.settimeout(10)

        def answer():  # the attacker's fake fevd
            try:
                c, _ = srv.accept()
                c.recv(4096)
                c.send(b"0\nstolen capacity=1 max_event=1 policy=block "
                       b"depth=0 producers=0 consumers=0\n")
                c.close()
            except OSError:
                pass
        import threading
        t = threading.Thread(target=answer, daemon=True)
        t.start()
        env = {k: v for k, v in f.env.items()
               if k not in ("XDG_RUNTIME_DIR", "FEV_CONTROL_SOCKET")}
        r = subprocess.run(["setpriv", "--reuid", str(victim), "--regid",
                            str(victim), "--clear-groups",
                            os.environ["FEV"], "queue", "list"],
                           capture_output=True, text=True, env=env,
                           timeout=30)
        expect("stolen" not in r.stdout, "the attacker answered", r.stdout)
        expect_sentence(r, 1, "not talking to the control socket",
                        "belongs to uid %d" % attacker)
    finally:
        srv.close()
        subprocess.run(["rm", "-rf", run])


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")]))
