"""fev record and fev replay against real processes: a recording replayed
reproduces keys, binary header values and binary payloads byte for byte;
a truncated or corrupt file is refused with the offset and publishes
nothing; filters, --count, --duration, --group (consuming) and --speed
(the recorded pace); --help and exit codes.  The file format is
doc/record-format.md."""
import json
import os
import struct
import subprocess
import time
import zlib

from fevtool import (FEV, expect, expect_rc, expect_sentence, main,
                     wait_until)
from test_queue import start_fevd, stop_fevd

# Every byte value somewhere: NUL, newline, high bytes, invalid UTF-8.
PAYLOADS = [bytes(range(0, 64)), bytes(range(64, 256)), b"", b"plain",
            b"\xff\xfe\x00\n\r\t"]


def publish_mixed(f, queue):
    """Events with and without keys and headers, binary values."""
    for i, p in enumerate(PAYLOADS):
        args = ["pub", queue, "--hex", "--count", "1"]
        if i % 2 == 0:
            args += ["--key-hex", "00ff%02x" % i]
        if i != 3:
            args += ["--header", "ce-type=t%d" % i,
                     "--header-hex", "bin=000aff%02x" % i]
        r = f.fev(*args, input=(p.hex() or "") + "\n")
        expect_rc(r, 0, "pub event %d" % i)


def events(f, queue, n):
    """n events of queue as (key, headers, payload), taking them."""
    r = f.fev("sub", queue, "-n", str(n), "--json", "--timeout", "5s")
    expect_rc(r, 0, "sub %s" % queue)
    out = []
    for e in map(json.loads, r.stdout.splitlines()):
        out.append((e.get("key"), e.get("key_encoding"),
                    e.get("headers"), e["payload"], e["encoding"]))
    return out


def test_replay_reproduces_keys_headers_and_payloads_byte_for_byte(f):
    f.create("src", capacity=16)
    f.create("dst", capacity=16)
    publish_mixed(f, "src")
    rec = os.path.join(f.tmp, "r.fevrec")
    r = f.fev("record", "src", rec, "--from", "earliest", "-n",
              str(len(PAYLOADS)))
    expect_rc(r, 0, "record")
    expect("recorded %d events" % len(PAYLOADS) in r.stderr, "summary",
           r.stderr)
    r = f.fev("replay", rec, "dst")
    expect_rc(r, 0, "replay")
    want = events(f, "src", len(PAYLOADS))  # the tail took nothing
    got = events(f, "dst", len(PAYLOADS))
    expect(got == want, "the same keys, headers and payloads, in order",
           want, got)
    # The binary payload as bytes, not only as the same JSON.
    expect_rc(f.fev("replay", rec, "dst", "-n", "1"), 0, "replay -n 1")
    raw = f.fev("sub", "dst", "-n", "1", "--format", "raw", "--timeout",
                "5s", text=False)
    expect(raw.stdout == PAYLOADS[0], "payload bytes", raw.stdout)


def header_fields(path):
    with open(path, "rb") as fh:
        data = fh.read()
    return data, struct.unpack_from("<I", data, 12)[0]


def test_truncated_and_corrupt_files_are_refused_with_the_offset(f):
    f.create("src", capacity=16)
    f.create("dst", capacity=16)
    publish_mixed(f, "src")
    rec = os.path.join(f.tmp, "r.fevrec")
    expect_rc(f.fev("record", "src", rec, "--from", "earliest", "-n",
                    str(len(PAYLOADS))), 0, "record")
    data, hlen = header_fields(rec)
    first_len = struct.unpack_from("<I", data, hlen)[0]
    second = hlen + first_len
    bad = os.path.join(f.tmp, "bad.fevrec")
    cases = [
        (data[:second + 10], "truncated", "record 2 at offset %d" % second),
        (data[:5], "not a fev recording", ""),
        (data[:hlen - 1], "truncated header", ""),
        (data[:second + 60] + b"X" + data[second + 61:], "corrupt",
         "record 2 at offset %d" % second),
        (data[:hlen + 4] + b"\x00\x01" + data[hlen + 6:], "corrupt",
         "offset %d" % hlen),
        (data[:3] + b"\x00" + data[4:], "not a fev recording", ""),
        (data[:8] + b"\x02\x00" + data[10:], "format 2.0", "reads 1.x"),
    ]
    for content, what, where in cases:
        with open(bad, "wb") as fh:
            fh.write(content)
        r = f.fev("replay", bad, "dst")
        expect_sentence(r, 1, what, where)
    # A length that adds up only with a forged CRC is still caught by the
    # lengths: hdr_len 200 in a record of fewer bytes, CRC recomputed.
    rec1 = bytearray(data[hlen:second])
    struct.pack_into("<H", rec1, 4, 200)
    struct.pack_into("<I", rec1, len(rec1) - 4,
                     zlib.crc32(bytes(rec1[:-4])))
    with open(bad, "wb") as fh:
        fh.write(data[:hlen] + bytes(rec1) + data[second:])
    expect_sentence(f.fev("replay", bad, "dst"), 1, "corrupt",
                    "lengths or key and headers")
    r = f.fev("tail", "dst", "--from", "earliest", "-t", "200ms")
    expect(r.stdout == "", "nothing was published by a refused file",
           r.stdout)
    # The whole records before a cut are there for --count.
    with open(bad, "wb") as fh:
        fh.write(data[:second + 10])
    expect_rc(f.fev("replay", bad, "dst", "-n", "1"), 0,
              "replay -n 1 of a file cut in record 2")


