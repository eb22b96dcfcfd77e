"""fev-nats against real fevds (each test's own FEV_INSTANCEs) and a real
nats-server -js on 127.0.0.1 (a free port, its own store directory)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

from connector_fixture import ConnectorDaemon
from fevtool import Fabric, expect, wait_until

FEV_NATS = os.environ.get("FEV_NATS", "")
NATS_PEER = os.environ.get("NATS_PEER", "")
NATS_SERVER = os.environ.get("NATS_SERVER", "") or \
    shutil.which("nats-server") or ""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NatsServer:
    """nats-server -js on 127.0.0.1; restartable on the same port and
    store, as a crashed server comes back."""

    def __init__(self, f, conf=""):
        self.f = f
        self.port = free_port()
        self.store = os.path.join(f.tmp, "js-%d" % self.port)
        self.conf = os.path.join(f.tmp, "nats-%d.conf" % self.port)
        self.log = os.path.join(f.tmp, "nats-%d.log" % self.port)
        with open(self.conf, "w") as c:
            c.write("listen: 127.0.0.1:%d\njetstream {store_dir: \"%s\"}\n"
                    "%s\n" % (self.port, self.store, conf))
        self.url = "nats://127.0.0.1:%d" % self.port
        self.p = None
        self.start()

    def start(self):
        log = open(self.log, "ab")
        self.p = self.f.spawn([NATS_SERVER, "-c", self.conf],
                              stdout=log, stderr=log)
        wait_until(lambda: self.p.poll() is not None or self.ready(), 20,
                   "nats-server to listen")
        expect(self.p.poll() is None, "nats-server runs", self.logtext())

    def ready(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.2):
                return "Server is ready" in self.logtext()
        except OSError:
            return False

    def logtext(self):
        with open(self.log, errors="replace") as lf:
            return lf.read()[-3000:]

    def kill(self):
        self.p.kill()
        self.p.wait(timeout=10)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            self.p.wait(timeout=20)


class Bridge(ConnectorDaemon):
    """One fev-nats: its config, status file and log in the test's tmp."""

    NAME = "fev-nats"
    STOP_TIMEOUT = 30

    def __init__(self, f, name, text):
        self.f = f
        self.conf = os.path.join(f.tmp, "%s.conf" % name)
        self.status_file = os.path.join(f.tmp, "%s.status" % name)
        self.log = os.path.join(f.tmp, "%s.log" % name)
        self.write(text)
        self.p = None

    def write(self, text):
        with open(self.conf, "w") as c:
            c.write("[bridge]\ninstance = %s\nstatus_file = %s\n"
                    "log_level = info\n%s\n"
                    % (self.f.instance, self.status_file, text))

    def start(self, ready=True):
        started = self.logtext(all=True).count("bridging")
        log = open(self.log, "ab")
        self.p = self.f.spawn([FEV_NATS, "--config", self.conf],
                              stdout=subprocess.DEVNULL, stderr=log)
        if ready:
            self.wait(lambda: self.p.poll() is not None or
                      self.logtext(all=True).count("bridging") > started,
                      30, "fev-nats to start")
            expect(self.p.poll() is None, "fev-nats runs", self.logtext())
        return self.p

    def run(self, *args):
        return subprocess.run([FEV_NATS, *args, "--config", self.conf],
                              capture_output=True, text=True, timeout=30,
                              env=self.f.env)

    def status_text(self):
        return self.run("status").stdout

    def counters(self, kind, name):
        """One row of `fev-nats status` as {counter: int}."""
        for line in self.status_text().splitlines():
            words = line.split()
            if words[:2] == [kind, name]:
                kv = words[3:]
                return {kv[i]: int(kv[i + 1]) for i in range(0, len(kv), 2)}
        return {}


def peer(f, *args, timeout=120):
    r = subprocess.run([NATS_PEER, *args], capture_output=True, text=True,
                       timeout=timeout, env=f.env)
    expect(r.returncode == 0, "nats_peer %s" % " ".join(args[:3]),
           r.stdout, r.stderr)
    return r.stdout


def parse_check(text):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", text)}


def topic(f, name, partitions=4, capacity=1024, max_event="1K"):
    r = f.fev("topic", "create", name, "--partitions", str(partitions),
              "--capacity", str(capacity), "--max-event", max_event)
    expect(r.returncode == 0, "topic create %s" % name, r.stderr)


def second_fabric():
    return Fabric()


def js_api(nats, subject, timeout=5):
    """One JetStream API request over the plain NATS protocol (no client
    library in Python here): the reply's JSON."""
    import json
    with socket.create_connection(("127.0.0.1", nats.port), timeout) as s:
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\n'
                  b"SUB _INBOX.fevtest 1\r\nPUB %s _INBOX.fevtest 0\r\n\r\n"
                  % subject.encode())
        buf = b""
        while True:
            buf += s.recv(65536)
            i = buf.find(b"MSG _INBOX.fevtest 1 ")
            if i < 0:
                continue
            head_end = buf.find(b"\r\n", i)
            if head_end < 0:
                continue
            n = int(buf[i:head_end].split()[-1])
            body = buf[head_end + 2:head_end + 2 + n]
            if len(body) == n:
                return json.loads(body)


def stream_messages(nats, stream):
    return js_api(nats, "$JS.API.STREAM.INFO." + stream)["state"]["messages"]
