"""fev-otel against a real fevd, real processes and a real HTTP receiver
(Python's http.server, which checks every POST against the fields and
types of OTLP's ExportTraceServiceRequest JSON): the spans of a traced pipeline (fev pub --trace ->
topic A -> fevtest-relay, one worker SIGKILLed holding the event -> topic
B -> fev sub) arrive as OTLP JSON with the messaging conventions' kinds,
attributes and links, and the configured header; a collector that is
down and comes back gets every span; a SIGKILLed exporter, restarted,
loses none of the hops still in the ring; bad configs are refused."""
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time

from connector_fixture import ConnectorDaemon
from fevtool import expect, expect_rc, main, wait_until
from test_queue import start_fevd
from test_trace import attrs, check_otlp, pipeline

FEV_OTEL = os.environ.get("FEV_OTEL", "")
SECRET = "Bearer s3cret-otel-token"


# The OTLP/HTTP JSON mapping of ExportTraceServiceRequest
# (opentelemetry-proto, trace/v1/trace.proto, common/v1/common.proto),
# the fields fev may send: each message's field names and value types.
# Ids are lowercase hex of their byte length, 64-bit integers decimal
# strings, enums numbers; a name outside a message is a test failure (a
# collector ignores or refuses it).
HEX = lambda n: lambda v: (isinstance(v, str) and len(v) == 2 * n and
                           all(c in "0123456789abcdef" for c in v))
U64 = lambda v: isinstance(v, str) and v.isdigit()
STR = lambda v: isinstance(v, str)


def any_value(v):
    return (isinstance(v, dict) and len(v) == 1 and
            ("stringValue" in v and STR(v["stringValue"]) or
             "intValue" in v and (U64(v["intValue"]) or
                                  isinstance(v["intValue"], int))))


def key_values(v):
    return isinstance(v, list) and all(
        fields(kv, {"key": STR, "value": any_value}) for kv in v)


def fields(obj, schema, required=()):
    if not isinstance(obj, dict):
        raise AssertionError("not an object: %r" % (obj,))
    for k, val in obj.items():
        expect(k in schema, "an OTLP field: %s" % k, obj)
        expect(schema[k](val), "OTLP type of %s" % k, val)
    expect(all(k in obj for k in required), "required fields", required,
           obj)
    return True


def otlp_valid(doc):
    link = lambda l: fields(l, {"traceId": HEX(16), "spanId": HEX(8)},
                            ("traceId", "spanId"))
    status = lambda st: fields(st, {"code": lambda c: c in (0, 1, 2),
                                    "message": STR})
    span = lambda sp: fields(sp, {
        "traceId": HEX(16), "spanId": HEX(8), "parentSpanId": HEX(8),
        "name": STR, "kind": lambda k: k in (1, 2, 3, 4, 5),
        "startTimeUnixNano": U64, "endTimeUnixNano": U64,
        "attributes": key_values, "status": status,
        "links": lambda ls: all(link(l) for l in ls)},
        ("traceId", "spanId", "name", "kind", "startTimeUnixNano",
         "endTimeUnixNano"))
    scope_spans = lambda ss: fields(ss, {
        "scope": lambda sc: fields(sc, {"name": STR, "version": STR}),
        "spans": lambda sps: all(span(sp) for sp in sps)})
    resource_spans = lambda rs: fields(rs, {
        "resource": lambda r: fields(r, {"attributes": key_values}),
        "scopeSpans": lambda l: all(scope_spans(ss) for ss in l)})
    return fields(doc, {"resourceSpans":
                        lambda l: all(resource_spans(rs) for rs in l)},
                  ("resourceSpans",))


