"""fev pub and fev sub, end to end through the real binary."""
import base64
import json
import os
import signal
import sys
import time

from fevtool import expect, expect_rc, main, wait_until


def test_lines_from_stdin_come_out_in_order(f):
    f.create("jobs")
    r = f.fev("pub", "jobs", input="one\ntwo words\n\nthree\n")
    expect_rc(r, 0, "pub")
    r = f.fev("sub", "jobs", "-n", "4", "--timeout", "5s")
    expect_rc(r, 0, "sub")
    expect(r.stdout == "one\ntwo words\n\nthree\n", "payloads", r.stdout)


def test_message_is_published_count_times(f):
    f.create("jobs")
    expect_rc(f.fev("pub", "jobs", "-m", "hi", "--count", "5"), 0, "pub")
    r = f.fev("sub", "jobs", "--timeout", "300ms")
    expect_rc(r, 0, "sub drains and stops after the idle timeout")
    expect(r.stdout == "hi\n" * 5, "five events", r.stdout)


def test_file_option_reads_events_from_a_file(f):
    f.create("jobs")
    path = os.path.join(f.tmp, "events.txt")
    with open(path, "w") as fh:
        fh.write("alpha\nbeta\n")
    expect_rc(f.fev("pub", "jobs", "-f", path), 0, "pub -f")
    r = f.fev("sub", "jobs", "-n", "2", "--timeout", "5s")
    expect(r.stdout == "alpha\nbeta\n", "file events", r.stdout)


def test_binary_payload_round_trips_through_json_base64(f):
    f.create("blobs", max_event=1024)
    payload = bytes([0, 1, 2, 0xff, 0xfe, 10, 13, 0x80]) + b"tail\x00"
    expect_rc(f.fev("pub", "blobs", "--whole", input=payload), 0, "pub")
    r = f.fev("sub", "blobs", "-n", "1", "--format", "json",
              "--timeout", "5s")
    expect_rc(r, 0, "sub --format json")
    ev = json.loads(r.stdout)
    expect(ev["encoding"] == "base64", "encoding", ev)
    expect(base64.b64decode(ev["payload"]) == payload, "payload", ev)
    expect(ev["len"] == len(payload), "len", ev)
    for key in ("id", "ts_ns", "time", "flags", "redelivered"):
        expect(key in ev, "json lacks " + key, ev)
    expect(abs(ev["ts_ns"] / 1e9 - time.time()) < 60, "timestamp", ev)


def test_binary_payload_round_trips_through_raw_format(f):
    f.create("blobs", max_event=4096)
    payload = bytes(range(256)) * 3
    expect_rc(f.fev("pub", "blobs", "--whole", input=payload), 0, "pub")
    r = f.fev("sub", "blobs", "-n", "1", "--format", "raw",
              "--timeout", "5s", text=False)
    expect_rc(r, 0, "sub --format raw")
    expect(r.stdout == payload, "raw bytes differ")


def test_hex_input_and_hex_output_carry_the_same_bytes(f):
    f.create("blobs")
    expect_rc(f.fev("pub", "blobs", "--hex", input="00ff 41 0a\ndeadbeef\n"),
              0, "pub --hex")
    r = f.fev("sub", "blobs", "-n", "2", "--format", "hex",
              "--timeout", "5s")
    expect_rc(r, 0, "sub --format hex")
    lines = r.stdout.splitlines()
    expect(lines[0].startswith("# event ") and "4 bytes" in lines[0],
           "header", lines)
    expect(lines[1].startswith("00000000  00 ff 41 0a") and
           lines[1].endswith("|..A.|"), "dump", lines)
    expect("de ad be ef" in lines[3], "second event", lines)


def test_text_payload_is_utf8_in_json(f):
    f.create("jobs")
    expect_rc(f.fev("pub", "jobs", "-m", "h\u00e9llo \"w\"\t\u2603"), 0, "pub")
    r = f.fev("sub", "jobs", "-n", "1", "--json", "--timeout", "5s")
    ev = json.loads(r.stdout)
    expect(ev["encoding"] == "utf-8", "encoding", ev)
    expect(ev["payload"] == "h\u00e9llo \"w\"\t\u2603", "payload", ev)
    expect(ev["redelivered"] is False and ev["flags"] == 0, "flags", ev)


