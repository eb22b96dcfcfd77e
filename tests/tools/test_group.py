"""fev group create|delete|list and fev sub --group against the real fevd:
fan-out to every group, redelivery inside a group after a member exits
holding an event, groups kept across a fevd restart."""
import json
import os
import signal
import subprocess
import sys

from fevtool import expect, expect_rc, expect_sentence, main, wait_until
from test_queue import start_fevd, stop_fevd


def group_rows(f, topic):
    """fev group list's rows, GROUP MODE POLICY SESSION REVOKED, after its
    header."""
    r = f.fev("group", "list", topic)
    expect_rc(r, 0, "group list")
    rows = [l.split() for l in r.stdout.splitlines()]
    expect(rows[:1] == [["GROUP", "MODE", "POLICY", "SESSION", "REVOKED"]],
           "the header", r.stdout)
    return rows[1:]


def groups(f, topic):
    return [row[0] for row in group_rows(f, topic)]


def test_list_shows_each_groups_mode_and_policy(f):
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions", "2"), 0,
              "topic create")
    expect_rc(f.fev("group", "create", "orders", "keyed", "--ordered"), 0,
              "ordered")
    expect_rc(f.fev("group", "create", "orders", "lossy", "--policy",
                    "drop"), 0, "drop")
    expect_rc(f.fev("group", "create", "orders", "quick", "--ordered",
                    "--session-timeout", "1500ms"), 0, "session timeout")
    expect_rc(f.fev("group", "create", "orders", "patient", "--ordered",
                    "--session-timeout", "off"), 0, "no session timeout")
    for bad in (["--session-timeout", "0"], ["--session-timeout", "soon"],
                ["--session-timeout", "10s"]):
        # The last: a session timeout is for ordered groups.
        r = f.fev("group", "create", "orders", "bad", *(
            bad if bad[1] == "10s" else ["--ordered"] + bad))
        expect_rc(r, 2, "usage error: " + " ".join(bad))
        expect("session" in r.stderr, "it says why", r.stderr)
    rows = group_rows(f, "orders")
    expect(rows == [["default", "shared", "block", "-", "-"],
                    ["keyed", "ordered", "block", "30s", "0"],
                    ["lossy", "shared", "drop", "-", "-"],
                    ["quick", "ordered", "block", "1500ms", "0"],
                    ["patient", "ordered", "block", "off", "0"]],
           "mode, policy, session timeout and revocations", rows)
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def sub(f, part, group, n):
    r = f.fev("sub", part, "--group", group, "-n", str(n), "--json",
              "--timeout", "10s")
    expect_rc(r, 0, "sub --group " + group)
    return [json.loads(l) for l in r.stdout.splitlines()]


def test_every_group_gets_every_event_and_keeps_it_across_restarts(f):
    p = start_fevd(f)
    expect_rc(f.fev("topic", "create", "orders", "--partitions", "2",
                    "--capacity", "16"), 0, "topic create")
    expect(groups(f, "orders") == ["default"], "a topic starts with default")
    r = f.fev("group", "create", "orders", "billing")
    expect_rc(r, 0, "group create")
    expect(r.stdout == "created group 'billing' of topic 'orders' in "
           "instance %s\n" % f.instance, "create says so", r.stdout)
    expect_rc(f.fev("group", "create", "orders", "audit", "--start",
                    "earliest"), 0, "group create --start earliest")
    expect_rc(f.fev("group", "delete", "orders", "default"), 0,
              "group delete")
    expect(groups(f, "orders") == ["billing", "audit"], "listed",
           groups(f, "orders"))
    expect_rc(f.fev("pub", "orders@1", "-m", "e", "--count", "3"), 0, "pub")
    for g in ("billing", "audit"):
        evs = sub(f, "orders@1", g, 3)
        expect([e["payload"] for e in evs] == ["e"] * 3 and
               not any(e["redelivered"] for e in evs),
               "group %s sees the three events" % g, evs)
    # A member that exits holding an event: fevd gives it back to its
    # group alone, flagged.
    expect_rc(f.fev("pub", "orders@1", "-m", "again"), 0, "pub")
    with open("/dev/full", "w") as full:
        r = subprocess.run([os.environ["FEV"], "sub", "orders@1", "--group",
                            "billing", "-n", "1", "--timeout", "5s"],
                           stdout=full, stderr=subprocess.PIPE, env=f.env,
                           timeout=30)
    expect(r.returncode == 1, "the member failed holding it", r.stderr)
    ev = sub(f, "orders@1", "billing", 1)[0]
    expect(ev["payload"] == "again" and ev["redelivered"] is True,
           "billing gets it again, flagged", ev)
    ev = sub(f, "orders@1", "audit", 1)[0]
    expect(ev["payload"] == "again" and ev["redelivered"] is False,
           "audit gets it once, unflagged", ev)
    # Groups live in the segments: a restarted fevd serves them as they are.
    stop_fevd(p)
    start_fevd(f)
    expect(groups(f, "orders") == ["billing", "audit"], "after a restart")
    expect_rc(f.fev("topic", "delete", "orders"), 0, "topic delete")


