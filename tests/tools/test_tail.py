"""fev tail against real processes: it shows what passes (key, headers,
payload) without consuming it, filters by key and header, says how many it
missed when the ring lapped it, blocks nobody while SIGSTOPped, follows
every partition of a topic (with the real fevd), and answers --help and
bad input with the documented exit codes."""
import json
import os
import signal
import subprocess
import time

from fevtool import (FEV, expect, expect_rc, expect_sentence, main,
                     wait_until)
from test_queue import start_fevd, stop_fevd


def tail(f, *args, **kw):
    return f.spawn([FEV, "tail", *args], stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE, text=True, **kw)


def wait_mapped(f, t, queue):
    """Until tail process t has queue's segment mapped: it writes nothing
    to it, so its own mappings are the one sign that it is watching
    ("--from latest" starts at the head it saw then)."""
    seg = "/dev/shm/fev.%s.%s" % (f.instance, queue)

    def mapped():
        try:
            with open("/proc/%d/maps" % t.pid) as m:
                return any(l.rstrip().endswith(seg) for l in m)
        except OSError:
            return False
    wait_until(mapped, timeout=20, what="the tail to map " + seg)
    time.sleep(0.1)  # and to read the head, right after mapping


def attached_consumers_see_all(f, queue, n):
    r = f.fev("sub", queue, "-n", str(n), "--timeout", "5s")
    expect_rc(r, 0, "the consumer still gets all %d events" % n)
    return r.stdout.splitlines()


def test_tail_shows_events_with_key_and_headers_without_taking_them(f):
    f.create("q", capacity=64)
    t = tail(f, "q", "--timeout", "1s")
    wait_mapped(f, t, "q")  # attached before the events come (--from latest)
    expect_rc(f.fev("pub", "q", "-m", "hello world", "--key", "k1",
                    "--header", "ce-type=order.placed",
                    "--header-hex", "bin=00ff0a"), 0, "pub")
    expect_rc(f.fev("pub", "q", "-m", "plain"), 0, "pub")
    out, err = t.communicate(timeout=30)
    expect(t.returncode == 0, "tail ends at its timeout", err)
    lines = out.splitlines()
    expect(len(lines) == 2, "one line per event", out)
    expect(" p=0 id=0 key=k1 ce-type=order.placed bin=\\x00\\xff\\x0a\t"
           "len=11 hello world" in lines[0], "the first event", lines[0])
    expect(lines[1].endswith(" p=0 id=1 len=5 plain"), "the second",
           lines[1])
    expect(attached_consumers_see_all(f, "q", 2) ==
           ["key=k1 ce-type=order.placed bin=\\x00\\xff\\x0a\thello world",
            "plain"], "nothing was consumed by the tail")


def test_tail_filters_by_key_and_header_and_prints_json(f):
    f.create("q", capacity=64)
    for key, kind in (("a", "x"), ("b", "x"), ("a", "y"), ("a", "x")):
        expect_rc(f.fev("pub", "q", "-m", key + kind, "--key", key,
                        "--header", "Kind=" + kind), 0, "pub")
    r = f.fev("tail", "q", "--from", "earliest", "--key", "a",
              "--header", "kind=x", "--json", "-t", "300ms")
    expect_rc(r, 0, "tail with filters")
    evs = [json.loads(l) for l in r.stdout.splitlines()]
    expect([(e["id"], e["payload"], e["partition"]) for e in evs] ==
           [(0, "ax", 0), (3, "ax", 0)], "key a and header kind=x only",
           evs)
    expect(evs[0]["headers"] == [{"name": "Kind", "value": "x",
                                  "value_encoding": "utf-8"}],
           "headers as fev sub --json", evs[0])
    r = f.fev("tail", "q", "--from", "earliest", "-n", "3", "-t", "2s")
    expect_rc(r, 0, "tail -n 3")
    expect(len(r.stdout.splitlines()) == 3, "-n stops after 3", r.stdout)
    r = f.fev("tail", "q", "--from", "earliest", "-n", "9", "-t", "300ms")
    expect_sentence(r, 1, "timed out", "4 of 9")


def test_tail_shows_the_sampled_flag_of_a_traced_event(f):
    f.create("q", capacity=16)
    expect_rc(f.fev("pub", "q", "-m", "traced", "--trace"), 0, "pub --trace")
    expect_rc(f.fev("pub", "q", "-m", "plain"), 0, "pub")
    r = f.fev("tail", "q", "--from", "earliest", "--json", "-t", "300ms")
    expect_rc(r, 0, "tail --json")
    evs = [json.loads(l) for l in r.stdout.splitlines()]
    expect([(e["payload"], e["flags"]) for e in evs] ==
           [("traced", 4), ("plain", 0)],
           "FEV_SAMPLED (4) as consumers see it", evs)