def test_synthetic_load_publishes_exactly_count_events_of_size(f):
    f.create("load", capacity=1024, max_event=512)
    expect_rc(f.fev("pub", "load", "--size", "100", "--count", "700"),
              0, "pub --size --count")
    r = f.fev("sub", "load", "--json", "--timeout", "300ms")
    evs = [json.loads(l) for l in r.stdout.splitlines()]
    expect(len(evs) == 700, "count", len(evs))
    expect(all(e["len"] == 100 for e in evs), "sizes")
    # Each synthetic payload starts with its sequence number.
    expect([int(e["payload"].split()[0]) for e in evs] == list(range(700)),
           "sequence numbers")


def test_rate_spaces_events_out(f):
    f.create("jobs")
    t0 = time.monotonic()
    expect_rc(f.fev("pub", "jobs", "-m", "x", "--count", "6",
                    "--rate", "20/s"), 0, "pub --rate")
    took = time.monotonic() - t0
    # Six events at 20/s: the last is due 250 ms after the first.
    expect(took >= 0.24, "--rate was not applied: %.3f s" % took)
    r = f.fev("sub", "jobs", "--timeout", "300ms")
    expect(r.stdout.count("x\n") == 6, "events", r.stdout)


def test_sub_waits_for_an_event_published_later(f):
    f.create("jobs")
    sub = f.spawn([os.environ["FEV"], "sub", "jobs", "-n", "1",
                   "--timeout", "20s"], stdout=-1, stderr=-1, text=True)
    time.sleep(0.3)
    expect_rc(f.fev("pub", "jobs", "-m", "late"), 0, "pub")
    out, _ = sub.communicate(timeout=20)
    expect(sub.returncode == 0 and out == "late\n", "sub", out)


def test_sub_stops_cleanly_on_sigint(f):
    f.create("jobs")
    sub = f.spawn([os.environ["FEV"], "sub", "jobs"], stdout=-1, stderr=-1,
                  text=True)
    wait_until(lambda: f.consumers("jobs") == 1, what="sub to attach")
    sub.send_signal(signal.SIGINT)
    sub.communicate(timeout=10)
    expect(sub.returncode == 0, "exit after SIGINT", sub.returncode)


def sub_json(f, queue, n=1):
    r = f.fev("sub", queue, "-n", str(n), "--json", "--timeout", "5s")
    expect_rc(r, 0, "sub --json")
    return [json.loads(line) for line in r.stdout.splitlines()]


def decoded(ev, member):
    enc = ev[member + "_encoding"]
    return (base64.b64decode(ev[member]) if enc == "base64"
            else ev[member].encode())


def test_key_and_headers_round_trip_with_binary_bytes(f):
    f.create("orders", max_event=512)
    key = b"\x00k\xff\x80\\ \n"
    blob = bytes(range(256))[:40] + b"\xff\x00"
    r = f.fev("pub", "orders", "-m", "payload",
              "--key", r"\x00k\xff\x80\\\x20\n",
              "-H", "content-type=application/json",
              "--header-hex", "x-blob=" + blob.hex(),
              "-H", r"Ce-Type=order\tplaced",
              "-H", "empty=")
    expect_rc(r, 0, "pub --key --header")
    (ev,) = sub_json(f, "orders")
    expect(decoded(ev, "key") == key, "binary key", ev)
    expect(ev["key_encoding"] == "base64", "a key that is not UTF-8", ev)
    names = [h["name"] for h in ev["headers"]]
    expect(names == ["content-type", "x-blob", "Ce-Type", "empty"],
           "headers in order, names as given", ev)
    values = [decoded(h, "value") for h in ev["headers"]]
    expect(values == [b"application/json", blob, b"order\tplaced", b""],
           "header values", ev)
    expect(ev["headers"][0]["value_encoding"] == "utf-8", "utf-8 value", ev)
    expect(ev["payload"] == "payload" and ev["len"] == 7, "payload", ev)


