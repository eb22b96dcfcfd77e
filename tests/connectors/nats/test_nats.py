"""fev-nats end to end: real fevds, real fev-nats processes and a real
nats-server -js on 127.0.0.1, started and stopped by each test.

FEV_NATS_EVENTS sets the round trip's event count (default 20000, what
ctest runs; the full run is FEV_NATS_EVENTS=100000)."""
import json
import os
import subprocess
import sys
import threading
import time

from fevtool import PROMTOOL, Skip, expect, main, start_fevd, stop_fevd
from nats_fixture import NATS_SERVER, Bridge, NatsServer, parse_check, \
    peer, second_fabric, stream_messages, topic

EVENTS = int(os.environ.get("FEV_NATS_EVENTS", "20000"))
KEYS = 100


def out_conf(nats, stream=True, **keys):
    text = "[nats]\nservers = %s\nreconnect_wait = 50ms\n" \
           "reconnect_wait_max = 500ms\n" % nats.url
    if stream:
        text += "[stream ORDERS]\nsubjects = orders.>\nstorage = file\n"
    text += "[out orders]\ntopic = orders\nsubject = orders.{key}\n"
    text += "".join("%s = %s\n" % kv for kv in keys.items())
    return text


def in_conf(nats, **keys):
    text = "[nats]\nservers = %s\nreconnect_wait = 50ms\n" \
           "reconnect_wait_max = 500ms\n" % nats.url
    text += "[in orders]\nstream = ORDERS\nconsumer = fev-b\n" \
            "filter = orders.>\ntopic = orders\nack_wait = 2s\n"
    text += "".join("%s = %s\n" % kv for kv in keys.items())
    return text


class Checker(threading.Thread):
    """nats_peer check on instance B, in the background."""

    def __init__(self, f, count, idle_ms=20000):
        super().__init__(daemon=True)
        self.f, self.count, self.idle_ms = f, count, idle_ms
        self.result = None

    def run(self):
        self.result = parse_check(peer(
            self.f, "check", self.f.instance, "orders", str(self.count),
            str(KEYS), str(self.idle_ms), timeout=600))

    def done(self, timeout=300):
        self.join(timeout)
        expect(self.result is not None, "the checker finished")
        return self.result


def two_sides(f):
    """Instance A (f) and B, each with its fevd and a 4-partition topic
    'orders'; a nats-server -js."""
    if not NATS_SERVER:
        raise Skip("nats-server is not installed (scripts/deps.sh "
                   "installs it)")
    nats = NatsServer(f)
    fevd_a = start_fevd(f)
    topic(f, "orders")
    # Only the bridge's group reads A's topic: "default" would hold it.
    r = f.fev("group", "delete", "orders", "default")
    expect(r.returncode == 0, "group delete default", r.stderr)
    g = second_fabric()
    fevd_b = start_fevd(g)
    topic(g, "orders")
    return nats, fevd_a, g, fevd_b


def test_round_trip_a_to_jetstream_to_b(f):
    nats, fevd_a, g, fevd_b = two_sides(f)
    try:
        out = Bridge(f, "out", out_conf(nats))
        out.start()
        inb = Bridge(g, "in", in_conf(nats))
        inb.start()
        check = Checker(g, EVENTS)
        check.start()
        t0 = time.monotonic()
        peer(f, "pub", f.instance, "orders", "0", str(EVENTS), str(KEYS))
        r = check.done()
        took = time.monotonic() - t0
        print("round trip: %d events in %.1f s: %s" % (EVENTS, took, r))
        expect(r["distinct"] == EVENTS, "every event arrives", r,
               out.status_text(), inb.status_text())
        expect(r["order"] == 0 and r["partition"] == 0 and
               r["headers_bad"] == 0, "per-key order, partitions, key and "
               "headers kept", r)
        expect(r["duplicates"] == 0, "no duplicates without faults", r)
        out.wait(lambda: out.counters("out", "orders").get("released") ==
                 EVENTS, 20, "the out bridge to release every event")
        c = out.counters("out", "orders")
        # Under load a PubAck may come after ack_timeout: the event is
        # sent again and JetStream reports the second send a duplicate
        # (B above got none of them).
        expect(c["published"] == EVENTS and c["acked"] >= EVENTS and
               c["in_flight"] == 0 and c["duplicates"] <= c["resent"],
               "out counters", c)
        inb.wait(lambda: inb.counters("in", "orders").get("committed") ==
                 EVENTS, 20, "the in bridge's counters")
        out.stop()
        inb.stop()
    finally:
        g.close()


