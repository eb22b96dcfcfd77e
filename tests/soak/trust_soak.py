#!/usr/bin/env python3
"""Trust soak (issue 9): an unprivileged attacker against root's fabric.

Root runs a real fevd and a producer and a consumer of queue "orders"
(mode 0600, numbered events) for DURATION seconds.  Meanwhile user nobody
(a forked child that dropped to it) squats names with files, FIFOs and
symlinks, flocks and truncates and scribbles over "shared" (mode 0666, the
queue it may write), tries to read "orders" and to create queues through
fevd, and churns control connections.  Root times a `list` over the control
socket every 50 ms.

Pass: fevd never dies; every root `list` answers; p99 <= 100 ms; every
event published to "orders" is consumed (nothing lost) and none twice
unflagged; the attacker never reads "orders" nor creates a queue.  Prints
the figures; exit 0 on pass, 1 on failure, 77 when not root.

Not part of ctest (five minutes).  Run: scripts/soak.sh [BUILD] [SECONDS]
"""
import errno
import fcntl
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
DURATION = float(sys.argv[2]) if len(sys.argv) > 2 else 300.0
FEVD = os.path.join(BUILD, "daemon", "fevd")
FEV = os.path.join(BUILD, "tools", "fev")
RATE = 2000  # root events per second on "orders"
NOBODY = 65534
SKIP = 77


def as_nobody(fn, *args):
    """Fork; the child drops to nobody and runs fn(*args)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = fn(*args) or 0
        except BaseException as e:  # the child never returns to main
            print("attacker error: %r" % (e,), file=sys.stderr)
        os._exit(code)
    return pid


def request(sock_path, req, timeout=2.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        # Blocking, as fev's client: a full backlog makes it wait, not
        # fail (a timeout would make Python's connect non-blocking).
        s.connect(sock_path)
        s.settimeout(timeout)
        s.send(req.encode())
        return s.recv(1 << 20).decode(errors="replace")
    finally:
        s.close()


# ---- the attacker ------------------------------------------------------

def shm(inst, name):
    return "/dev/shm/fev.%s.%s" % (inst, name)


def attack_files(inst, until, counts_path):
    """Squat, lock, truncate, scribble; try to read root's queue."""
    rnd = random.Random(os.getpid())
    reads_ok = 0
    held = []
    while time.time() < until:
        act = rnd.randrange(8)
        name = "sq%d" % rnd.randrange(20)
        try:
            if act == 0:  # a file of ours under a queue name
                fd = os.open(shm(inst, name), os.O_RDWR | os.O_CREAT, 0o666)
                os.ftruncate(fd, rnd.choice([0, 896, 4096, 65536]))
                os.pwrite(fd, os.urandom(64), 0)
                os.close(fd)
            elif act == 1:
                os.mkfifo(shm(inst, name + "f"), 0o666)
            elif act == 2:
                os.symlink("/etc/shadow", shm(inst, name + "l"))
            elif act == 3:  # lock whatever we can open
                fd = os.open(shm(inst, rnd.choice(["shared", "orders"])),
                             os.O_RDONLY | os.O_NONBLOCK)
                fcntl.flock(fd, rnd.choice([fcntl.LOCK_SH, fcntl.LOCK_EX])
                            | fcntl.LOCK_NB)
                held.append(fd)
                if len(held) > 8:
                    os.close(held.pop(0))
            elif act == 4:  # truncate the queue we may write
                fd = os.open(shm(inst, "shared"), os.O_RDWR)
                os.ftruncate(fd, rnd.choice([0, 4096, 1 << 20]))
                os.close(fd)
            elif act == 5:  # scribble: random words, the DELETED state
                fd = os.open(shm(inst, "shared"), os.O_RDWR)
                off = rnd.choice([256, 384, 512, 640, 896,
                                  rnd.randrange(0, 1 << 16)])
                os.pwrite(fd, struct.pack("<I", rnd.choice([2, 0, 0xffffffff,
                                                            rnd.getrandbits(32)])),
                          off)
                os.close(fd)
            elif act == 6:  # read root's queue: must never work
                fd = os.open(shm(inst, "orders"), os.O_RDONLY)
                os.close(fd)
                reads_ok += 1
            else:  # clean up some of our own squatting
                for suffix in ("", "f", "l"):
                    try:
                        os.unlink(shm(inst, name + suffix))
                    except OSError:
                        pass
        except OSError:
            pass
        time.sleep(rnd.random() * 0.002)
    with open(counts_path, "a") as f:
        f.write("reads_ok %d\n" % reads_ok)
    return 0


def attack_tool(inst, sock_path, until, counts_path):
    """Use the real tools and protocol as nobody: read, create, delete."""
    env = dict(os.environ, FEV_INSTANCE=inst, FEV_CONTROL_SOCKET=sock_path)
    sub_ok = create_ok = 0
    while time.time() < until:
        r = subprocess.run([FEV, "sub", "orders", "-n", "1", "-t", "100ms"],
                           env=env, capture_output=True, timeout=30)
        sub_ok += r.returncode == 0 and len(r.stdout) > 0
        try:
            rep = request(sock_path, "create evil%d" % random.randrange(9))
            create_ok += rep.startswith("0\n")
            request(sock_path, "delete orders")
        except OSError:
            pass
        time.sleep(0.05)
    with open(counts_path, "a") as f:
        f.write("sub_ok %d\ncreate_ok %d\n" % (sub_ok, create_ok))
    return 0


