"""fev stat's topic and consumer-group views against the real fevd: per
topic its partitions, per group and partition its lag, members (pids) and
redeliveries, and for an ordered group its mode and which member owns
which partition under which generation, in the table, --json and
--prometheus (checked by promtool); a plain queue's output has none of
it."""
import json
import os
import signal
import subprocess
import sys

from fevtool import (PROMTOOL, expect, expect_rc, main, start_fevd,
                     wait_until)


def stat_json(f, *args):
    r = f.fev("stat", "--json", "-i", "0", *args)
    expect_rc(r, 0, "stat --json")
    return json.loads(r.stdout)


def group(doc, topic, name):
    for t in doc["topics"]:
        for g in t["groups"] if t["name"] == topic else []:
            if g["name"] == name:
                return g
    raise AssertionError("no group %s of %s in %s" % (name, topic,
                                                       doc["topics"]))


def by_partition(g, what):
    return [p[what] for p in g["partitions"]]


def topic_with_two_groups(f):
    """orders: 2 partitions; billing and audit read it, default too.
    Three events in partition 1, one in partition 0."""
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions", "2",
                    "--capacity", "16"), 0, "topic create")
    for g in ("billing", "audit"):
        expect_rc(f.fev("group", "create", "orders", g), 0, "group " + g)
    expect_rc(f.fev("pub", "orders@1", "-m", "e", "--count", "3"), 0, "pub")
    expect_rc(f.fev("pub", "orders", "-m", "e"), 0, "pub")


def test_lag_members_and_redeliveries_per_group_and_partition(f):
    topic_with_two_groups(f)
    expect_rc(f.fev("sub", "orders@1", "--group", "billing", "-n", "1",
                    "--timeout", "5s"), 0, "billing takes one")
    # audit: a member that stays, having read all of partition 1.
    m = f.spawn([os.environ["FEV"], "sub", "orders@1", "--group", "audit"],
                stdout=subprocess.DEVNULL)
    wait_until(lambda: by_partition(group(stat_json(f, "orders"), "orders",
                                          "audit"), "lag") == [1, 0],
               what="audit's member to read partition 1")
    doc = stat_json(f, "orders")
    expect([q["name"] for q in doc["queues"]] == ["orders", "orders@1"],
           "fev stat TOPIC shows every partition", doc["queues"])
    t = doc["topics"][0]
    expect(t["name"] == "orders" and t["partitions"] == 2 and
           [(p["partition"], p["depth"], p["capacity"])
            for p in t["readable"]] == [(0, 1, 16), (1, 3, 16)] and
           t["depth"] == 4 and t["capacity"] == 32,
           "the topic's partitions, depth and capacity", t)
    expect([g["name"] for g in t["groups"]] == ["default", "billing",
                                                 "audit"], "every group", t)
    d, b, a = (group(doc, "orders", n) for n in ("default", "billing",
                                                  "audit"))
    expect(by_partition(d, "lag") == [1, 3] and d["lag"] == 4,
           "default read nothing", d)
    expect(by_partition(b, "lag") == [1, 2] and b["lag"] == 3,
           "billing read one of partition 1", b)
    expect(by_partition(a, "members") == [[], [m.pid]],
           "audit's member is listed in the partition it reads", a)
    expect(a["policy"] == "block", "the policy", a)
    # A member that dies holding an event: fevd gives it back to billing.
    with open("/dev/full", "w") as full:
        r = subprocess.run([os.environ["FEV"], "sub", "orders@1", "--group",
                            "billing", "-n", "1", "--timeout", "5s"],
                           stdout=full, stderr=subprocess.PIPE, env=f.env,
                           timeout=30)
    expect(r.returncode == 1, "the member failed holding it", r.stderr)
    b = wait_until(lambda: (lambda g: g if g["redelivered"] == 1 else None)
                   (group(stat_json(f, "orders"), "orders", "billing")),
                   what="fevd to redeliver to billing")
    expect(by_partition(b, "redelivered") == [0, 1] and
           by_partition(b, "lag") == [1, 2],
           "redelivered once in partition 1, still owed", b)
    expect(group(stat_json(f), "orders", "audit")["redelivered"] == 0,
           "no other group sees it")
    # The table: a topic section after the queue rows.
    r = f.fev("stat", "-i", "0")
    expect_rc(r, 0, "stat")
    lines = r.stdout.splitlines()
    expect("topic orders: 2 partitions, depth/capacity 0:1/16 1:3/16, "
           "all 4/32" in lines, "the topic's line", r.stdout)
    row = [l.split() for l in lines if l.split()[:1] == ["audit"]]
    expect(row == [["audit", "block", "shared", "0", "1", "0", "0", "-",
                    "-", "-"]],
           "audit's first row: partition 0, lag 1, no member", r.stdout)
    expect(["1", "0", "0", "0", "-", "-", str(m.pid)] in
           [l.split() for l in lines],
           "its partition 1 row names the member", r.stdout)
    m.kill()
    m.wait(timeout=10)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_prometheus_group_series_pass_promtool(f):
    topic_with_two_groups(f)
    expect_rc(f.fev("sub", "orders@1", "--group", "billing", "-n", "2",
                    "--timeout", "5s"), 0, "billing takes two")
    r = f.fev("stat", "--prometheus", "-i", "0")
    expect_rc(r, 0, "stat --prometheus")
    for series, value in (("lag_events", 1), ("members", 0),
                          ("redelivered_events_total", 0)):
        sample = ('fev_group_%s{fabric="%s",topic="orders",group="billing",'
                  'partition="1"} %d' % (series, f.instance, value))
        expect(sample in r.stdout.splitlines(), "sample " + sample,
               r.stdout)
    expect('fev_group_lag_events{fabric="%s",topic="orders",group="audit",'
           'partition="1"} 3' % f.instance in r.stdout, "audit's lag",
           r.stdout)
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=r.stdout,
                           capture_output=True, text=True, timeout=30)
        expect(p.returncode == 0, "promtool check metrics", p.stdout,
               p.stderr)
    else:
        print("  (promtool not installed: the format is not checked)")
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_a_drop_group_shows_what_it_lost(f):
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "logs", "--capacity", "16"), 0,
              "topic create")
    expect_rc(f.fev("group", "delete", "logs", "default"), 0, "delete")
    expect_rc(f.fev("group", "create", "logs", "keep"), 0, "keep")
    expect_rc(f.fev("group", "create", "logs", "lossy", "--policy", "drop"),
              0, "lossy")
    expect_rc(f.fev("pub", "logs", "-m", "e", "--count", "16"), 0, "fill")
    expect_rc(f.fev("sub", "logs", "--group", "keep", "-n", "16",
                    "--timeout", "5s"), 0, "keep reads all")
    # Only lossy, a drop group, holds the ring: its 4 oldest go.
    expect_rc(f.fev("pub", "logs", "-m", "e", "--count", "4",
                    "--timeout", "5s"), 0, "pub past lossy")
    g = group(stat_json(f), "logs", "lossy")
    expect(g["policy"] == "drop" and g["dropped"] == 4 and
           by_partition(g, "dropped") == [4] and g["lag"] == 16,
           "lossy lost 4, owes 16", g)
    expect(group(stat_json(f), "logs", "keep")["dropped"] == 0, "keep")
    r = f.fev("stat", "--prometheus", "-i", "0")
    sample = ('fev_group_dropped_events_total{fabric="%s",topic="logs",'
              'group="lossy",partition="0"} 4' % f.instance)
    expect(sample in r.stdout.splitlines(), "the dropped series", r.stdout)
    r = f.fev("stat", "-i", "0")
    expect(["lossy", "drop", "shared", "0", "16", "0", "4", "-", "-", "-"] in
           [l.split() for l in r.stdout.splitlines()], "the table's row",
           r.stdout)
    expect_rc(f.fev("topic", "delete", "logs"), 0, "topic delete")


