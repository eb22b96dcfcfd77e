"""Every error path of fev prints one sentence ('fev: ...') and exits with
the documented code: 1 for errors, 2 for usage errors."""
import os
import socket
import subprocess
import sys
import time

from fevtool import expect, expect_rc, expect_sentence, main, \
    skip_unless_root, wait_until


def test_every_command_has_help_with_examples_and_exit_codes(f):
    for args in (["--help"], ["stat", "--help"], ["pub", "--help"],
                 ["sub", "--help"], ["queue", "--help"], ["help"]):
        r = f.fev(*args)
        expect_rc(r, 0, " ".join(args))
        expect("Usage: fev" in r.stdout and "Examples:" in r.stdout and
               "Exit status: 0" in r.stdout, "help text of %s" % args,
               r.stdout)
        expect("--instance" in r.stdout, "help names --instance", args)
        wide = [l for l in r.stdout.splitlines() if len(l) > 80]
        expect(not wide, "help fits 80 columns", wide)


def test_no_command_is_a_usage_error(f):
    r = f.fev()
    expect_rc(r, 2, "fev alone")
    expect("Usage: fev" in r.stderr, "usage on stderr", r.stderr)


def test_unknown_command_and_option_are_usage_errors(f):
    expect_sentence(f.fev("frobnicate"), 2, "unknown command 'frobnicate'")
    expect_sentence(f.fev("stat", "--bogus"), 2, "unknown option '--bogus'",
                    "fev stat --help")
    expect_sentence(f.fev("pub", "-Z", "q"), 2, "unknown option '-Z'")
    expect_sentence(f.fev("sub", "q", "--timeout"), 2,
                    "option '--timeout' needs a value")


def test_bad_values_are_usage_errors(f):
    expect_sentence(f.fev("sub", "q", "--timeout", "soon"), 2,
                    "bad --timeout 'soon'")
    expect_sentence(f.fev("sub", "q", "--format", "xml"), 2,
                    "bad --format 'xml'")
    expect_sentence(f.fev("pub", "q", "--rate", "fast"), 2, "bad --rate")
    expect_sentence(f.fev("pub", "q", "--size", "big"), 2, "bad --size")
    expect_sentence(f.fev("pub", "q", "-m", "a", "--size", "3"), 2,
                    "choose one of")
    expect_sentence(f.fev("stat", "-w", "--prometheus"), 2, "--prometheus")
    expect_sentence(f.fev("stat", "-n", "3"), 2, "--count goes with --watch")
    expect_sentence(f.fev("stat", "-w", "0"), 2, "bad --watch interval")
    expect_sentence(f.fev("queue", "create", "q", "--capacity", "100"), 2,
                    "power of two")
    expect_sentence(f.fev("queue", "create", "q", "--policy", "maybe"), 2,
                    "policy 'maybe' is not block, reject or drop-oldest")
    expect_sentence(f.fev("queue", "explode"), 2, "unknown action")


def test_missing_queue_argument_is_a_usage_error(f):
    expect_sentence(f.fev("pub", "-m", "x"), 2, "which queue?")
    expect_sentence(f.fev("sub"), 2, "which queue?")
    expect_sentence(f.fev("queue", "create"), 2, "needs a queue name")


def test_bad_queue_name_is_a_usage_error(f):
    for args in (["pub", "no/slash", "-m", "x"], ["sub", "a b"],
                 ["stat", "x" * 64], ["queue", "create", "bad/name"],
                 ["queue", "delete", "sp ace"]):
        expect_sentence(f.fev(*args), 2, "bad queue name")


def test_bad_instance_name_is_a_usage_error(f):
    expect_sentence(f.fev("--instance", "a.b", "stat"), 2,
                    "bad instance name 'a.b'")
    expect_sentence(f.fev("stat", "--instance", "x/y"), 2,
                    "bad instance name")
    expect_sentence(f.fev("stat", env={"FEV_INSTANCE": "dots.not.ok"}), 2,
                    "bad instance name 'dots.not.ok'")


