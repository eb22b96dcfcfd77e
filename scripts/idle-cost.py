#!/usr/bin/env python3
"""fevd's cost with many quiet queues (issue 9, item 13; not in ctest).

Starts a real fevd on a private instance, creates N queues through its
control socket (capacity 16, as `fev queue create` would), then leaves it
idle and reports: the time of each 1,000 creates, the CPU fevd used while
idle (utime + stime from /proc over IDLE seconds), and ping latency
(p50/max of 50).  Removes every segment it made.

Run: scripts/idle-cost.py [BUILD] [N] [IDLE_SECONDS]
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
IDLE = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
FEVD = os.path.join(BUILD, "daemon", "fevd")


def request(path, req):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.settimeout(30)
        s.connect(path)
        s.send(req.encode())
        return s.recv(1 << 17).decode()
    finally:
        s.close()


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    tmp = tempfile.mkdtemp(prefix="fev-idle-")
    inst = "idle%d" % os.getpid()
    sock = os.path.join(tmp, "ctl.sock")
    fevd = subprocess.Popen([FEVD, "--instance", inst, "--control-socket",
                             sock, "--pidfile", os.path.join(tmp, "pid")],
                            stderr=open(os.path.join(tmp, "log"), "w"))
    try:
        for _ in range(500):
            try:
                request(sock, "ping")
                break
            except OSError:
                time.sleep(0.01)
        t0 = t = time.monotonic()
        for i in range(N):
            rep = request(sock, "create q%05d capacity=16" % i)
            if not rep.startswith("0\n"):
                raise SystemExit("create q%05d: %s" % (i, rep))
            if (i + 1) % 1000 == 0:
                now = time.monotonic()
                print("creates %5d..%5d: %.2f s" % (i - 998, i + 1, now - t))
                t = now
        print("created %d queues in %.1f s" % (N, time.monotonic() - t0))
        time.sleep(2)  # let the creates settle
        c0, w0 = cpu_s(fevd.pid), time.monotonic()
        time.sleep(IDLE)
        c1, w1 = cpu_s(fevd.pid), time.monotonic()
        print("idle fevd CPU with %d queues: %.2f %% over %.0f s"
              % (N, 100 * (c1 - c0) / (w1 - w0), w1 - w0))
        lat = []
        for _ in range(50):
            t = time.monotonic()
            request(sock, "ping")
            lat.append(time.monotonic() - t)
            time.sleep(0.02)
        lat.sort()
        print("ping: p50 %.2f ms, max %.2f ms" % (lat[25] * 1e3,
                                                  lat[-1] * 1e3))
        print(request(sock, "ping").split("\n")[1])
    finally:
        fevd.terminate()
        fevd.wait(timeout=30)
        for e in os.listdir("/dev/shm"):
            if e.startswith("fev.%s." % inst):
                os.unlink("/dev/shm/" + e)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