def promtool_check(text):
    if PROMTOOL:
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
        expect(p.returncode == 0, "promtool check metrics", p.stdout,
               p.stderr)
    else:
        print("  (promtool not installed: the format is not checked)")


def join(f, topic, group):
    """A member of an ordered group (fevtest-helper member), once joined."""
    m = f.spawn([os.environ["FEVTEST_HELPER"], "member", f.instance, topic,
                 group, "60"], stdout=subprocess.PIPE)
    line = m.stdout.readline()
    expect(line == b"joined\n", "the member joined", line)
    return m


def owners(doc, topic, name):
    g = group(doc, topic, name)
    return [(p["partition"], p["owner_pid"]) for p in g["partitions"]]


def test_an_ordered_group_shows_who_owns_which_partition(f):
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions", "4",
                    "--capacity", "16"), 0, "topic create")
    expect_rc(f.fev("group", "create", "orders", "keyed", "--ordered"), 0,
              "ordered group")
    doc = stat_json(f, "orders")
    k = group(doc, "orders", "keyed")
    expect(k["mode"] == "ordered" and
           group(doc, "orders", "default")["mode"] == "shared",
           "each group's mode", doc["topics"])
    expect(by_partition(k, "owner_pid") == [None] * 4 and
           by_partition(k, "next_pid") == [None] * 4,
           "nobody owns a partition before a member joins", k)
    expect("owner_pid" not in group(doc, "orders", "default")
           ["partitions"][0], "a shared group has no owners", doc)
    a = join(f, "orders", "keyed")
    wait_until(lambda: set(by_partition(group(stat_json(f, "orders"),
                                              "orders", "keyed"),
                                        "owner_pid")) == {a.pid},
               what="the first member to own all four partitions")
    gen1 = by_partition(group(stat_json(f, "orders"), "orders", "keyed"),
                        "generation")
    # A stopped owner keeps its partitions: the handover fevd asks for
    # waits for a's next call, and the views say so.
    os.kill(a.pid, signal.SIGSTOP)
    b = join(f, "orders", "keyed")
    wait_until(lambda: sorted(filter(None, by_partition(
        group(stat_json(f, "orders"), "orders", "keyed"), "next_pid"))) ==
               [b.pid, b.pid], what="fevd to hand two partitions to b")
    k = group(stat_json(f, "orders"), "orders", "keyed")
    expect(by_partition(k, "owner_pid") == [a.pid] * 4 and
           by_partition(k, "generation") == gen1,
           "pending: a still owns them, at the same generation", k)
    r = f.fev("stat", "-i", "0", "orders")
    pending = "%d->%d" % (a.pid, b.pid)
    expect(sum(w.count(pending) for w in
               [l.split() for l in r.stdout.splitlines()]) == 2,
           "the table shows the pending handovers as " + pending, r.stdout)
    r = f.fev("stat", "--prometheus", "-i", "0")
    expect(sum('owner_pid="%d",next_pid="%d"} 1' % (a.pid, b.pid) in l
               for l in r.stdout.splitlines()) == 2,
           "the owner series shows them", r.stdout)
    promtool_check(r.stdout)
    os.kill(a.pid, signal.SIGCONT)
    # Cooperative-sticky: b takes two of a's four, each at a new generation.
    wait_until(lambda: sorted(p for _, p in owners(stat_json(f, "orders"),
                                                   "orders", "keyed")) ==
               sorted([a.pid, a.pid, b.pid, b.pid]),
               what="the second member to take two partitions")
    k = group(stat_json(f, "orders"), "orders", "keyed")
    gen2 = by_partition(k, "generation")
    moved = [p["partition"] for p in k["partitions"]
             if p["owner_pid"] == b.pid]
    expect(all(gen2[p] > gen1[p] for p in moved) and
           all(gen2[p] == gen1[p] for p in range(4) if p not in moved) and
           by_partition(k, "next_pid") == [None] * 4,
           "a moved partition's generation grew, the others' did not",
           gen1, k)
    # The table: MODE on the group's first row, OWNER and GEN per row.
    r = f.fev("stat", "-i", "0", "orders")
    expect_rc(r, 0, "stat")
    rows = [l.split() for l in r.stdout.splitlines()]
    expect(any(w[:3] == ["GROUP", "POLICY", "MODE"] and "OWNER" in w and
               "GEN" in w for w in rows), "the header", r.stdout)
    want = [(p["partition"], p["owner_pid"], p["generation"])
            for p in k["partitions"]]
    first = [w[:1] for w in rows].index(["keyed"])
    expect(rows[first][:3] == ["keyed", "block", "ordered"],
           "the group's first row names its mode", r.stdout)
    # PART LAG REDLV DROP OWNER GEN, then the members.
    cells = [rows[first][3:]] + rows[first + 1:first + 4]
    got = [(int(c[0]), int(c[4]), int(c[5])) for c in cells]
    expect(got == want and
           all(sorted(map(int, c[6:])) == sorted([a.pid, b.pid])
               for c in cells),
           "a row per partition with its owner, generation and members",
           want, r.stdout)
    expect(["default", "block", "shared", "0", "0", "0", "0", "-", "-", "-"]
           in rows, "a shared group's row: no owner, no generation",
           r.stdout)
    # Prometheus: generation and owner per partition, passing promtool.
    r = f.fev("stat", "--prometheus", "-i", "0")
    expect_rc(r, 0, "stat --prometheus")
    for p, pid, gen in want:
        labels = ('fabric="%s",topic="orders",group="keyed",partition="%d"'
                  % (f.instance, p))
        for sample in ("fev_group_partition_owner_generation{%s} %d"
                       % (labels, gen),
                       'fev_group_partition_owner_info{%s,owner_pid="%d",'
                       'next_pid=""} 1' % (labels, pid)):
            expect(sample in r.stdout.splitlines(), "sample " + sample,
                   r.stdout)
    expect('group="default"' not in "".join(
        l for l in r.stdout.splitlines() if "partition_owner" in l),
           "no owner series for a shared group", r.stdout)
    promtool_check(r.stdout)
    for m in (a, b):
        m.kill()
        m.wait(timeout=10)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_a_queue_alone_shows_no_topic_or_group(f):
    start_fevd(f)
    expect_rc(f.fev("queue", "create", "jobs", "--capacity", "16"), 0,
              "queue create")
    doc = stat_json(f)
    expect(doc["topics"] == [], "no topics", doc)
    r = f.fev("stat", "-i", "0")
    expect("topic" not in r.stdout and "GROUP" not in r.stdout,
           "no topic section", r.stdout)
    r = f.fev("stat", "--prometheus", "-i", "0")
    expect("fev_group_" not in r.stdout, "no group series", r.stdout)
    expect_rc(f.fev("queue", "delete", "jobs"), 0, "queue delete")


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")], needs=("FEVD",)))