def test_config_groups_are_created_with_their_topic(f):
    conf = os.path.join(f.tmp, "fevd.conf")
    with open(conf, "w") as c:
        c.write("[fabric]\ninstance = %s\ncontrol_socket = %s\n"
                "log_level = warning\n"
                "[topic orders]\npartitions = 2\ncapacity = 16\n"
                "[group orders billing]\nstart = earliest\n" %
                (f.instance, f.socket))
    log = open(os.path.join(f.tmp, "fevd.log"), "w+b")
    p = f.spawn([os.environ["FEVD"], "--config", conf, "--pidfile",
                 os.path.join(f.tmp, "fevd.pid")],
                stdout=subprocess.DEVNULL, stderr=log)
    wait_until(lambda: p.poll() is not None or
               f.fev("group", "list", "orders").returncode == 0,
               what="fevd to create the topic")
    expect(groups(f, "orders") == ["default", "billing"], "configured",
           groups(f, "orders"))
    stop_fevd(p)
    expect_rc(f.fev("topic", "delete", "orders", env={}), 1,
              "fevd is down")
    f.helper("purge")


def test_a_drop_group_loses_its_oldest_and_says_so(f):
    """policy = drop in the config, --policy on the command line: a stopped
    member of a drop group stops neither the producer nor a block group;
    its next event says gap, and fev sub says how many were lost."""
    conf = os.path.join(f.tmp, "fevd.conf")
    with open(conf, "w") as c:
        c.write("[fabric]\ninstance = %s\ncontrol_socket = %s\n"
                "log_level = warning\n"
                "[topic orders]\ncapacity = 16\n"
                "[group orders slow]\npolicy = drop\n" %
                (f.instance, f.socket))
    p = f.spawn([os.environ["FEVD"], "--config", conf, "--pidfile",
                 os.path.join(f.tmp, "fevd.pid")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: p.poll() is not None or
               f.fev("group", "list", "orders").returncode == 0,
               what="fevd to create the topic")
    expect_rc(f.fev("group", "delete", "orders", "default"), 0, "delete")
    expect_rc(f.fev("group", "create", "orders", "billing", "--policy",
                    "block"), 0, "group create --policy block")
    expect_sentence(f.fev("group", "create", "orders", "x", "--policy",
                          "fast"), 2, "policy")
    slow = f.spawn([os.environ["FEV"], "sub", "orders", "--group", "slow",
                    "-n", "1", "--json", "--timeout", "20s"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: f.consumers("orders") == 1, what="the slow member")
    os.kill(slow.pid, signal.SIGSTOP)  # attached, alive, reading nothing
    billing = f.spawn([os.environ["FEV"], "sub", "orders", "--group",
                       "billing", "-n", "100", "--json", "--timeout", "20s"],
                      stdout=subprocess.PIPE, text=True)
    wait_until(lambda: f.consumers("orders") == 2, what="billing")
    r = f.fev("pub", "orders", "-m", "e", "--count", "100", timeout=20)
    expect_rc(r, 0, "the producer is not stopped by the drop group")
    out, _ = billing.communicate(timeout=30)
    evs = [json.loads(l) for l in out.splitlines()]
    expect(len(evs) == 100 and not any(e["gap"] for e in evs),
           "the block group gets all 100, none flagged", len(evs))
    os.kill(slow.pid, signal.SIGCONT)
    out, err = slow.communicate(timeout=30)
    ev = json.loads(out)
    expect(ev["gap"] is True and ev["flags"] == 2, "the next event says gap",
           ev)
    expect("lost events before event %d (policy drop; 84 lost so far)" %
           ev["id"] in err, "fev sub says how many", err)
    stop_fevd(p)
    f.helper("purge")


def test_group_errors_are_sentences(f):
    start_fevd(f)
    expect_rc(f.fev("topic", "create", "t", "--capacity", "16"), 0, "topic")
    expect_rc(f.fev("queue", "create", "q", "--capacity", "16"), 0, "queue")
    expect_rc(f.fev("group", "create", "t", "g"), 0, "create")
    expect_sentence(f.fev("group", "create", "t", "g"), 1, "exists")
    expect_sentence(f.fev("group", "delete", "t", "nope"), 1, "no such")
    expect_sentence(f.fev("group", "create", "nope", "g"), 1, "no such")
    expect_sentence(f.fev("group", "create", "q", "g"), 1, "create a topic")
    expect_sentence(f.fev("group", "create", "t", "bad/name"), 2, "group")
    expect_sentence(f.fev("sub", "t", "--group", "none", "-n", "1",
                          "--timeout", "1s"), 1, "no group")
    # A member is attached: not deleted under it.
    m = f.spawn([os.environ["FEV"], "sub", "t", "--group", "g"],
                stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: f.consumers("t") == 1, what="the member")
        expect_sentence(f.fev("group", "delete", "t", "g"), 1,
                        "members are attached")
    finally:
        m.kill()
        m.wait(timeout=10)
    expect_rc(f.fev("topic", "delete", "t"), 0, "delete")
    expect_rc(f.fev("queue", "delete", "q"), 0, "delete")


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")], needs=("FEVD",)))
