"""fev-webhooks against a real fevd (the test's own FEV_INSTANCE) and a
real HTTP receiver (receiver.py)."""
import os
import subprocess

import fevtool
from connector_fixture import ConnectorDaemon
from fevtool import expect, expect_rc, wait_until  # noqa: F401

FEV_WEBHOOKS = os.environ.get("FEV_WEBHOOKS", "")
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET2 = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
# The topic the tests publish to: fev-webhooks reads topics, each endpoint
# as a consumer group of its own.
TOPIC = "hooks"


def start_fevd(f):
    """fevd for the test's instance, and the topic TOPIC (one partition)
    unless a previous fevd of the test made it.  Its group "default", which
    nothing reads, keeps what is published before fev-webhooks made its
    own group (which starts at the earliest event the ring holds); a topic
    no group reads drops its events."""
    p = fevtool.start_fevd(f)
    r = f.fev("topic", "create", TOPIC, "--partitions", "1",
              "--capacity", "4096")
    expect(r.returncode == 0 or "xist" in r.stderr, "topic create",
           r.stderr)
    return p


class Hooks(ConnectorDaemon):
    """One fev-webhooks: its config, database and log in the test's tmp."""

    NAME = "fev-webhooks"

    def __init__(self, f, endpoints, webhooks=""):
        self.f = f
        self.conf = os.path.join(f.tmp, "webhooks.conf")
        self.db = os.path.join(f.tmp, "webhooks.db")
        self.log = os.path.join(f.tmp, "webhooks.log")
        self.write(endpoints, webhooks)
        self.p = None

    def write(self, endpoints, webhooks=""):
        with open(self.conf, "w") as c:
            c.write("[webhooks]\ninstance = %s\ndatabase = %s\n"
                    "log_level = info\n%s\n%s\n"
                    % (self.f.instance, self.db, webhooks, endpoints))

    def start(self):
        """Start one and return once it says it delivers (its signal
        handlers are in place by then)."""
        ready = self.logtext(all=True).count("delivering to")
        log = open(self.log, "ab")
        self.p = self.f.spawn([FEV_WEBHOOKS, "--config", self.conf],
                              stdout=subprocess.DEVNULL, stderr=log)
        wait_until(lambda: self.p.poll() is not None or
                   self.logtext(all=True).count("delivering to") > ready,
                   30, "fev-webhooks to start")
        expect(self.p.poll() is None, "fev-webhooks runs", self.logtext())
        return self.p

    def status_text(self):
        return self.ctl("status")

    def ctl(self, *args, rc=0):
        r = subprocess.run([FEV_WEBHOOKS, "ctl", "--config", self.conf,
                            *args], capture_output=True, text=True,
                           timeout=30, env=self.f.env)
        expect_rc(r, rc, "fev-webhooks ctl %s" % " ".join(args))
        return r.stdout

    def fev(self, *args, rc=0):
        """The same through the fev tool: `fev webhooks ...`."""
        r = self.f.fev("webhooks", "--config", self.conf, *args)
        expect_rc(r, rc, "fev webhooks %s" % " ".join(args))
        return r.stdout

    def status(self):
        """ctl status as {endpoint: {column: value}}."""
        lines = self.ctl("status").splitlines()
        head = lines[0].split()
        out = {}
        for line in lines[1:]:
            cols = line.split(None, len(head) - 1)
            out[cols[0]] = dict(zip(head, cols))
        return out


def endpoint(name, url, topic=TOPIC, **keys):
    keys.setdefault("secret", SECRET)
    keys.setdefault("allow_private", "yes")
    return "[endpoint %s]\nurl = %s\n%s%s\n" % (
        name, url, "topic = %s\n" % topic if topic else "",
        "".join("%s = %s\n" % (k, v) for k, v in keys.items()
                if v is not None))


def publish(f, bodies, queue=TOPIC):
    r = f.fev("pub", queue, input="".join(b + "\n" for b in bodies))
    expect_rc(r, 0, "fev pub")