def test_instance_option_beats_the_environment(f):
    f.create("jobs")
    r = f.fev("--instance", f.instance, "stat", "--json", "-i", "0",
              env={"FEV_INSTANCE": "elsewhere"})
    expect_rc(r, 0, "global --instance")
    expect('"name":"jobs"' in r.stdout, "queue seen", r.stdout)
    r = f.fev("stat", "-I", f.instance, "--json", "-i", "0",
              env={"FEV_INSTANCE": "elsewhere"})
    expect('"name":"jobs"' in r.stdout, "queue seen with -I", r.stdout)


def test_no_such_queue_is_an_error_with_a_hint(f):
    for args in (["pub", "ghost", "-m", "x"], ["sub", "ghost", "-n", "1"]):
        expect_sentence(f.fev(*args), 1, "no queue 'ghost' in instance %s"
                        % f.instance, "fev queue create ghost")
    expect_sentence(f.fev("stat", "ghost", "-i", "0"), 1,
                    "no queue 'ghost' in instance")


def test_permission_denied_on_a_queue_is_an_error(f):
    skip_unless_root("cannot run a command as another user")
    f.create("private")
    os.chmod("/dev/shm/fev.%s.private" % f.instance, 0o600)
    r = f.fev("pub", "private", "-m", "x",
              prefix=["setpriv", "--reuid", "65534", "--regid", "65534",
                      "--clear-groups"])
    expect_sentence(r, 1, "permission denied on queue 'private'")


def test_full_queue_with_reject_policy_is_an_error(f):
    f.create("tiny", capacity=2, policy="reject")
    expect_sentence(f.fev("pub", "tiny", "-m", "x", "--count", "3"), 1,
                    "is full and its policy is reject",
                    "published 2 events")


def test_full_blocking_queue_fails_after_the_timeout(f):
    f.create("tiny", capacity=2)
    t0 = time.monotonic()
    r = f.fev("pub", "tiny", "-m", "x", "--count", "3", "--timeout", "200ms")
    expect_sentence(r, 1, "stayed full", "published 2 events")
    expect(time.monotonic() - t0 < 10, "gave up")


def test_event_larger_than_max_event_is_an_error(f):
    f.create("small", max_event=8)
    expect_sentence(f.fev("pub", "small", "-m", "123456789"), 1,
                    "9 bytes is larger", "max event 8 bytes")
    expect_sentence(f.fev("pub", "small", "--whole", input="x" * 100), 1,
                    "larger")


def test_sub_times_out_with_fewer_events_than_asked(f):
    f.create("jobs")
    expect_rc(f.fev("pub", "jobs", "-m", "x"), 0, "pub")
    r = f.fev("sub", "jobs", "-n", "3", "--timeout", "200ms")
    expect_sentence(r, 1, "timed out: 1 of 3 events")
    expect(r.stdout == "x\n", "the one event is printed", r.stdout)


def test_deleting_the_queue_under_sub_is_an_error(f):
    f.create("jobs")
    sub = f.spawn([os.environ["FEV"], "sub", "jobs", "--timeout", "20s"],
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until(lambda: f.consumers("jobs") == 1, what="sub to attach")
    f.helper("delete", "jobs")
    _, err = sub.communicate(timeout=20)
    expect(sub.returncode == 1 and err == "fev: queue 'jobs' was deleted\n",
           "sub sees the delete", sub.returncode, err)


def test_queue_commands_without_fevd_say_how_to_start_it(f):
    for args in (["queue", "list"], ["queue", "create", "q"],
                 ["queue", "delete", "q"]):
        expect_sentence(f.fev(*args), 1,
                        "fevd is not running for instance %s (no control "
                        "socket at %s): start it with 'fevd --instance %s'"
                        % (f.instance, f.socket, f.instance))


def test_stale_control_socket_says_fevd_is_not_running(f):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(f.socket)  # bound, never listening: what a dead fevd leaves
    try:
        expect_sentence(f.fev("queue", "list"), 1,
                        "fevd is not running for instance %s" % f.instance,
                        f.socket)
    finally:
        s.close()


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")]))