class Collector(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP receiver on 127.0.0.1:port (0: any), keeping every
    POST's headers and parsed body."""

    def __init__(self, port=0):
        self.posts = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", port), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self):
        return "http://127.0.0.1:%d/v1/traces" % self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()

    def invalid(self):
        with self.lock:
            return [d["invalid"] for _, d in self.posts if "invalid" in d]

    def spans(self):
        with self.lock:
            return [s for _, doc in self.posts
                    for rs in doc["resourceSpans"]
                    for ss in rs["scopeSpans"] for s in ss["spans"]]

    def doc(self):
        """Every POST's resourceSpans as one request."""
        with self.lock:
            return {"resourceSpans": [rs for _, d in self.posts
                                      for rs in d["resourceSpans"]]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        doc = json.loads(body)  # a body that is not JSON fails the test
        try:
            otlp_valid(doc)
        except AssertionError as e:
            doc = {"resourceSpans": [], "invalid": str(e)}
        with self.server.lock:
            self.server.posts.append((dict(self.headers), doc))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class Otel(ConnectorDaemon):
    NAME = "fev-otel"

    def __init__(self, f, url, topics="", extra=""):
        self.f = f
        self.conf = os.path.join(f.tmp, "otel.conf")
        self.log = os.path.join(f.tmp, "otel.log")
        with open(self.conf, "w") as fh:
            fh.write("[otel]\ninstance = %s\nendpoint = %s\n"
                     "flush_interval = 100ms\nretry_max = 500ms\n"
                     "timeout = 2s\nstate_file = %s\nstatus_file = %s\n"
                     "%s%s\n[headers]\nauthorization = %s\n"
                     % (f.instance, url, os.path.join(f.tmp, "state"),
                        os.path.join(f.tmp, "status"),
                        "topics = %s\n" % topics if topics else "", extra,
                        SECRET))
        self.start()

    def start(self):
        self.p = self.f.spawn([FEV_OTEL, "--config", self.conf],
                              stdout=subprocess.DEVNULL,
                              stderr=open(self.log, "a"))

    def status(self):
        return subprocess.run([FEV_OTEL, "status", "--config", self.conf],
                              capture_output=True, text=True, timeout=10)

    def status_text(self):
        r = self.status()
        return r.stdout + r.stderr

    def counter(self, name):
        for line in self.status().stdout.splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        return -1


def traced(f, topic, n):
    """n events, each the root of a sampled trace: their trace ids."""
    ids = []
    for i in range(n):
        r = f.fev("pub", topic, "-m", "e%d" % i, "--trace")
        expect_rc(r, 0, "pub --trace")
        ids.append(r.stderr.split("traceparent ")[1].split()[0]
                   .split("-")[1])
    return ids


def complete(c, ids):
    """Has c a send and a released process span of every trace in ids?"""
    have = {}
    for s in c.spans():
        have.setdefault(s["traceId"], set()).add(
            (s["kind"], attrs(s).get("fev.released", "true")))
    return all({(4, "true"), (5, "true")} <= have.get(t, set())
               for t in ids)


def test_pipeline_spans_arrive_with_kinds_attributes_and_links(f):
    c = Collector()
    try:
        # Before the topics exist: it follows their rings once they come
        # (pipeline() starts fevd and creates them).
        o = Otel(f, c.url(), topics="A B")
        trace_id, holder, worker, a_id = pipeline(f)
        mine = lambda: [s for s in c.spans() if s["traceId"] == trace_id]
        o.wait(lambda: len(mine()) >= 5, 20,
               "2 send and 3 process spans of the pipeline's trace")
        time.sleep(0.5)  # nothing more is coming
        doc = c.doc()
        doc["resourceSpans"] = [
            dict(rs, scopeSpans=[dict(ss, spans=[
                s for s in ss["spans"] if s["traceId"] == trace_id])
                for ss in rs["scopeSpans"]])
            for rs in doc["resourceSpans"]]
        check_otlp(doc, trace_id, holder, worker)
        abandoned = [s for s in mine() if s.get("status", {}).get("code")
                     == 2]
        expect(len(abandoned) == 1 and
               attrs(abandoned[0])["messaging.message.id"] == a_id,
               "the killed holder's process span ends in error at the "
               "redelivery", mine())
        redel = [s for s in mine()
                 if attrs(s).get("fev.redelivered") == "true"]
        expect(len(redel) == 1 and int(redel[0]["startTimeUnixNano"]) >=
               int(abandoned[0]["endTimeUnixNano"]),
               "the redelivered acquisition starts after it", redel)
        expect(all(h.get("authorization") == SECRET and
                   h.get("content-type") == "application/json"
                   for h, _ in c.posts),
               "the configured header and JSON content type", c.posts[0][0])
        # The status file is written once a second.
        o.wait(lambda: o.counter("exported") >= 5, 5, "counted exported")
        expect(o.counter("missed") == 0 and o.counter("failed") == 0,
               "nothing missed or failed", o.status_text())
        expect(not c.invalid(), "every POST is an OTLP request",
               c.invalid())
        reload_keeps_or_takes_the_config(f, o, c)
        o.stop()
        expect(SECRET.split()[1] not in o.logtext(all=True),
               "the header's value is never logged", o.logtext())
    finally:
        c.stop()


def reload_keeps_or_takes_the_config(f, o, c):
    """SIGHUP: a bad file is refused and the running config stays; a
    good one is taken (a new header value on the next POSTs)."""
    with open(o.conf) as fh:
        good = fh.read()
    with open(o.conf, "w") as fh:
        fh.write(good + "[nonsense]\n")
    o.p.send_signal(signal.SIGHUP)
    o.wait(lambda: "reload refused" in o.logtext(), 10, "a refused reload")
    expect(o.p.poll() is None, "still running on the old config")
    with open(o.conf, "w") as fh:
        fh.write(good.replace(SECRET, SECRET + "-2"))
    o.p.send_signal(signal.SIGHUP)
    o.wait(lambda: "config reloaded" in o.logtext(), 10, "a reload")
    ids = traced(f, "A", 1)
    expect_rc(f.fev("sub", "A", "-n", "1", "--timeout", "10s"), 0, "sub")
    o.wait(lambda: complete(c, ids), 20, "spans after the reload")
    expect(c.posts[-1][0].get("authorization") == SECRET + "-2",
           "the reloaded header", c.posts[-1][0])


def test_collector_down_then_up_and_exporter_killed_lose_nothing(f):
    c = Collector()
    port = c.server_address[1]
    c.stop()  # down: connections refused
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "A", "--partitions", "2",
                    "--capacity", "64"), 0, "topic create")
    # start = latest: what the restart finds it owes to its state file,
    # not to a re-read of the whole ring.
    o = Otel(f, "http://127.0.0.1:%d/v1/traces" % port,
             extra="start = latest\n")
    o.wait(lambda: "ring A next" in o.status_text(), 10,
           "fev-otel to follow A's ring")
    first = traced(f, "A", 5)
    expect_rc(f.fev("sub", "A", "-n", "5", "--timeout", "10s"), 0, "sub")
    o.wait(lambda: o.counter("failed") >= 2, 20,
           "fev-otel to find the collector away")
    expect("cannot post" in o.status_text(), "the last error says why",
           o.status_text())
    c = Collector(port)
    try:
        o.wait(lambda: complete(c, first), 20,
               "every span after the collector came back")
        time.sleep(0.5)  # the state file saved after the POST
        before = len(c.spans())
        o.kill()
        second = traced(f, "A", 5)
        expect_rc(f.fev("sub", "A", "-n", "5", "--timeout", "10s"), 0,
                  "sub while fev-otel is dead")
        o.start()
        o.wait(lambda: complete(c, second), 20,
               "the spans of hops written while it was dead")
        expect(len([sp for sp in c.spans() if sp["traceId"] in first])
               == before, "the restart exported none of the first spans "
               "again (its cursors were saved)", before)
        o.wait(lambda: o.counter("exported") >= 10, 5,
               "counted, by the restarted process")
        expect(o.counter("missed") == 0, "nothing overwritten",
               o.status_text())
        expect(not c.invalid(), "every POST is an OTLP request",
               c.invalid())
        o.stop()
        expect(o.status().returncode == 1 and
               "running no" in o.status_text(),
               "status says a stopped exporter is not running",
               o.status_text())
    finally:
        c.stop()


