"""Shared helpers for the fev tool's integration tests.

Every test gets its own fabric instance (t<pid>x<counter>) and its own
control-socket path, and removes its queues afterwards, so tests can run in
parallel and leave nothing in /dev/shm.  Every child process runs under a
timeout: no test can hang.
"""
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

FEV = os.environ.get("FEV", "")
HELPER = os.environ.get("FEVTEST_HELPER", "")
FEVD = os.environ.get("FEVD", "")
PROMTOOL = os.environ.get("PROMTOOL", "")
SKIP = 77
_counter = itertools.count()


class Fabric:
    """A private instance: queues made through the library helper."""

    def __init__(self):
        self.instance = "t%dx%d" % (os.getpid(), next(_counter))
        self.tmp = tempfile.mkdtemp(prefix="fevtool-")
        self.socket = os.path.join(self.tmp, "control.sock")
        self.env = dict(os.environ, FEV_INSTANCE=self.instance,
                        FEV_CONTROL_SOCKET=self.socket)
        # Under -DFEV_ASAN a sanitizer report must not pass for exit 1.
        for var in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
            self.env.setdefault(var, "exitcode=86")
        self.children = []

    def helper(self, *args, check=True):
        r = subprocess.run([HELPER, args[0], self.instance, *args[1:]],
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("helper %s failed: %s" % (args, r.stderr))
        return r

    def create(self, queue, capacity=64, max_event=256, policy="block"):
        self.helper("create", queue, str(capacity), str(max_event), policy)

    def fev(self, *args, input=None, timeout=30, env=None, text=True,
            prefix=()):
        """Run fev; returns CompletedProcess (stdout/stderr captured)."""
        e = dict(self.env)
        e.update(env or {})
        if input is not None and text and isinstance(input, bytes):
            text = False
        return subprocess.run([*prefix, FEV, *args], input=input,
                              capture_output=True, text=text,
                              timeout=timeout, env=e)

    def consumers(self, queue):
        """Consumers attached to queue, as fev stat sees them."""
        r = self.fev("stat", queue, "--json", "-i", "0")
        return json.loads(r.stdout)["queues"][0]["consumers"] \
            if r.returncode == 0 else -1

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, env=self.env, **kw)
        self.children.append(p)
        return p

    def close(self):
        for p in self.children:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.helper("purge", check=False)
        # A killed fevd leaves its instance lock (daemon/src/instance_lock.c).
        run = ("/run/fev" if os.geteuid() == 0 else
               os.path.join(os.environ["XDG_RUNTIME_DIR"], "fev")
               if os.environ.get("XDG_RUNTIME_DIR", "").startswith("/")
               else "/tmp/fev-%d" % os.geteuid())
        try:
            os.unlink(os.path.join(run, self.instance + ".lock"))
        except OSError:
            pass
        # A killed fevd also leaves its admin/ directory and socket.
        shutil.rmtree(self.tmp)
        left = [n for n in os.listdir("/dev/shm")
                if n.startswith("fev.%s." % self.instance)]
        assert not left, "left in /dev/shm: %s" % left


def expect(cond, what, *details):
    if not cond:
        raise AssertionError(what + "".join("\n  " + str(d) for d in details))


def expect_rc(r, rc, what):
    expect(r.returncode == rc,
           "%s: exit %d, wanted %d" % (what, r.returncode, rc),
           "stdout: %r" % (r.stdout[-2000:],),
           "stderr: %r" % (r.stderr[-2000:],))


def expect_sentence(r, rc, *words):
    """A failing command: the documented exit code and one clear sentence
    on stderr that starts with 'fev: ' and names the given words."""
    expect_rc(r, rc, "exit code")
    err = r.stderr if isinstance(r.stderr, str) else r.stderr.decode()
    expect(err.startswith("fev: "), "stderr does not start with 'fev: '",
           repr(err))
    lines = err.splitlines()
    expect(len(lines) == 1 or (rc == 2 and len(lines) == 2 and
                               lines[1].startswith("Try 'fev ")),
           "one sentence on stderr (and a pointer to --help for usage "
           "errors)", repr(err))
    for w in words:
        expect(w in err, "stderr does not mention %r" % w, repr(err))


class Skip(Exception):
    """A test that cannot run here; main() prints why."""


def skip_unless_root(why):
    if os.geteuid() != 0:
        raise Skip("not root: " + why)


def wait_until(fn, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def start_fevd(f):
    """fevd for this test's instance and socket, with its default config
    (one queue, 'events'); returns once `fev queue list` answers."""
    # A file, not a pipe: nobody reads fevd's log while it runs.
    stderr = open(os.path.join(f.tmp, "fevd.log"), "w+b")
    p = f.spawn([FEVD, "--instance", f.instance, "--control-socket",
                 f.socket, "--pidfile", os.path.join(f.tmp, "fevd.pid"),
                 "--log-level", "warning"],
                stdout=subprocess.DEVNULL, stderr=stderr)
    wait_until(lambda: p.poll() is not None or
               f.fev("queue", "list").returncode == 0,
               what="fevd to serve its control socket")
    if p.poll() is not None:
        stderr.seek(0)
        raise AssertionError("fevd exited: " + stderr.read().decode())
    return p


def stop_fevd(p):
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=20)


def listed(f):
    r = f.fev("queue", "list", "--json")
    expect_rc(r, 0, "queue list --json")
    return {q["name"]: q for q in json.loads(r.stdout)}


def main(tests, needs=()):
    """Run the named test functions, each with a fresh Fabric."""
    if not FEV or not HELPER:
        print("FEV and FEVTEST_HELPER must be set (run through ctest)")
        return 1
    for n in needs:
        if not os.environ.get(n):
            print("SKIP %s: %s is not built yet"
                  % (os.path.basename(sys.argv[0]), n))
            return SKIP
    failed = 0
    for t in tests:
        f = Fabric()
        try:
            t(f)
            print("ok   %s" % t.__name__)
        except Skip as why:
            # test.sh lists these lines: a skip is never silent.
            print("SKIP %s: %s" % (t.__name__, why))
        except Exception:
            failed += 1
            print("FAIL %s" % t.__name__)
            traceback.print_exc(file=sys.stdout)
        finally:
            try:
                f.close()
            except Exception:
                failed += 1
                traceback.print_exc(file=sys.stdout)
    sys.stdout.flush()
    return 1 if failed else 0
