"""What the connector fixtures (fev-webhooks, fev-nats) share: one running
daemon's stop, kill, log and a wait that shows its log and status when it
times out."""
import signal

from fevtool import expect, wait_until


class ConnectorDaemon:
    """A connector daemon started by a fixture: self.p its process,
    self.log its stderr file.  A subclass names the program (NAME), how long
    a clean stop may take (STOP_TIMEOUT) and what its status is
    (status_text)."""

    NAME = "connector"
    STOP_TIMEOUT = 20

    def kill(self):
        self.p.kill()
        self.p.wait(timeout=10)

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait(timeout=self.STOP_TIMEOUT)
        expect(rc == 0, "%s stops cleanly on SIGTERM" % self.NAME, rc,
               self.logtext())

    def logtext(self, all=False):
        try:
            with open(self.log, errors="replace") as lf:
                text = lf.read()
        except FileNotFoundError:
            return ""
        return text if all else text[-4000:]

    def wait(self, fn, timeout, what):
        """wait_until, and on a timeout the daemon's log and status."""
        try:
            return wait_until(fn, timeout, what)
        except AssertionError as e:
            raise AssertionError("%s\n%s\n%s" % (
                e, self.status_text(), self.logtext())) from None

    def status_text(self):
        raise NotImplementedError