def test_text_format_prefixes_key_and_headers_escaped(f):
    f.create("orders", max_event=512)
    expect_rc(f.fev("pub", "orders", "-m", "body", "--key-hex", "6b2000ff",
                    "-H", "a=x y", "-H", r"b=\\"), 0, "pub")
    expect_rc(f.fev("pub", "orders", "-m", "plain"), 0, "pub plain")
    r = f.fev("sub", "orders", "-n", "2", "--timeout", "5s")
    expect_rc(r, 0, "sub")
    expect(r.stdout == "key=k\\x20\\x00\\xff a=x\\x20y b=\\\\\tbody\nplain\n",
           "text prefix, then the plain event as before", r.stdout)
    expect_rc(f.fev("pub", "orders", "-m", "h", "-k", "K"), 0, "pub")
    r = f.fev("sub", "orders", "-n", "1", "--format", "hex",
              "--timeout", "5s")
    expect("# key 1 bytes" in r.stdout and "4b" in r.stdout, "hex key",
           r.stdout)


def test_every_line_carries_the_key_and_headers(f):
    f.create("orders", max_event=512)
    expect_rc(f.fev("pub", "orders", "-k", "same", "-H", "t=1",
                    input="one\ntwo\nthree\n"), 0, "pub lines")
    evs = sub_json(f, "orders", 3)
    expect([e["payload"] for e in evs] == ["one", "two", "three"],
           "payloads", evs)
    expect(all(e["key"] == "same" and e["headers"][0]["value"] == "1"
               for e in evs), "each event keyed", evs)
    expect_rc(f.fev("pub", "orders", "-k", "k", "-m", "x", "--count", "40"),
              0, "pub --count with a key")
    evs = sub_json(f, "orders", 40)
    expect(all(e["key"] == "k" for e in evs), "40 keyed events", len(evs))


def test_bad_keys_and_headers_are_usage_errors_and_send_nothing(f):
    f.create("orders", max_event=64)
    for args, words in (
            (["-H", "no-equals-sign"], ["NAME=VALUE"]),
            (["-H", "bad name=v"], ["header"]),
            (["-H", "=v"], ["header"]),
            (["-H", r"a=\q"], ["\\xHH"]),
            (["--header-hex", "a=zz"], ["hex"]),
            (["--key", "k" * 256], ["255"]),
            (["--key", r"\x4"], ["\\xHH"])):
        r = f.fev("pub", "orders", "-m", "x", *args)
        expect_rc(r, 2, "usage error for %r" % args)
        for w in words:
            expect(w in r.stderr, "says %r" % w, r.stderr)
    # Fits alone, not with its headers: the event is refused whole.
    r = f.fev("pub", "orders", "-m", "x" * 50, "-H", "pad=" + "y" * 20)
    expect_rc(r, 1, "too large with its headers")
    expect("with its key and headers" in r.stderr, "says why", r.stderr)
    r = f.fev("sub", "orders", "--timeout", "300ms")
    expect(r.stdout == "", "nothing was sent", r.stdout)


def test_trace_starts_a_sampled_trace_per_event(f):
    f.create("orders", max_event=512)
    r = f.fev("pub", "orders", "-m", "x", "--count", "2", "--trace")
    expect_rc(r, 0, "pub --trace")
    printed = [l.split()[1] for l in r.stderr.splitlines()
               if l.startswith("traceparent ")]
    expect(len(printed) == 2, "each traceparent printed", r.stderr)
    evs = sub_json(f, "orders", 2)
    sent = [h["value"] for e in evs for h in e["headers"]
            if h["name"] == "traceparent"]
    expect(sent == printed, "the printed traceparents were sent", evs)
    for tp in sent:
        parts = tp.split("-")
        expect(len(tp) == 55 and parts[0] == "00" and parts[3] == "01",
               "version 00, sampled", tp)
    expect(sent[0].split("-")[1] != sent[1].split("-")[1],
           "a trace of its own per event", sent)
    expect(all(e["flags"] & 4 for e in evs), "FEV_SAMPLED on each", evs)
    r = f.fev("pub", "orders", "-m", "x", "--trace-unsampled", "-q")
    expect_rc(r, 0, "pub --trace-unsampled")
    (ev,) = sub_json(f, "orders")
    expect(ev["headers"][0]["value"].endswith("-00"), "not sampled", ev)
    expect(not ev["flags"] & 4, "not FEV_SAMPLED", ev)
    r = f.fev("pub", "orders", "-m", "x", "--trace", "--trace-unsampled")
    expect_rc(r, 2, "both: a usage error")


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")]))