def churn(sock_path, until):
    """Four threads opening idle and junk connections."""
    def one(seed):
        rnd = random.Random(seed)
        conns = []
        while time.time() < until:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                s.setblocking(False)
                s.connect(sock_path)
                if rnd.random() < 0.3:
                    s.send(os.urandom(rnd.randrange(1, 512)))
                conns.append(s)
            except OSError:
                time.sleep(0.001)
            if conns and (len(conns) > 200 or rnd.random() < 0.2):
                for s in conns[: rnd.randrange(1, len(conns) + 1)]:
                    s.close()
                conns = conns[len(conns) // 2:]
        for s in conns:
            s.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return 0


# ---- root --------------------------------------------------------------

def write_events(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write("ev-%08d\n" % i)


def percentile(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))] if v else float("nan")


def main():
    if os.geteuid() != 0:
        print("skipped: the attacker runs as nobody, which needs root")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="fev-soak-")
    os.chmod(tmp, 0o755)  # the attacker must reach the control socket
    inst = "soak%d" % os.getpid()
    sock_path = os.path.join(tmp, "ctl.sock")
    admin_path = os.path.join(tmp, "admin", "ctl.sock")
    conf = os.path.join(tmp, "fevd.conf")
    log = os.path.join(tmp, "fevd.log")
    counts = os.path.join(tmp, "counts")
    open(counts, "w").close()
    os.chmod(counts, 0o666)
    with open(conf, "w") as f:
        f.write("[fabric]\ninstance = %s\ncontrol_socket = %s\n"
                "pidfile = %s/fevd.pid\n\n[queue orders]\ncapacity = 4096\n"
                "mode = 0600\n\n[queue shared]\ncapacity = 1024\n"
                "mode = 0666\n" % (inst, sock_path, tmp))
    env = dict(os.environ, FEV_INSTANCE=inst, FEV_CONTROL_SOCKET=sock_path)
    fevd = subprocess.Popen([FEVD, "--config", conf],
                            stderr=open(log, "w"))
    for _ in range(500):
        if os.path.exists(admin_path):
            break
        time.sleep(0.01)
    n_events = int(DURATION * RATE)
    events = os.path.join(tmp, "events")
    received = os.path.join(tmp, "received")
    write_events(events, n_events)
    consumer = subprocess.Popen([FEV, "sub", "orders", "-t", "20s"], env=env,
                                stdout=open(received, "w"))
    producer = subprocess.Popen([FEV, "pub", "orders", "-f", events,
                                 "--rate", "%d/s" % RATE, "-q"], env=env)
    until = time.time() + DURATION
    attackers = [as_nobody(attack_files, inst, until, counts),
                 as_nobody(attack_files, inst, until, counts),
                 as_nobody(attack_tool, inst, sock_path, until, counts),
                 as_nobody(churn, sock_path, until)]
    lat, failures, fevd_died, why = [], 0, False, {}
    while time.time() < until:
        t0 = time.monotonic()
        try:
            # As fev does: the admin socket, whose backlog is root's.
            rep = request(admin_path, "list")
            ok = rep.startswith("0\n")
            if not ok:
                why[rep[:60]] = why.get(rep[:60], 0) + 1
        except OSError as e:
            ok = False
            why[repr(e)] = why.get(repr(e), 0) + 1
        lat.append(time.monotonic() - t0)
        failures += not ok
        if fevd.poll() is not None:
            fevd_died = True
            break
        time.sleep(0.05)
    for pid in attackers:
        os.waitpid(pid, 0)
    pub_rc = producer.wait(timeout=DURATION + 120)
    sub_rc = consumer.wait(timeout=120)
    fevd_died |= fevd.poll() is not None
    with open(received) as f:
        got = [line.strip() for line in f]
    want = set("ev-%08d" % i for i in range(n_events))
    lost = len(want - set(got))
    dups = len(got) - len(set(got))
    tally = {}
    for line in open(counts):
        k, v = line.split()
        tally[k] = tally.get(k, 0) + int(v)
    fevd.send_signal(signal.SIGTERM)
    try:
        fevd.wait(timeout=10)
    except subprocess.TimeoutExpired:
        fevd.kill()
    for entry in os.listdir("/dev/shm"):
        if entry.startswith("fev.%s." % inst):
            try:
                os.unlink("/dev/shm/" + entry)
            except OSError:
                pass
    lines = sum(1 for _ in open(log))
    p50, p99 = percentile(lat, 0.5) * 1e3, percentile(lat, 0.99) * 1e3
    print("soak %.0f s: root list x%d: p50 %.2f ms, p99 %.2f ms, max %.2f "
          "ms, %d failed; fevd died: %s; orders: %d published (pub exit "
          "%d), %d consumed (sub exit %d), lost %d, duplicates %d; "
          "attacker: orders opened %d, fev sub got events %d, creates "
          "accepted %d; fevd log %d lines (%s)"
          % (DURATION, len(lat), p50, p99, max(lat) * 1e3, failures,
             fevd_died, n_events, pub_rc, len(got), sub_rc, lost, dups,
             tally.get("reads_ok", -1), tally.get("sub_ok", -1),
             tally.get("create_ok", -1), lines, log))
    ok = (not fevd_died and failures == 0 and p99 <= 100 and lost == 0
          and dups == 0 and tally.get("reads_ok", 1) == 0
          and tally.get("sub_ok", 1) == 0 and tally.get("create_ok", 1) == 0)
    for k, v in why.items():
        print("  root list failed %d times: %s" % (v, k))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
