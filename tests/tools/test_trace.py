"""fev trace against the real fevd and real processes: a three-hop
pipeline (fev pub --trace -> topic A -> fevtest-relay, publishing
follow-ups caused by what it takes -> topic B -> fev sub), one worker
SIGKILLed holding the event; every hop shows, the redelivery included,
in an order that adds up; the OTLP JSON export has the messaging
conventions' spans and attributes."""
import http.server
import json
import os
import signal
import subprocess
import sys
import threading

from fevtool import expect, expect_rc, main
from test_queue import start_fevd

RELAY = os.environ.get("FEVTEST_RELAY", "")


def relay(f, mode, *args):
    return f.spawn([RELAY, f.instance, "A", "default", "B", mode, *args],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def pipeline(f):
    """Run the pipeline once; returns (trace id, pids, A's event id)."""
    start_fevd(f)
    for t in ("A", "B"):
        expect_rc(f.fev("topic", "create", t, "--partitions", "1",
                        "--capacity", "16"), 0, "topic create " + t)
    holder = relay(f, "hold")
    r = f.fev("pub", "A", "-m", "order-1", "--trace")
    expect_rc(r, 0, "pub --trace")
    tp = r.stderr.split("traceparent ")[1].split()[0]
    trace_id = tp.split("-")[1]
    held = holder.stdout.readline().split()
    expect(held[:1] == ["held"], "the first worker holds the event", held)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    worker = relay(f, "relay", "1")
    out, err = worker.communicate(timeout=60)
    expect(worker.returncode == 0, "the second worker relays it", out, err)
    r = f.fev("sub", "B", "-n", "1", "--json", "--timeout", "10s")
    expect_rc(r, 0, "sub B")
    follow = json.loads(r.stdout)
    expect(follow["payload"] == "order-1", "the follow-up", follow)
    return trace_id, holder.pid, worker.pid, "A:0:" + held[1]


def hops_of(ev):
    return [(h["kind"], h["pid"], h["group"], h["redelivered"])
            for h in ev["hops"]]


def test_three_hop_pipeline_shows_every_hop_and_the_redelivery(f):
    trace_id, holder, worker, a_id = pipeline(f)
    r = f.fev("trace", trace_id, "--json")
    expect_rc(r, 0, "fev trace --json")
    t = json.loads(r.stdout)
    expect(t["trace_id"] == trace_id, "the trace asked for", t)
    ev = {e["topic"]: e for e in t["events"]}
    expect(sorted(ev) == ["A", "B"], "one event per topic", t)
    a, b = ev["A"], ev["B"]
    expect(a["id"] == a_id and a["caused_by"] is None, "A's id", a)
    got = hops_of(a)
    expect(got[0][0] == "published" and a["hops"][0]["process"] == "fev",
           "A published by fev pub", got)
    expect(got[1:] == [("acquired", holder, "default", False),
                       ("acquired", worker, "default", True),
                       ("released", worker, "default", True)],
           "A: taken by the killed worker, redelivered to the second, "
           "released by it", got)
    expect(b["caused_by"] == a_id, "B was caused by A", b)
    got = hops_of(b)
    expect(got[0] == ("published", worker, None, False) and
           b["hops"][0]["process"] == "fevtest-relay",
           "B published by the second worker", got)
    expect([g[0] for g in got[1:]] == ["acquired", "released"] and
           got[1][2] == "default" and got[1][1] == got[2][1],
           "B taken and released by fev sub", got)
    # Times add up along the path.
    path = [a["hops"][0], a["hops"][1], a["hops"][2], b["hops"][0],
            b["hops"][1], b["hops"][2]]
    times = [h["time_ns"] for h in path]
    expect(times == sorted(times), "monotonic along the path", path)
    expect(a["hops"][2]["time_ns"] <= b["hops"][0]["time_ns"] <=
           a["hops"][3]["time_ns"],
           "the follow-up was published while A was held", a, b)
    # The event id finds the same trace; the text names every hop.
    r = f.fev("trace", a_id)
    expect_rc(r, 0, "fev trace EVENT")
    expect(r.stdout.startswith("trace %s: 2 events, 7 hops" % trace_id),
           "a summary line", r.stdout)
    for w in ("pid %d (fevtest-relay)" % holder, "REDELIVERED",
              "caused B:0:", "group default"):
        expect(w in r.stdout, "the text shows %r" % w, r.stdout)


def attrs(span):
    return {a["key"]: list(a["value"].values())[0]
            for a in span["attributes"]}


def test_otlp_json_export_follows_the_messaging_conventions(f):
    trace_id, holder, worker, a_id = pipeline(f)
    path = os.path.join(f.tmp, "trace.json")
    expect_rc(f.fev("trace", a_id, "--export", "otlp-json", path), 0,
              "export")
    with open(path) as fh:
        check_otlp(json.load(fh), trace_id, holder, worker)


class Collector(http.server.ThreadingHTTPServer):
    """A local OTLP/HTTP receiver: keeps each POST, answers status."""

    def __init__(self, status):
        self.posts, self.status = [], status
        super().__init__(("127.0.0.1", 0), CollectorHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class CollectorHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.posts.append((self.path, self.headers["content-type"],
                                  body))
        self.send_response(self.server.status)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_otlp_http_export_posts_the_spans_to_a_collector(f):
    trace_id, holder, worker, a_id = pipeline(f)
    c = Collector(200)
    url = "http://127.0.0.1:%d/v1/traces" % c.server_address[1]
    try:
        expect_rc(f.fev("trace", trace_id, "--export", "otlp-http", url), 0,
                  "export to the collector")
        expect(len(c.posts) == 1, "one request", c.posts)
        path, ctype, body = c.posts[0]
        expect(path == "/v1/traces" and ctype == "application/json",
               "OTLP/HTTP JSON", path, ctype)
        check_otlp(json.loads(body), trace_id, holder, worker)
        c.status = 503
        r = f.fev("trace", trace_id, "--export", "otlp-http", url)
        expect_rc(r, 1, "a refused export")
        expect("HTTP 503" in r.stderr, "says the status", r.stderr)
    finally:
        c.shutdown()
        c.server_close()


def check_otlp(doc, trace_id, holder, worker):
    """An ExportTraceServiceRequest of the pipeline's trace."""
    spans, pids = [], set()
    for rs in doc["resourceSpans"]:
        ra = attrs(rs["resource"])
        pids.add(int(ra["process.pid"]))
        expect(ra["service.name"] in ("fev", "fevtest-relay"),
               "service.name is the process", ra)
        for ss in rs["scopeSpans"]:
            expect(ss["scope"]["name"] == "fev", "scope", ss["scope"])
            spans += ss["spans"]
    expect({holder, worker} <= pids, "a resource per process", pids)
    for s in spans:
        expect(s["traceId"] == trace_id and len(s["spanId"]) == 16 and
               int(s["startTimeUnixNano"]) <= int(s["endTimeUnixNano"]),
               "ids in hex, times as strings", s)
        a = attrs(s)
        expect(a["messaging.system"] == "fev" and
               a["messaging.destination.name"] in ("A", "B") and
               a["messaging.destination.partition.id"] == "0" and
               a["messaging.message.id"].startswith(
                   a["messaging.destination.name"] + ":0:"),
               "messaging attributes", s)
    send = {s["spanId"]: s for s in spans if s["kind"] == 4}
    proc = [s for s in spans if s["kind"] == 5]
    expect(len(send) == 2 and len(proc) == 3, "2 send, 3 process spans",
           spans)
    for s in send.values():
        expect(attrs(s)["messaging.operation.type"] == "send", "send", s)
    for s in proc:
        a = attrs(s)
        expect(a["messaging.operation.type"] == "process" and
               a["messaging.consumer.group.name"] == "default", "process",
               s)
        expect(s["parentSpanId"] in send and
               s["links"] == [{"traceId": trace_id,
                               "spanId": s["parentSpanId"]}],
               "linked to the creation context", s)
    b_send = [s for s in send.values()
              if attrs(s)["messaging.destination.name"] == "B"][0]
    expect(b_send["parentSpanId"] in send, "B's send is a child of A's",
           b_send)


def test_unknown_ids_and_bad_arguments_are_errors(f):
    start_fevd(f)
    r = f.fev("trace", "0af7651916cd43dd8448eb211c80319c")
    expect_rc(r, 1, "no such trace")
    expect("no hop" in r.stderr, "says so", r.stderr)
    for bad in ("nothex", "A:x:1", "A:0:", "0" * 32):
        expect_rc(f.fev("trace", bad), 2, "usage error for " + bad)
    expect_rc(f.fev("trace", "x", "--export", "zipkin", "f"), 2, "format")
    r = f.fev("trace", "--help")
    expect_rc(r, 0, "--help")
    expect("Examples:" in r.stdout and "Exit status" in r.stdout, "help",
           r.stdout)


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")], needs=("FEVD",
                                                     "FEVTEST_RELAY")))