def test_record_and_replay_filter_count_and_duration(f):
    f.create("src", capacity=64)
    f.create("dst", capacity=64)
    for i in range(6):
        expect_rc(f.fev("pub", "src", "-m", "e%d" % i, "--key",
                        "a" if i % 2 else "b", "--header",
                        "n=%d" % (i % 3)), 0, "pub")
    rec = os.path.join(f.tmp, "r.fevrec")
    t0 = time.monotonic()
    r = f.fev("record", "src", rec, "--from", "earliest", "--key", "a",
              "--duration", "400ms")
    expect_rc(r, 0, "record --key a --duration")
    expect(time.monotonic() - t0 >= 0.4, "ran for its duration")
    expect("recorded 3 events" in r.stderr, "keys a only", r.stderr)
    expect_rc(f.fev("replay", rec, "dst", "--header", "n=0"), 0,
              "replay --header")
    expect([e[3] for e in events(f, "dst", 1)] == ["e3"],
           "key a and n=0: e3 only")
    expect_rc(f.fev("replay", rec, "dst", "-n", "2"), 0, "replay -n 2")
    expect([e[3] for e in events(f, "dst", 2)] == ["e1", "e3"], "-n 2")


def test_replay_paces_at_the_recorded_speed(f):
    f.create("src", capacity=16)
    f.create("dst", capacity=16)
    rec = os.path.join(f.tmp, "r.fevrec")
    for i in range(3):
        expect_rc(f.fev("pub", "src", "-m", str(i)), 0, "pub")
        time.sleep(0.3)
    expect_rc(f.fev("record", "src", rec, "--from", "earliest", "-n", "3"),
              0, "record")
    for speed, at_least in (("1", 0.55), ("2", 0.27)):
        t0 = time.monotonic()
        expect_rc(f.fev("replay", rec, "dst", "--speed", speed), 0,
                  "replay --speed " + speed)
        took = time.monotonic() - t0
        expect(took >= at_least, "--speed %s keeps the pace" % speed, took)
        expect(len(events(f, "dst", 3)) == 3, "all three")


def test_record_as_a_group_member_takes_and_misses_nothing(f):
    p = start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions", "2",
                    "--capacity", "16"), 0, "topic create")
    expect_rc(f.fev("group", "create", "orders", "rec"), 0, "group create")
    for k, n in ((0, 3), (1, 2)):
        part = "orders" if k == 0 else "orders@1"
        expect_rc(f.fev("pub", part, "-m", "p%d" % k, "--count", str(n),
                        "--key", "k%d" % k), 0, "pub")
    rec = os.path.join(f.tmp, "g.fevrec")
    r = f.fev("record", "orders", rec, "--group", "rec", "-n", "5")
    expect_rc(r, 0, "record --group")
    r = f.fev("record", "orders", rec + "2", "--group", "rec",
              "--duration", "300ms")
    expect("recorded 0 events" in r.stderr, "the group's events were taken",
           r.stderr)
    expect_sentence(f.fev("record", "orders", rec + "3", "--group", "nope"),
                    1, "no group 'nope'")
    expect_rc(f.fev("topic", "create", "copy", "--partitions", "2",
                    "--capacity", "16"), 0, "topic create copy")
    expect_rc(f.fev("replay", rec, "copy"), 0, "replay into a topic")
    r = f.fev("tail", "copy", "--from", "earliest", "--json", "-t", "300ms")
    got = [json.loads(l) for l in r.stdout.splitlines()]
    expect(sorted(e["payload"] for e in got) ==
           ["p0"] * 3 + ["p1"] * 2, "all five replayed", got)
    # Routed by key: each key in one partition.
    parts = {}
    for e in got:
        parts.setdefault(e["key"], set()).add(e["partition"])
    expect(all(len(s) == 1 for s in parts.values()),
           "one partition per key", parts)
    stop_fevd(p)


