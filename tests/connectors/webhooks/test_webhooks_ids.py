"""fev-webhooks' webhook-ids: derived from the event's place in its topic
(instance, partition, the partition's incarnation, position), so nothing is
written before a first attempt and a redelivery after a crash carries the
same id.  A real fevd, real fev-webhooks processes, a real HTTP receiver."""
import os
import sqlite3
import subprocess
import sys
import time

from fevtool import expect, main, wait_until
from receiver import Receiver
from webhooks_fixture import SECRET, TOPIC, Hooks, endpoint, publish, \
    start_fevd


def rows(h):
    """The deliveries the store holds, as (endpoint, wid, state)."""
    with sqlite3.connect(h.db, timeout=10) as db:
        return db.execute("SELECT endpoint, wid, state FROM deliveries"
                          ).fetchall()


def test_a_crash_before_the_first_answer_resends_the_same_id(f):
    # The receiver holds the first request; fev-webhooks is SIGKILLed
    # while it waits.  Nothing was stored; the topic's group redelivers
    # the event in place and the next process sends it with the same id.
    start_fevd(f)
    rx = Receiver([SECRET])
    held = []

    def answer(hd, body):
        if not held:
            held.append(hd["webhook-id"])
            return (200, {}, 3.0)
        return (200, {}, 0)
    rx.answer = answer
    h = Hooks(f, endpoint("k", rx.url))
    h.start()
    publish(f, ["once"])
    wait_until(lambda: held, 10, "the first request to arrive")
    expect(rows(h) == [], "nothing stored before the first attempt's "
           "outcome", rows(h))
    h.kill()
    h.start()
    wait_until(lambda: len(rx.got()) >= 2, 20, "the event sent again")
    ids = {r.wid for r in rx.got()}
    expect(ids == {held[0]}, "the redelivered event has the same id",
           ids, held)
    out = h.ctl("attempts", held[0])
    expect("delivered after 1 attempts" in out and " 200 " in out,
           "ctl attempts of an event delivered at once", out)
    h.stop()
    rx.close()


def test_a_topic_created_again_does_not_reuse_ids(f):
    # Positions restart at 0 in a re-created topic: its creation time,
    # part of the id, tells the two apart.
    start_fevd(f)
    rx = Receiver([SECRET])
    h = Hooks(f, endpoint("r", rx.url))
    h.start()
    publish(f, ["first life"])
    wait_until(lambda: b"first life" in rx.delivered(), 10, "delivery 1")
    r = f.fev("topic", "delete", TOPIC)
    expect(r.returncode == 0, "topic delete", r.stderr)
    r = f.fev("topic", "create", TOPIC, "--partitions", "1")
    expect(r.returncode == 0, "topic create again", r.stderr)
    # fev-webhooks opens it again and makes its group (earliest).
    h.wait(lambda: "webhooks-r" in
           f.fev("group", "list", TOPIC).stdout, 20, "its group again")
    publish(f, ["second life"])
    h.wait(lambda: b"second life" in rx.delivered(), 20, "delivery 2")
    got = rx.delivered()
    expect(got[b"first life"] != got[b"second life"],
           "two events at position 0 of two incarnations: two ids", got)
    h.stop()
    rx.close()


def test_a_topic_deleted_during_a_first_attempt_keeps_its_body(f):
    # The topic goes while the receiver holds the first attempt, which then
    # fails: the body, still in the ring's mapping, is copied into the
    # store.  The source closes its handle only once the engine gave the
    # event back (before: unmapped at once, and the copy read freed pages).
    start_fevd(f)
    rx = Receiver([SECRET])
    held = []

    def answer(hd, body):
        if not held:
            held.append(1)
            time.sleep(1.5)
            return (500, {}, 0)
        return (200, {}, 0)
    rx.answer = answer
    h = Hooks(f, endpoint("d", rx.url),
              "retry_schedule = 200ms\njitter = 0%\n")
    h.start()
    publish(f, ["kept in the store"])
    wait_until(lambda: held, 10, "the first attempt to arrive")
    r = f.fev("topic", "delete", TOPIC)
    expect(r.returncode == 0, "topic delete", r.stderr)
    h.wait(lambda: b"kept in the store" in rx.delivered(), 15,
           "the retry, sent from the store")
    expect(h.p.poll() is None, "fev-webhooks still runs", h.logtext())
    h.stop()
    rx.close()


def test_a_queue_is_refused_with_what_to_do(f):
    start_fevd(f)  # fevd's default config has the queue "events"
    h = Hooks(f, "[endpoint q]\nurl = http://x/\nqueue = events\n"
                 "secret = %s\n" % SECRET)
    r = subprocess.run([os.environ["FEV_WEBHOOKS"], "--check-config",
                        "--config", h.conf], capture_output=True,
                       text=True, timeout=30)
    expect(r.returncode == 2 and "queue 'events' refused" in r.stderr and
           "fev topic create events" in r.stderr,
           "the key queue is refused, saying what to do", r.stderr)
    # A topic name that is a queue's: said in the log, nothing consumed.
    rx = Receiver([SECRET])
    h.write(endpoint("q", rx.url, topic="events"))
    h.start()
    h.wait(lambda: "queue 'events' refused" in h.logtext(), 10,
           "the refusal logged")
    publish(f, ["kept"], queue="events")
    time.sleep(1)
    expect(not rx.got(), "nothing taken from the queue", rx.got())
    r = f.fev("sub", "events", "-n", "1", "--timeout", "5s")
    expect(r.returncode == 0 and "kept" in r.stdout,
           "the queue's consumers still have the event", r.stdout, r.stderr)
    h.stop()
    rx.close()


def test_a_database_of_an_earlier_schema_is_refused(f):
    h = Hooks(f, endpoint("e", "http://x/"))
    with sqlite3.connect(h.db) as db:  # version 1: no user_version
        db.execute("CREATE TABLE deliveries(id INTEGER PRIMARY KEY,"
                   " fp BLOB NOT NULL)")
    r = subprocess.run([os.environ["FEV_WEBHOOKS"], "ctl", "--config",
                        h.conf, "status"], capture_output=True, text=True,
                       timeout=30)
    expect(r.returncode == 1 and "earlier fev-webhooks" in r.stderr,
           "an old database is refused, not read wrongly", r.returncode,
           r.stderr)


if __name__ == "__main__":
    only = sys.argv[1:]  # names to run, for a person debugging one
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_") and
                   (not only or any(o in k for o in only))],
                  needs=("FEVD", "FEV_WEBHOOKS")))
