"""fev-webhooks as an operator runs it: the systemd notify protocol
(Type=notify), ctl disable/enable and retry of one id, and secrets kept out
of its log.  A real fevd, real fev-webhooks processes, a real HTTP
receiver."""
import os
import signal
import socket
import sys
import time

from fevtool import expect, main, wait_until
from receiver import Receiver
from webhooks_fixture import SECRET, SECRET2, Hooks, endpoint, publish, \
    start_fevd

FAST = "retry_schedule = 200ms\njitter = 0%\n"


def test_systemd_hears_ready_reloading_and_stopping(f):
    start_fevd(f)
    path = os.path.join(f.tmp, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    f.env["NOTIFY_SOCKET"] = path
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("n", rx.url))
    try:
        h.start()
        said = [sock.recv(4096).decode()]
        expect("READY=1" in said[0], "READY=1 once delivering", said)
        h.p.send_signal(signal.SIGHUP)
        said += [sock.recv(4096).decode(), sock.recv(4096).decode()]
        expect("RELOADING=1" in said[1] and "READY=1" in said[2],
               "RELOADING=1, then READY=1 on SIGHUP", said)
        h.stop()
        said.append(sock.recv(4096).decode())
        expect("STOPPING=1" in said[3], "STOPPING=1 on SIGTERM", said)
    finally:
        del f.env["NOTIFY_SOCKET"]
        sock.close()
        rx.close()


def test_disable_holds_deliveries_in_the_store_until_enable(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("ops", rx.url))
    h.start()
    h.fev("disable", "ops")
    h.wait(lambda: "disabled by command" in h.logtext(), 10,
           "the daemon to see the command")
    publish(f, ["while disabled"])
    h.wait(lambda: h.status()["ops"]["RETRYING"] == "1", 10,
           "the delivery stored, waiting")
    time.sleep(1)
    expect(not rx.got(), "nothing sent while disabled", rx.got())
    h.fev("enable", "ops")
    h.wait(lambda: b"while disabled" in rx.delivered(), 10,
           "delivered once enabled")
    h.stop()
    rx.close()


def test_retry_of_one_id_sends_that_dead_letter_again(f):
    start_fevd(f)
    rx = Receiver([SECRET, SECRET2])
    rx.answer = lambda hd, b: (500, {}, 0)
    h = Hooks(f, endpoint("r", rx.url, secret="%s %s" % (SECRET, SECRET2)),
              FAST)
    h.start()
    publish(f, ["a", "b"])
    wait_until(lambda: len(rx.got()) == 4, 15, "two attempts of each")
    ids = {r.body: r.wid for r in rx.got()}
    h.wait(lambda: ids[b"a"] in h.ctl("dead") and ids[b"b"] in
           h.ctl("dead"), 10, "two dead letters")
    rx.answer = lambda hd, b: (200, {}, 0)
    h.fev("retry", ids[b"a"])
    h.wait(lambda: b"a" in rx.delivered(), 10, "a sent again")
    time.sleep(1)
    expect(b"b" not in rx.delivered() and ids[b"b"] in h.ctl("dead"),
           "b stays a dead letter", h.ctl("dead"))
    # Every attempt failed and was logged: no secret in the log.
    log = h.logtext(all=True)
    expect("attempt" in log, "the failed attempts are logged", log)
    for s in (SECRET, SECRET2, SECRET[len("whsec_"):],
              SECRET2[len("whsec_"):]):
        expect(s not in log, "no secret in the log")
    h.stop()
    rx.close()


def test_a_redirect_is_not_followed(f):
    # A 3xx is an answer like any other that is not 2xx: retried, never
    # followed (a redirect could point a signed request anywhere).
    start_fevd(f)
    rx, other = Receiver([SECRET]), Receiver([SECRET])
    rx.answer = lambda hd, b: (302, {"Location": other.url}, 0)
    h = Hooks(f, endpoint("moved", rx.url), FAST)
    h.start()
    publish(f, ["stay"])
    h.wait(lambda: len(rx.got()) == 2, 10, "the attempt and its retry")
    h.wait(lambda: "302" in h.status()["moved"]["LAST_ERROR"], 10,
           "HTTP 302 reported")
    time.sleep(0.5)
    expect(not other.got(), "the Location was not followed", other.got())
    h.stop()
    rx.close()
    other.close()


if __name__ == "__main__":
    only = sys.argv[1:]  # names to run, for a person debugging one
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_") and
                   (not only or any(o in k for o in only))],
                  needs=("FEVD", "FEV_WEBHOOKS")))