def test_stopped_tail_blocks_nobody_and_reports_what_it_missed(f):
    n = 200
    f.create("q", capacity=8)
    t = tail(f, "q", "--json")
    wait_mapped(f, t, "q")
    t.send_signal(signal.SIGSTOP)
    try:
        # A full lap and more passes while the tail cannot run: a tail
        # that gated anyone would stall this pipeline for ever.
        sub = f.spawn([FEV, "sub", "q", "-n", str(n), "--timeout", "20s"],
                      stdout=subprocess.DEVNULL)
        lines = "".join("%d\n" % i for i in range(n))
        expect_rc(f.fev("pub", "q", input=lines, timeout=20), 0,
                  "the producer is never held up by the stopped tail")
        expect(sub.wait(timeout=20) == 0, "the consumer got every event")
    finally:
        t.send_signal(signal.SIGCONT)
    time.sleep(0.5)
    t.send_signal(signal.SIGINT)
    out, err = t.communicate(timeout=30)
    expect(t.returncode == 0, "tail ends on Ctrl-C", err)
    recs = [json.loads(l) for l in out.splitlines()]
    missed = sum(r["missed"] for r in recs if "missed" in r)
    seen = [r for r in recs if "missed" not in r]
    expect(missed > 0, "the tail says it missed events", out)
    expect(missed + len(seen) == n, "every event seen or counted missed",
           missed, len(seen))
    expect(all(int(e["payload"]) == e["id"] for e in seen),
           "each event shown is the one of its position", seen)


def test_tail_follows_every_partition_of_a_topic(f):
    p = start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions", "3",
                    "--capacity", "16"), 0, "topic create")
    for k in (2, 1):
        expect_rc(f.fev("pub", "orders@%d" % k, "-m", "to %d" % k), 0,
                  "pub")
    r = f.fev("tail", "orders", "--from", "earliest", "--json", "-n", "2",
              "-t", "5s")
    expect_rc(r, 0, "tail of a topic")
    got = sorted((e["partition"], e["payload"])
                 for e in map(json.loads, r.stdout.splitlines()))
    expect(got == [(1, "to 1"), (2, "to 2")],
           "each partition's event, with its partition", got)
    r = f.fev("tail", "orders@1", "--from", "earliest", "-t", "300ms")
    expect_rc(r, 0, "tail of one partition")
    expect(r.stdout.endswith(" p=1 id=0 len=4 to 1\n"), "partition 1 only",
           r.stdout)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")
    stop_fevd(p)


def test_tail_help_and_errors_have_their_exit_codes(f):
    r = f.fev("tail", "--help")
    expect_rc(r, 0, "--help")
    expect("Examples:" in r.stdout and "Exit status:" in r.stdout,
           "help with examples and exit codes", r.stdout)
    expect_sentence(f.fev("tail"), 2, "which queue")
    expect_sentence(f.fev("tail", "q", "--from", "middle"), 2, "--from")
    expect_sentence(f.fev("tail", "q", "--format", "xml"), 2, "--format")
    expect_sentence(f.fev("tail", "q", "--cpu", "0"), 2, "--cpu")
    expect_sentence(f.fev("tail", "q", "--cpu", "101"), 2, "--cpu")
    expect_sentence(f.fev("tail", "q", "--header", "no equals"), 2,
                    "NAME=VALUE")
    expect_sentence(f.fev("tail", "bad name"), 2, "bad name")
    expect_sentence(f.fev("tail", "nothere"), 1, "no queue or topic",
                    "nothere")
    f.create("q")
    t = tail(f, "q")
    time.sleep(0.3)
    f.helper("delete", "q")
    out, err = t.communicate(timeout=30)
    expect(t.returncode == 1 and "'q' was deleted" in err,
           "a deleted queue ends the tail with exit 1", err)
    # Anyone who may write a segment may truncate it: the tail survives.
    f.create("q")
    t = tail(f, "q")
    time.sleep(0.3)
    os.truncate("/dev/shm/fev.%s.q" % f.instance, 4096)
    out, err = t.communicate(timeout=30)
    expect(t.returncode == 1 and "truncated" in err,
           "a truncated segment ends the tail with exit 1, not SIGBUS",
           t.returncode, err)


if __name__ == "__main__":
    raise SystemExit(main([
        test_tail_shows_events_with_key_and_headers_without_taking_them,
        test_tail_filters_by_key_and_header_and_prints_json,
        test_tail_shows_the_sampled_flag_of_a_traced_event,
        test_stopped_tail_blocks_nobody_and_reports_what_it_missed,
        test_tail_follows_every_partition_of_a_topic,
        test_tail_help_and_errors_have_their_exit_codes,
    ]))
