"""fev-webhooks end to end: a real fevd, real fev-webhooks processes and a
real HTTP receiver that checks every signature with Python's hmac."""
import json
import os
import random
import subprocess
import sys
import time

from fevtool import FEV, PROMTOOL, expect, main, wait_until
from receiver import Receiver, signature
from webhooks_fixture import SECRET, SECRET2, TOPIC, Hooks, endpoint, \
    publish, start_fevd

FAST = "retry_schedule = 200ms 400ms\njitter = 0%\n"


def cpu_seconds(pid):
    """User + system CPU time of process pid so far (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as st:
        fields = st.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_receiver_checks_the_standard_webhooks_vector(f):
    # The receiver's own check against the specification's vector, so a
    # passing delivery test means what it says.
    expect(signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                     "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
                     b'{"test": 2432232314}') ==
           "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
           "receiver signs the spec's vector")


def test_events_are_delivered_signed_with_cloudevents_headers(f):
    start_fevd(f)
    rx = Receiver([SECRET, SECRET2])
    h = Hooks(f, endpoint("billing", rx.url,
                          secret="%s %s" % (SECRET, SECRET2)))
    h.start()
    bodies = ["order %d" % i for i in range(50)]
    publish(f, bodies)
    wait_until(lambda: len(rx.delivered()) == 50, 20, "50 deliveries")
    expect(not rx.bad_signatures, "every signature verifies",
           rx.bad_signatures[:1])
    r = rx.got()[0]
    for k in ("webhook-id", "webhook-timestamp", "webhook-signature",
              "ce-id", "ce-source", "ce-type", "ce-time", "ce-specversion",
              "content-type"):
        expect(k in r.headers, "header %s sent" % k, r.headers)
    expect(r.headers["webhook-id"].startswith("msg_"), "id form", r.headers)
    expect(abs(int(r.headers["webhook-timestamp"]) - time.time()) < 60,
           "timestamp is now, in seconds", r.headers)
    expect(len(r.headers["webhook-signature"].split(" ")) == 2,
           "one signature per secret", r.headers)
    expect(len({r.wid for r in rx.got()}) == 50, "ids differ per event")
    wait_until(lambda: h.status()["billing"]["DELIVERED"] == "50", 5,
               "status to count 50 delivered")
    doc = json.loads(h.ctl("status", "--json"))
    expect(doc["endpoints"][0]["delivered"] == 50 and
           doc["endpoints"][0]["state"] == "enabled", "status --json", doc)
    prom = h.fev("status", "--prometheus")
    expect('fev_webhooks_delivered_total{endpoint="billing"} 50' in prom,
           "status --prometheus", prom)
    if PROMTOOL:
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=prom,
                           capture_output=True, text=True, timeout=30)
        expect(r.returncode == 0, "promtool accepts the metrics", r.stdout,
               r.stderr)
    # The same counters in fev stat, from the configured connector.
    r = f.fev("stat", "--json", "-i", "0", "--webhooks", h.conf)
    expect(r.returncode == 0, "fev stat --json --webhooks", r.stderr)
    doc = json.loads(r.stdout)
    wh = doc["webhooks"]["endpoints"][0]
    expect(wh["endpoint"] == "billing" and wh["delivered"] == 50 and
           wh["state"] == "enabled" and "p99_us" in wh and
           "dead" in wh and "retrying" in wh and "in_flight" in wh,
           "fev stat --json has the endpoint's counters", doc)
    r = f.fev("stat", "--json", "-i", "0", "--webhooks", "none")
    expect("webhooks" not in json.loads(r.stdout), "none leaves them out")
    r = f.fev("stat", "--prometheus", env={"FEV_WEBHOOKS_CONFIG": h.conf})
    expect(r.returncode == 0 and
           'fev_webhooks_delivered_total{endpoint="billing"} 50' in r.stdout
           and "fev_queue_depth_events" in r.stdout,
           "fev stat --prometheus has queues and endpoints", r.stdout,
           r.stderr)
    expect(SECRET not in r.stdout, "no secret in fev stat")
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=r.stdout,
                           capture_output=True, text=True, timeout=30)
        expect(p.returncode == 0, "promtool accepts fev stat's metrics",
               p.stdout, p.stderr)
    h.stop()
    rx.close()


def test_an_idle_endpoint_sends_an_event_at_once(f):
    # With nothing in flight the engine sleeps on the rings themselves
    # (fev_wait_any()): a publish wakes it, not its next pass (a second
    # away).  Published at random moments, the median from publish to
    # request is far below the half second such a pass would give.
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("idle", rx.url))
    h.start()
    publish(f, ["warm-up"])
    wait_until(lambda: len(rx.got()) == 1, 10, "the first event")
    took = []
    for i in range(10):
        time.sleep(random.uniform(0.05, 0.3))
        publish(f, ["e%d" % i])
        t = time.monotonic()
        wait_until(lambda: len(rx.got()) == i + 2, 10, "event %d" % i)
        took.append(rx.got()[-1].at - t)
    took.sort()
    expect(took[5] < 0.25, "an idle endpoint's request follows the "
           "publish at once (median under 250 ms)", took)
    h.stop()
    rx.close()


def test_an_event_is_sent_at_once_while_a_request_is_in_flight(f):
    # A request in flight: the engine sleeps on its socket and on the
    # rings' descriptors, armed just before (fwh_source_arm()), so a
    # publish wakes it, not the slow answer (6 s away) nor its next pass.
    start_fevd(f)
    rx = Receiver([SECRET])
    rx.answer = lambda hd, b: (200, {}, 6.0 if b == b"slow" else 0)
    h = Hooks(f, endpoint("busy", rx.url))
    h.start()
    publish(f, ["slow"])
    wait_until(lambda: rx.concurrent == 1, 10, "the slow request")
    took = []
    for i in range(5):
        time.sleep(random.uniform(0.05, 0.3))
        publish(f, ["e%d" % i])
        t = time.monotonic()
        wait_until(lambda: len(rx.got()) == i + 1, 10, "event %d" % i)
        took.append(rx.got()[-1].at - t)
    took.sort()
    expect(took[2] < 0.25, "an event published while a request is in "
           "flight is sent at once (median under 250 ms)", took)
    # And it sleeps meanwhile: a descriptor left readable (not re-armed
    # before the sleep) would make every poll return at once.
    cpu = cpu_seconds(h.p.pid)
    time.sleep(1)
    cpu = cpu_seconds(h.p.pid) - cpu
    expect(rx.concurrent == 1, "the slow request still in flight meanwhile")
    expect(cpu < 0.1, "fev-webhooks sleeps while a request is in flight "
           "(CPU seconds in one second)", cpu)
    h.stop()
    rx.close()


def test_every_partition_of_a_topic_is_delivered(f):
    start_fevd(f)
    r = f.fev("topic", "create", "orders", "--partitions", "3")
    expect(r.returncode == 0, "topic create", r.stderr)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("all", rx.url, topic="orders"))
    h.start()
    for k, part in enumerate(["orders", "orders@1", "orders@2"]):
        publish(f, ["p%d e%d" % (k, i) for i in range(5)], queue=part)
    wait_until(lambda: len(rx.delivered()) == 15, 20,
               "the events of all three partitions")
    expect(len({r.wid for r in rx.got()}) == 15, "15 webhook-ids")
    h.stop()
    rx.close()


def test_a_topic_created_after_the_start_is_read_on_every_partition(f):
    # Absent at start, the topic is waited for; once it exists, each of
    # its partitions is read (not only the first).
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("late", rx.url, topic="later"))
    h.start()
    r = f.fev("topic", "create", "later", "--partitions", "3")
    expect(r.returncode == 0, "topic create", r.stderr)
    h.wait(lambda: "webhooks-late" in
           f.fev("group", "list", "later").stdout, 10,
           "fev-webhooks to make its group")
    for part in ("later", "later@1", "later@2"):
        publish(f, ["to " + part], queue=part)
    h.wait(lambda: len(rx.delivered()) == 3, 20,
           "the events of all three partitions")
    h.stop()
    rx.close()


def test_topic_is_read_as_the_endpoints_own_group(f):
    # fev-webhooks reads a topic as group webhooks-NAME (created, earliest):
    # a `fev sub` of the group "default" and one of another group each
    # still see every event, and so does the endpoint.
    start_fevd(f)
    r = f.fev("topic", "create", "orders", "--partitions", "1")
    expect(r.returncode == 0, "topic create", r.stderr)
    r = f.fev("group", "create", "orders", "other")
    expect(r.returncode == 0, "group create", r.stderr)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("all", rx.url, topic="orders"))
    h.start()
    wait_until(lambda: "webhooks-all" in
               f.fev("group", "list", "orders").stdout, 10,
               "fev-webhooks to create its group")
    subs = [f.spawn([FEV, "sub", "orders", "-n", "20", "--timeout", "10s",
                     *g], stdout=subprocess.PIPE, text=True)
            for g in ([], ["--group", "other"])]
    publish(f, ["e%d" % i for i in range(20)], queue="orders")
    for p in subs:
        out, _ = p.communicate(timeout=30)
        expect(p.returncode == 0 and len(out.splitlines()) == 20,
               "a fev sub sees all 20 events", p.args, out)
    h.wait(lambda: len(rx.delivered()) == 20, 20, "20 deliveries")
    time.sleep(0.5)
    expect(len(rx.delivered()) == 20, "each once", len(rx.delivered()))
    h.stop()
    rx.close()


def pub_kh(f, body, key=None, headers=(), queue=TOPIC):
    args = ["pub", queue, "-m", body]
    if key is not None:
        args += ["--key", key]
    for h in headers:
        args += ["-H", h]
    r = f.fev(*args)
    expect(r.returncode == 0, "fev pub %s" % args, r.stderr)


def test_event_headers_become_cloudevents_request_headers(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("ce", rx.url))
    h.start()
    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    pub_kh(f, '{"order": 42}', key="order-42",
           headers=["content-type=application/json",
                    "ce-type=order.created", "ce-source=/shop",
                    "ce-id=A-1", "ce-subject=42", "traceparent=" + tp,
                    "x-internal=secret-ish"])
    # a value with CR/LF would inject a request header: dropped
    pub_kh(f, "evil", headers=["ce-type=a\\r\\nx-injected: 1"])
    wait_until(lambda: len(rx.delivered()) == 2, 10, "two deliveries")
    by = {r.body: r.headers for r in rx.got()}
    hd = by[b'{"order": 42}']
    want = {"content-type": "application/json", "ce-type": "order.created",
            "ce-source": "/shop", "ce-id": "A-1", "ce-subject": "42",
            "traceparent": tp, "ce-specversion": "1.0"}
    for k, v in want.items():
        expect(hd.get(k) == v, "%s from the event" % k, hd)
    expect("x-internal" not in hd, "other headers stay inside", hd)
    evil = by[b"evil"]
    expect("x-injected" not in evil and
           evil.get("ce-type") == "dev.fev.event",
           "a header value with CR/LF is dropped", evil)
    h.stop()
    rx.close()


def test_types_filter_picks_events_by_ce_type(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("orders", rx.url, types="order.* refund"))
    h.start()
    for t in ["order.created", "invoice.paid", "refund", "refunds",
              "order.paid"]:
        pub_kh(f, t, headers=["ce-type=" + t])
    pub_kh(f, "last", headers=["ce-type=order.last"])
    wait_until(lambda: b"last" in rx.delivered(), 10, "the last event")
    got = set(rx.delivered())
    expect(got == {b"order.created", b"refund", b"order.paid", b"last"},
           "only the wanted types", got)
    h.stop()
    rx.close()


def test_ordered_endpoint_keeps_each_keys_order_across_retries(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    failed = []

    def answer(hd, body):
        # the first attempt of a#0 fails: a#1, a#2 must wait for it
        if body == b"a#0" and not failed:
            failed.append(1)
            return (500, {}, 0)
        return (200, {}, 0)
    rx.answer = answer
    h = Hooks(f, endpoint("o", rx.url, ordered="yes"), FAST)
    h.start()
    for i in range(3):
        pub_kh(f, "a#%d" % i, key="a")
        pub_kh(f, "b#%d" % i, key="b")
    wait_until(lambda: len(rx.delivered()) == 6, 15, "six deliveries")
    ok = [r.body for r in rx.got() if r.status == 200]
    for k in (b"a", b"b"):
        seq = [b for b in ok if b.startswith(k)]
        expect(seq == [k + b"#0", k + b"#1", k + b"#2"],
               "key %s delivered in order" % k, seq)
    first_ok_a0 = ok.index(b"a#0")
    expect(ok.index(b"b#0") < first_ok_a0,
           "key b did not wait for key a's retry", ok)
    h.stop()
    rx.close()


def test_failures_retry_on_the_schedule_then_dead_letter(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    rx.answer = lambda hd, b: (500, {}, 0)
    h = Hooks(f, endpoint("e", rx.url), FAST)
    h.start()
    publish(f, ["doomed"])
    wait_until(lambda: len(rx.got()) == 3, 15, "three attempts")
    time.sleep(1)
    got = rx.got()
    expect(len(got) == 3, "no fourth attempt after the schedule", len(got))
    expect(len({r.wid for r in got}) == 1, "one webhook-id for all attempts")
    gaps = [b.at - a.at for a, b in zip(got, got[1:])]
    # Upper bounds only tell the configured schedule from the default
    # (5 s, 5 min): a loaded machine may add seconds.
    expect(0.18 <= gaps[0] < 3.5 and 0.38 <= gaps[1] < 60,
           "attempts 200 ms then 400 ms apart", gaps)
    wid = got[0].wid
    wait_until(lambda: wid in h.ctl("dead"), 5, "the dead letter listed")
    out = h.fev("attempts", wid)
    expect(out.count(" 500 ") == 3, "three attempts with status 500", out)
    # Replayed: delivered with the same id.
    rx.answer = lambda hd, b: (200, {}, 0)
    h.fev("retry", "--dead")
    wait_until(lambda: rx.delivered().get(b"doomed") == {wid}, 10,
               "the dead letter delivered after retry")
    expect(h.status()["e"]["DEAD"] == "0", "no dead letter left")
    h.stop()
    rx.close()


def test_endpoint_failing_for_disable_after_is_disabled(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    rx.answer = lambda hd, b: (500, {}, 0)
    h = Hooks(f, endpoint("flaky", rx.url),
              "retry_schedule = " + "300ms " * 10 + "\njitter = 0%\n"
              "disable_after = 1s\n")
    h.start()
    publish(f, ["x"])
    wait_until(lambda: h.status()["flaky"]["STATE"] == "disabled", 15,
               "disable_after to disable the endpoint")
    n = len(rx.got())
    expect(3 <= n < 10, "disabled after about a second of failures", n)
    time.sleep(1)
    expect(len(rx.got()) == n, "nothing sent once disabled")
    expect("dead" not in h.ctl("attempts", rx.got()[0].wid),
           "the delivery waits, it is not dead-lettered")
    h.stop()
    rx.close()


def test_max_in_flight_and_rate_limit_bound_requests(f):
    start_fevd(f)
    rx, rx2 = Receiver([SECRET]), Receiver([SECRET])
    rx.answer = lambda hd, b: (200, {}, 0.3)
    h = Hooks(f, endpoint("two", rx.url, max_in_flight="2") +
              endpoint("five", rx2.url, rate_limit="5"))
    h.start()
    publish(f, ["e%d" % i for i in range(15)])
    wait_until(lambda: len(rx.got()) == 15 and len(rx2.got()) == 15, 30,
               "both endpoints done")
    expect(rx.max_concurrent <= 2, "max_in_flight 2", rx.max_concurrent)
    at = sorted(r.at for r in rx2.got())
    expect(at[-1] - at[0] >= 1.8,
           "15 events at 5/s (bursts of 5) span two seconds", at[-1] - at[0])
    h.stop()
    rx.close()
    rx2.close()


def test_gone_disables_the_endpoint_until_enabled(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    rx.answer = lambda hd, b: (410, {}, 0)
    h = Hooks(f, endpoint("gone", rx.url), FAST)
    h.start()
    publish(f, ["first"])
    wait_until(lambda: h.status()["gone"]["STATE"] == "disabled", 10,
               "410 to disable the endpoint")
    expect("DISABLED" in h.logtext(), "said loudly in the log", h.logtext())
    rx.answer = lambda hd, b: (200, {}, 0)
    publish(f, ["second"])
    time.sleep(1.5)
    expect(len(rx.got()) == 1, "nothing sent while disabled", len(rx.got()))
    h.ctl("enable", "gone")
    h.wait(lambda: set(rx.delivered()) == {b"first", b"second"}, 20,
           "both delivered once enabled")
    h.stop()
    rx.close()


def test_retry_after_throttles_the_endpoint(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    answers = [(429, {"Retry-After": "2"}, 0)]
    rx.answer = lambda hd, b: answers.pop() if answers else (200, {}, 0)
    h = Hooks(f, endpoint("slow", rx.url), FAST)
    h.start()
    publish(f, ["a"])
    wait_until(lambda: b"a" in rx.delivered(), 15, "delivery after 429")
    got = rx.got()
    expect(got[1].at - got[0].at >= 1.9,
           "Retry-After: 2 honoured over the 200 ms schedule",
           got[1].at - got[0].at)
    h.stop()
    rx.close()


def test_timeouts_and_refused_connections_are_retried(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    answers = [(200, {}, 2.0)]
    rx.answer = lambda hd, b: answers.pop() if answers else (200, {}, 0)
    # a port nothing listens on: connection refused
    closed = Receiver([SECRET])
    closed_url = closed.url
    closed.close()
    h = Hooks(f, endpoint("t", rx.url, timeout="300ms") +
              endpoint("refused", closed_url), FAST)
    h.start()
    publish(f, ["late"])
    wait_until(lambda: len(rx.got()) >= 2, 15, "a second attempt")
    ids = {r.wid for r in rx.got()}
    expect(len(ids) == 1, "the retry has the same webhook-id", ids)
    wait_until(lambda: "onnect" in h.status()["refused"]["LAST_ERROR"], 10,
               "connection refused reported")
    h.stop()
    rx.close()


def test_private_address_refused_without_allow_private(f):
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("ssrf", rx.url, allow_private=None), FAST)
    h.start()
    publish(f, ["x"])
    wait_until(lambda: "private" in h.status()["ssrf"]["LAST_ERROR"], 10,
               "the refusal in status")
    time.sleep(1)
    expect(not rx.got(), "nothing reached the loopback receiver",
           len(rx.got()))
    h.stop()
    rx.close()


def test_sigkill_mid_delivery_loses_nothing_and_keeps_ids(f):
    p = start_fevd(f)
    rx = Receiver([SECRET])
    rng = random.Random(12)
    rx.answer = lambda hd, b: (200, {}, rng.random() * 0.02)
    h = Hooks(f, endpoint("k", rx.url, max_in_flight="16"), FAST)
    bodies = ["event %04d" % i for i in range(400)]
    publish(f, bodies[:200])
    for i in range(24):
        h.start()
        # Half the kills come within milliseconds of starting, while the
        # new process matches the events its predecessor left held.
        time.sleep(rng.random() * (0.02 if i % 2 else 0.3))
        h.kill()
        if i == 5:
            publish(f, bodies[200:])
        if i == 12:  # fevd too: the next one adopts and repairs
            p.kill()
            p.wait(timeout=10)
            p = start_fevd(f)
    h.start()
    want = {b.encode() for b in bodies}
    wait_until(lambda: want <= set(rx.delivered()), 60,
               "every event delivered")
    got = rx.delivered()
    multi = {b: ids for b, ids in got.items() if len(ids) > 1}
    expect(not multi, "a duplicate carries the same webhook-id",
           list(multi.items())[:3])
    expect(not rx.bad_signatures, "signatures verify")
    h.stop()
    rx.close()


def test_sighup_reloads_the_config(f):
    start_fevd(f)
    a, b = Receiver([SECRET]), Receiver([SECRET])
    h = Hooks(f, endpoint("r", a.url))
    h.start()
    publish(f, ["to a"])
    wait_until(lambda: b"to a" in a.delivered(), 10, "delivery to a")
    h.write(endpoint("r", b.url))
    h.p.send_signal(1)
    wait_until(lambda: "reloaded" in h.logtext(), 10, "reload logged")
    publish(f, ["to b"])
    wait_until(lambda: b"to b" in b.delivered(), 10, "delivery to b")
    h.write("[endpoint broken]\nurl = ftp://x\n")
    h.p.send_signal(1)
    wait_until(lambda: "reload refused" in h.logtext(), 10, "refused")
    publish(f, ["still b"])
    wait_until(lambda: b"still b" in b.delivered(), 10, "old config kept")
    h.stop()
    a.close()
    b.close()


def test_bad_config_is_refused_with_its_line(f):
    h = Hooks(f, "[endpoint e]\nurl = http://x/\ntopic = events\n"
                 "secret = whsec_short\n")
    r = subprocess.run(
        [os.environ["FEV_WEBHOOKS"], "--check-config", "--config", h.conf],
        capture_output=True, text=True, timeout=30)
    expect(r.returncode == 2, "exit 2", r.returncode, r.stderr)
    expect("webhooks.conf:9:" in r.stderr and "secret" in r.stderr,
           "FILE:LINE: reason", r.stderr)
    expect("short" not in r.stderr, "the secret is not echoed", r.stderr)
    for ep, why in ((endpoint("e", "http://x/", group="a b"), "group"),
                    (endpoint("e", "http://x/", start="first"), "start"),
                    (endpoint("e" * 30, "http://x/"), "add group")):
        h.write(ep)
        r = subprocess.run([os.environ["FEV_WEBHOOKS"], "--check-config",
                            "--config", h.conf], capture_output=True,
                           text=True, timeout=30)
        expect(r.returncode == 2 and why in r.stderr, "refused: " + why,
               r.stderr)
    secret_file = os.path.join(f.tmp, "secret")
    with open(secret_file, "w") as s:
        s.write(SECRET + "\n")
    os.chmod(secret_file, 0o644)
    h.write(endpoint("e", "http://x/", secret=None,
                     secret_file=secret_file))
    r = subprocess.run(
        [os.environ["FEV_WEBHOOKS"], "--check-config", "--config", h.conf],
        capture_output=True, text=True, timeout=30)
    expect(r.returncode == 2 and "chmod" in r.stderr,
           "a world-readable secret_file is refused", r.stderr)
    os.chmod(secret_file, 0o600)
    r = subprocess.run(
        [os.environ["FEV_WEBHOOKS"], "--check-config", "--config", h.conf],
        capture_output=True, text=True, timeout=30)
    expect(r.returncode == 0, "then accepted", r.stderr)


if __name__ == "__main__":
    only = sys.argv[1:]  # names to run, for a person debugging one
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_") and
                   (not only or any(o in k for o in only))],
                  needs=("FEVD", "FEV_WEBHOOKS")))