def test_replay_into_one_partition_puts_every_event_there(f):
    p = start_fevd(f)
    f.create("src", capacity=16)
    for i in range(4):
        expect_rc(f.fev("pub", "src", "-m", "e%d" % i, "--key", "k%d" % i),
                  0, "pub")
    rec = os.path.join(f.tmp, "r.fevrec")
    expect_rc(f.fev("record", "src", rec, "--from", "earliest", "-n", "4"),
              0, "record")
    expect_rc(f.fev("topic", "create", "copy", "--partitions", "3",
                    "--capacity", "16"), 0, "topic create copy")
    r = f.fev("replay", rec, "copy@2")
    expect_rc(r, 0, "replay into copy@2")
    expect("into 'copy@2'" in r.stderr, "the summary names the partition",
           r.stderr)
    r = f.fev("tail", "copy", "--from", "earliest", "--json", "-t", "300ms")
    got = [json.loads(l) for l in r.stdout.splitlines()]
    expect([(e["partition"], e["key"], e["payload"]) for e in got] ==
           [(2, "k%d" % i, "e%d" % i) for i in range(4)],
           "every event in partition 2, keys kept, in order", got)
    expect_sentence(f.fev("replay", rec, "copy@3"), 1, "copy@3")
    stop_fevd(p)


def header_map(headers):
    return {h["name"]: h["value"] for h in headers or []}


def test_replay_strip_trace_drops_only_the_trace_headers(f):
    f.create("src", capacity=16)
    f.create("dst", capacity=16)
    r = f.fev("pub", "src", "-m", "traced", "--trace", "--header",
              "tracestate=congo=t61rcWkgMzE", "--header", "ce-type=t")
    expect_rc(r, 0, "pub --trace")
    tp = r.stderr.split("traceparent ")[1].split()[0]
    expect_rc(f.fev("pub", "src", "-m", "plain", "--header",
                    "TraceParent=00-4bf92f3577b34da6a3ce929d0e0e4736-"
                    "00f067aa0ba902b7-00"), 0, "pub with its own header")
    rec = os.path.join(f.tmp, "r.fevrec")
    expect_rc(f.fev("record", "src", rec, "--from", "earliest", "-n", "2"),
              0, "record")
    expect_rc(f.fev("replay", rec, "dst"), 0, "replay")
    kept = [header_map(e[2]) for e in events(f, "dst", 2)]
    expect(kept[0].get("traceparent") == tp and "tracestate" in kept[0]
           and "TraceParent" in kept[1],
           "a plain replay keeps the trace context", kept)
    expect_rc(f.fev("replay", rec, "dst", "--strip-trace"), 0,
              "replay --strip-trace")
    got = events(f, "dst", 2)
    expect([header_map(e[2]) for e in got] == [{"ce-type": "t"}, {}] and
           [e[3] for e in got] == ["traced", "plain"],
           "traceparent and tracestate gone, in any case; the rest kept",
           got)


def test_record_and_replay_help_and_errors_have_their_exit_codes(f):
    for cmd in ("record", "replay"):
        r = f.fev(cmd, "--help")
        expect_rc(r, 0, cmd + " --help")
        expect("Examples:" in r.stdout and "Exit status:" in r.stdout,
               cmd + ": help with examples and exit codes", r.stdout)
    expect_sentence(f.fev("record", "q"), 2, "a source and a file")
    expect_sentence(f.fev("replay", "x"), 2, "a recording and a target")
    expect_sentence(f.fev("replay", "x", "q", "--speed", "0"), 2,
                    "--speed")
    expect_sentence(f.fev("replay", "x", "q", "--from", "earliest"), 2,
                    "--from")
    expect_sentence(f.fev("record", "q", "x", "--duration", "soon"), 2,
                    "--duration")
    expect_sentence(f.fev("record", "q", "x", "--cpu", "150"), 2, "--cpu")
    expect_sentence(f.fev("record", "nothere", os.path.join(f.tmp, "x")),
                    1, "no queue or topic")
    expect_sentence(f.fev("replay", os.path.join(f.tmp, "none"), "q"), 1,
                    "cannot open")
    f.create("q")
    expect_sentence(f.fev("record", "q", os.path.join(f.tmp, "no", "x")), 1,
                    "cannot create")
    rec = os.path.join(f.tmp, "r.fevrec")
    expect_rc(f.fev("pub", "q", "-m", "x"), 0, "pub")
    expect_rc(f.fev("record", "q", rec, "--from", "earliest", "-n", "1"), 0,
              "record")
    expect_sentence(f.fev("replay", rec, "nothere"), 1, "nothere")


if __name__ == "__main__":
    raise SystemExit(main([
        test_replay_reproduces_keys_headers_and_payloads_byte_for_byte,
        test_truncated_and_corrupt_files_are_refused_with_the_offset,
        test_record_and_replay_filter_count_and_duration,
        test_replay_paces_at_the_recorded_speed,
        test_record_as_a_group_member_takes_and_misses_nothing,
        test_replay_into_one_partition_puts_every_event_there,
        test_replay_strip_trace_drops_only_the_trace_headers,
        test_record_and_replay_help_and_errors_have_their_exit_codes,
    ]))