class Publisher(threading.Thread):
    """nats_peer pub on instance A, in chunks, in the background; clear
    `go` to pause it between chunks."""

    def __init__(self, f, count, chunks=25):
        super().__init__(daemon=True)
        self.f, self.count, self.chunks = f, count, chunks
        self.error = None
        self.go = threading.Event()
        self.go.set()
        self.idle = threading.Event()

    def run(self):
        step = self.count // self.chunks
        try:
            for first in range(0, self.count, step):
                if not self.go.is_set():
                    self.idle.set()
                    self.go.wait()
                    self.idle.clear()
                peer(self.f, "pub", self.f.instance, "orders", str(first),
                     str(min(step, self.count - first)), str(KEYS))
                time.sleep(0.05)
        except AssertionError as e:
            self.error = e
        self.idle.set()


def test_faults_lose_nothing_and_flag_every_duplicate(f):
    # SIGKILL both bridges repeatedly, SIGKILL and restart nats-server,
    # restart both fevds, while events flow A -> JetStream -> B.  Every
    # event arrives; a second copy (the in bridge killed between its
    # commit and its ack) is flagged FEV_REDELIVERED; JetStream drops
    # what the out bridge sends again (its PubAck says duplicate).
    n = max(EVENTS // 4, 2000)
    nats, fevd_a, g, fevd_b = two_sides(f)
    try:
        out = Bridge(f, "out", out_conf(nats, max_in_flight=64))
        out.start()
        inb = Bridge(g, "in", in_conf(nats, batch=64))
        inb.start()
        check = Checker(g, n, idle_ms=30000)
        check.start()
        pub = Publisher(f, n)
        pub.start()
        faults = []
        for round in range(3):
            time.sleep(0.3)
            out.kill()
            out.start(ready=False)
            time.sleep(0.2)
            inb.kill()
            inb.start(ready=False)
            faults += ["kill out", "kill in"]
            if round == 1:
                # A quiet second first: nats-server 2.9 writes what it
                # acknowledged on a short timer, so a SIGKILL under load
                # can lose acked messages and consumer acks of its own
                # (JetStream with one replica; README.md, "Crashes").
                pub.go.clear()
                pub.idle.wait(30)
                time.sleep(1.5)
                nats.kill()
                time.sleep(0.5)
                nats.start()
                pub.go.set()
                faults.append("kill nats-server")
            if round == 2:
                stop_fevd(fevd_a)
                fevd_a = start_fevd(f)
                stop_fevd(fevd_b)
                fevd_b = start_fevd(g)
                faults.append("restart both fevds")
        pub.join(120)
        expect(pub.error is None, "every event published", pub.error)
        r = check.done()
        print("faults (%s): %d events: %s; the stream holds %d" % (
            ", ".join(faults), n, r, stream_messages(nats, "ORDERS")))
        expect(r["distinct"] == n, "nothing committed is lost", r,
               out.status_text(), out.logtext(), inb.status_text(),
               inb.logtext())
        expect(stream_messages(nats, "ORDERS") == n,
               "JetStream dropped every event sent again", r)
        expect(r["dup_unflagged"] == 0 and r["headers_bad"] == 0 and
               r["partition"] == 0,
               "every duplicate is flagged FEV_REDELIVERED", r)
        c = out.counters("out", "orders")
        print("out after the faults: %s" % c)
        out.stop()
        inb.stop()
    finally:
        g.close()


def test_wrong_server_address_is_said_and_loses_nothing(f):
    if not NATS_SERVER:
        raise Skip("nats-server is not installed")
    nats = NatsServer(f)
    start_fevd(f)
    topic(f, "orders")
    f.fev("group", "delete", "orders", "default")
    wrong = "nats://127.0.0.1:%d" % (nats.port + 1 if nats.port < 65535
                                     else nats.port - 1)
    out = Bridge(f, "out", out_conf(nats).replace(nats.url, wrong))
    out.start(ready=False)
    out.wait(lambda: "cannot connect to NATS (%s)" % wrong in
             out.logtext(), 20, "the connect failure")
    expect("check [nats] servers and that nats-server runs there" in
           out.logtext(), "the sentence says what to do", out.logtext())
    out.wait(lambda: "cannot connect" in out.status_text(), 10,
             "the status to show the last error")
    peer(f, "pub", f.instance, "orders", "0", "100", str(KEYS))
    out.write(out_conf(nats))
    out.p.send_signal(1)  # SIGHUP: the right address
    out.wait(lambda: out.counters("out", "orders").get("released") == 100,
             20, "the 100 events held meanwhile to reach JetStream")
    out.stop()


def test_bad_credentials_are_said(f):
    if not NATS_SERVER:
        raise Skip("nats-server is not installed")
    nats = NatsServer(f, conf="authorization {user: fev, password: right}")
    start_fevd(f)
    topic(f, "orders")
    out = Bridge(f, "out", out_conf(nats).replace(
        "[stream", "user = fev\npassword = wrong\n[stream", 1))
    out.start(ready=False)
    out.wait(lambda: "check the credentials in [nats]" in out.logtext(),
             20, "the credentials sentence")
    expect(out.p.poll() is None, "fev-nats keeps running")
    out.write(out_conf(nats).replace(
        "[stream", "user = fev\npassword = right\n[stream", 1))
    out.p.send_signal(1)
    out.wait(lambda: "bridging" in out.logtext(), 20, "the reload")
    out.stop()


def test_missing_stream_is_said(f):
    if not NATS_SERVER:
        raise Skip("nats-server is not installed")
    nats = NatsServer(f)
    start_fevd(f)
    topic(f, "orders")
    inb = Bridge(f, "in", in_conf(nats).replace("ORDERS", "NOPE"))
    inb.start()
    inb.wait(lambda: "stream NOPE does not exist: create it" in
             inb.logtext(), 20, "the missing stream's sentence")
    inb.stop()


def test_event_over_max_payload_is_held_until_the_server_takes_it(f):
    if not NATS_SERVER:
        raise Skip("nats-server is not installed")
    nats = NatsServer(f, conf="max_payload: 1024")
    start_fevd(f)
    topic(f, "orders", partitions=1, max_event="8K")
    f.fev("group", "delete", "orders", "default")
    out = Bridge(f, "out", out_conf(nats))
    out.start()
    peer(f, "pub", f.instance, "orders", "0", "1", "1", "4000")
    peer(f, "pub", f.instance, "orders", "1", "1", "1")
    out.wait(lambda: "is over the NATS server's max_payload (1024 bytes)"
             in out.logtext(), 20, "the max_payload sentence")
    out.wait(lambda: out.counters("out", "orders").get("too_large") == 1,
             10, "the event counted as too large")
    time.sleep(1.5)
    c = out.counters("out", "orders")
    expect(c["too_large"] == 1 and c["released"] == 0,
           "the event is held, and the one after it waits", c)
    with open(nats.conf) as cf:
        text = cf.read()
    with open(nats.conf, "w") as cf:
        cf.write(text.replace("max_payload: 1024", "max_payload: 65536"))
    nats.stop()
    nats.start()
    out.wait(lambda: out.counters("out", "orders").get("released") == 2,
             30, "both events once the server takes them")
    out.stop()


def test_message_over_max_event_is_terminated_and_counted(f):
    nats, fevd_a, g, fevd_b = two_sides(f)
    try:
        out = Bridge(f, "out", out_conf(nats))
        out.start()
        g.fev("topic", "delete", "orders")
        topic(g, "orders", max_event="256")
        inb = Bridge(g, "in", in_conf(nats))
        inb.start()
        peer(f, "pub", f.instance, "orders", "0", "1", "1", "600")
        peer(f, "pub", f.instance, "orders", "1", "1", "1")
        inb.wait(lambda: inb.counters("in", "orders").get("terminated")
                 == 1 and inb.counters("in", "orders").get("committed")
                 == 1, 20, "one terminated, the next one written")
        expect("can never be written to topic orders" in inb.logtext(),
               "the sentence", inb.logtext())
        r = parse_check(peer(g, "check", g.instance, "orders", "2",
                             str(1), "1000"))
        expect(r["distinct"] == 1, "the small one arrived", r)
        out.stop()
        inb.stop()
    finally:
        g.close()


def test_status_json_and_prometheus(f):
    nats, fevd_a, g, fevd_b = two_sides(f)
    try:
        out = Bridge(f, "out", out_conf(nats))
        out.start()
        peer(f, "pub", f.instance, "orders", "0", "10", "3")
        out.wait(lambda: out.counters("out", "orders").get("released") ==
                 10, 20, "10 events")
        r = out.run("status", "--json")
        doc = json.loads(r.stdout)
        expect(doc["running"] and doc["connected"] and
               doc["out"][0]["acked"] == 10 and doc["in"] == [],
               "status --json", doc)
        r = out.run("status", "--prometheus")
        expect('fev_nats_out_acked_total{bridge="orders",topic="orders"} '
               '10' in r.stdout and "fev_nats_up 1" in r.stdout,
               "status --prometheus", r.stdout)
        if PROMTOOL:
            p = subprocess.run([PROMTOOL, "check", "metrics"],
                               input=r.stdout, capture_output=True,
                               text=True, timeout=30)
            expect(p.returncode == 0, "promtool accepts it", p.stdout,
                   p.stderr)
        # The same through fev: `fev nats status` and `fev stat`.
        r = f.fev("nats", "--config", out.conf, "status")
        expect(r.returncode == 0 and "acked 10" in r.stdout,
               "fev nats status", r.stdout, r.stderr)
        r = f.fev("stat", "--json", "-i", "0", "--nats", out.conf)
        doc = json.loads(r.stdout)
        expect(r.returncode == 0 and doc["nats"]["out"][0]["acked"] == 10
               and "queues" in doc, "fev stat --json --nats", r.stdout,
               r.stderr)
        r = f.fev("stat", "--prometheus", env={"FEV_NATS_CONFIG": out.conf})
        expect(r.returncode == 0 and "fev_queue_depth_events" in r.stdout
               and 'fev_nats_out_released_total{bridge="orders",'
               'topic="orders"} 10' in r.stdout,
               "fev stat --prometheus has queues and the bridge", r.stdout,
               r.stderr)
        if PROMTOOL:
            p = subprocess.run([PROMTOOL, "check", "metrics"],
                               input=r.stdout, capture_output=True,
                               text=True, timeout=30)
            expect(p.returncode == 0, "promtool accepts fev stat's", p.stdout,
                   p.stderr)
        out.stop()
        r = out.run("status", "--json")
        expect(not json.loads(r.stdout)["running"],
               "a stopped bridge is not running", r.stdout)
    finally:
        g.close()


def test_bad_config_is_refused_with_a_sentence(f):
    b = Bridge(f, "bad", "[nats]\nservers = http://x\n")
    r = b.run("--check-config")
    expect(r.returncode == 2 and "is not a nats:// or tls:// URL" in
           r.stderr and "bad.conf:" in r.stderr, "servers", r.stderr)
    for text, words in [
            ("[nats]\nservers = nats://a:1\n[out o]\ntopic = t\n",
             "has no subject"),
            ("[nats]\nservers = nats://a:1\n[out o]\ntopic = t\n"
             "subject = a.*\n", "is not allowed"),
            ("[nats]\nservers = nats://a:1\n[in i]\ntopic = t\n",
             "has no stream"),
            ("[nats]\nservers = nats://a:1\nuser = u\n[in i]\n"
             "topic = t\nstream = S\n", "user and password go together"),
            ("[nats]\nservers = nats://a:1\n", "nothing to bridge"),
            ("[nats]\nservers = nats://a:1\n[in i]\ntopic = t\n"
             "stream = S\nkey_header = a b\n", "is not a header name"),
            ("[nats]\nservers = nats://a:1\n[out o]\ntopic = t\n"
             "subject = a.b\ngroup = a b\n", "is not a group name"),
            ("[nats]\nservers = nats://a:1\n[out o]\ntopic = t\n"
             "subject = a.b\nstart = first\n", "is not earliest or latest"),
            ("[nats]\nservers = nats://a:1\n[bogus]\n",
             "unknown section")]:
        b.write(text)
        r = b.run("--check-config")
        expect(r.returncode == 2 and words in r.stderr,
               "refused: %s" % words, r.stderr)
    b.write("[nats]\nservers = nats://a:1\n[out o]\ntopic = t\n"
            "subject = a.{key}\n")
    r = b.run("--check-config")
    expect(r.returncode == 0 and "ok, 1 out" in r.stdout, "a good one",
           r.stdout, r.stderr)


if __name__ == "__main__":
    sys.exit(main([
        test_bad_config_is_refused_with_a_sentence,
        test_round_trip_a_to_jetstream_to_b,
        test_status_json_and_prometheus,
        test_wrong_server_address_is_said_and_loses_nothing,
        test_bad_credentials_are_said,
        test_missing_stream_is_said,
        test_event_over_max_payload_is_held_until_the_server_takes_it,
        test_message_over_max_event_is_terminated_and_counted,
        test_faults_lose_nothing_and_flag_every_duplicate,
    ]))