def test_hops_overwritten_while_it_was_stopped_are_counted_missed(f):
    c = Collector()
    try:
        start_fevd(f)
        expect_rc(f.fev("topic", "create", "M", "--partitions", "1",
                        "--capacity", "64", "trace_hops=8"), 0,
                  "topic create with a ring of 8 hops")
        o = Otel(f, c.url(), topics="M")
        o.wait(lambda: "ring M next" in o.status_text(), 10,
               "fev-otel to follow M's ring")
        o.p.send_signal(signal.SIGSTOP)
        try:
            ids = traced(f, "M", 12)  # 12 published hops, 8 kept
        finally:
            o.p.send_signal(signal.SIGCONT)
        sends = lambda: {s["traceId"] for s in c.spans() if s["kind"] == 4}
        o.wait(lambda: set(ids[4:]) <= sends(), 20,
               "the send spans of the 8 hops the ring kept")
        o.wait(lambda: o.counter("missed") == 4, 5,
               "the 4 overwritten hops counted missed")
        expect(not set(ids[:4]) & sends(), "nothing of the lost ones",
               sends())
        expect("4 hops were overwritten" in o.logtext(), "and logged",
               o.logtext())
        expect(not c.invalid(), "every POST is an OTLP request",
               c.invalid())
        o.stop()
    finally:
        c.stop()

def test_bad_configs_are_refused_with_the_line(f):
    conf = os.path.join(f.tmp, "bad.conf")
    cases = [
        ("[otel]\nendpoint = ftp://x\n", "not an http"),
        ("[otel]\nendpoint = http://x\nbatch_size = 0\n", "batch_size"),
        ("[otel]\nendpoint = http://x\nflush = 1s\n", "unknown key"),
        ("[otel]\nendpoint = http://x\ntopics = a/b\n", "not a topic"),
        ("[otel]\nbatch_size = 5\n", "no endpoint"),
        ("[otel]\nendpoint = http://x\n[headers]\nbad name = v\n",
         "bad.conf:"),
        ("[otel]\nendpoint = http://x\n[headers]\ncontent-type = x\n",
         "fev-otel's own"),
        ("[otel]\nendpoint = http://x\nstate_file = rel\n", "absolute"),
    ]
    for text, words in cases:
        with open(conf, "w") as fh:
            fh.write(text)
        r = subprocess.run([FEV_OTEL, "--config", conf, "--check-config"],
                           capture_output=True, text=True, timeout=10)
        expect(r.returncode == 2 and words in r.stderr,
               "refused: " + words, text, r.stderr)
    with open(conf, "w") as fh:
        fh.write("[otel]\nendpoint = http://x:4318/v1/traces\n"
                 "topics = a b\n[headers]\nx-api-key = k\n")
    r = subprocess.run([FEV_OTEL, "--config", conf, "--check-config"],
                       capture_output=True, text=True, timeout=10)
    expect(r.returncode == 0 and "2 topics" in r.stdout and
           "1 headers" in r.stdout, "a good config", r.stdout, r.stderr)
    r = subprocess.run([FEV_OTEL, "--help"], capture_output=True, text=True,
                       timeout=10)
    expect(r.returncode == 0 and "Examples:" in r.stdout, "--help",
           r.stdout)


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")],
                  needs=("FEVD", "FEVTEST_RELAY", "FEV_OTEL")))
