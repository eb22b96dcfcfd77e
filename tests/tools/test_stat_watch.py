"""fev stat --watch: redraws in place on a terminal without garbage, and
prints plain frames one after the other when stdout is not a terminal.

No timing decides a result (the tests also run under sanitizers on a loaded
machine): the terminal has its size before fev starts, and every wait is
for a condition, with a deadline far beyond what it should take."""
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

from fevtool import expect, expect_rc, main

HIDE, SHOW = b"\x1b[?25l", b"\x1b[?25h"
HOME, CLEAR, EOL, EOS = b"\x1b[H", b"\x1b[2J", b"\x1b[K", b"\x1b[J"


def run_in_pty(f, args, rows=24, cols=100, stop_after=None, timeout=60,
               resize_after=None, resize_to=None):
    """Run fev in a pseudo-terminal of rows x cols; return (rc, bytes).
    After resize_after frames the terminal becomes resize_to (rows, cols)."""
    pid, fd = pty.fork()
    if pid == 0:
        # Sized by the child, before exec: fev must never see the size a
        # new terminal starts with (sizing it from the parent raced).
        fcntl.ioctl(pty.STDIN_FILENO, termios.TIOCSWINSZ,
                    struct.pack("HHHH", rows, cols, 0, 0))
        os.execve(os.environ["FEV"], ["fev", *args], f.env)
    out, end, sent = b"", time.monotonic() + timeout, False
    while time.monotonic() < end:
        if stop_after and not sent and out.count(HOME) >= stop_after:
            os.kill(pid, signal.SIGINT)
            sent = True
        if resize_after and out.count(EOS) >= resize_after:
            # The kernel sends SIGWINCH to the terminal's foreground job.
            fcntl.ioctl(fd, termios.TIOCSWINSZ,
                        struct.pack("HHHH", *resize_to, 0, 0))
            resize_after = None
        r, _, _ = select.select([fd], [], [], 0.1)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def frames(out):
    """Split the captured bytes into frames; check the envelope.  Frames
    start at the home position; the first (and one after a resize) also
    clears the screen."""
    expect(out.startswith(HIDE + HOME + CLEAR), "starts by hiding the "
           "cursor and clearing the screen", out[:40])
    expect(out.endswith(SHOW), "ends by showing the cursor", out[-40:])
    parts = out[len(HIDE):-len(SHOW)].split(HOME)
    expect(parts[0] == b"", "nothing before the first frame", parts[0])
    return [p[len(CLEAR):] if p.startswith(CLEAR) else p for p in parts[1:]]


def check_frame(fr, rows, cols):
    # The terminal line discipline turns \n into \r\n.
    expect(fr.endswith(EOS), "frame ends by erasing the rest", fr[-40:])
    lines = fr[:-len(EOS)].split(b"\r\n")
    expect(lines[-1] == b"", "frame ends with a whole line", fr[-40:])
    lines = lines[:-1]
    expect(len(lines) < rows, "frame fits the screen: %d lines" % len(lines))
    for l in lines:
        expect(l.endswith(EOL), "each line erased to its end", l)
        text = l[:-len(EOL)]
        expect(b"\x1b" not in text and b"\r" not in text,
               "no stray control bytes in a line", l)
        expect(len(text.decode()) <= cols, "line fits %d columns" % cols, l)
    return [l[:-len(EOL)].decode() for l in lines]


def test_watch_redraws_in_place_on_a_terminal(f):
    f.create("jobs")
    f.create("logs")
    rc, out = run_in_pty(f, ["stat", "-w", "0.1", "-n", "3"])
    expect(rc == 0, "exit code", rc, out[-200:])
    frs = frames(out)
    expect(len(frs) == 3, "three frames", len(frs))
    for fr in frs:
        lines = check_frame(fr, 24, 100)
        expect(lines[0].startswith("fev stat  instance " + f.instance),
               "header", lines)
        expect(lines[1].split()[0] == "QUEUE", "column titles", lines)
        expect([l.split()[0] for l in lines[2:]] == ["jobs", "logs"],
               "one line per queue", lines)


def test_watch_cuts_lines_to_a_narrow_terminal(f):
    f.create("a_queue_with_a_long_name")
    rc, out = run_in_pty(f, ["stat", "-w", "0.1", "-n", "2"], rows=10,
                         cols=40)
    expect(rc == 0, "exit code", rc)
    for fr in frames(out):
        check_frame(fr, 10, 40)


def test_watch_keeps_to_a_short_terminal(f):
    for i in range(12):
        f.create("q%02d" % i)
    rc, out = run_in_pty(f, ["stat", "-w", "0.1", "-n", "2"], rows=6,
                         cols=120)
    expect(rc == 0, "exit code", rc)
    for fr in frames(out):
        expect(len(check_frame(fr, 6, 120)) == 5, "rows - 1 lines")


def test_resized_terminal_is_redrawn_at_once_to_its_new_size(f):
    f.create("a_queue_with_a_long_name")
    # An interval longer than run_in_pty's deadline: only a redraw that
    # the resize itself caused can give the second frame.
    rc, out = run_in_pty(f, ["stat", "-w", "600", "-n", "2"], rows=24,
                         cols=120, resize_after=1, resize_to=(8, 30))
    expect(rc == 0, "exit code (the resize was not redrawn at once)", rc)
    frs = frames(out)
    expect(len(frs) == 2, "two frames", len(frs))
    check_frame(frs[0], 24, 120)
    expect(out.count(HOME + CLEAR) == 2, "the resized frame clears first")
    check_frame(frs[1], 8, 30)


def test_ctrl_c_ends_watch_and_restores_the_cursor(f):
    f.create("jobs")
    rc, out = run_in_pty(f, ["stat", "-w", "0.2"], stop_after=2)
    expect(rc == 0, "exit code after Ctrl-C", rc)
    for fr in frames(out):
        check_frame(fr, 24, 100)


def test_watch_into_a_pipe_prints_plain_frames(f):
    f.create("jobs")
    r = f.fev("stat", "-w", "0.1", "-n", "3")
    expect_rc(r, 0, "stat -w into a pipe")
    expect("\x1b" not in r.stdout, "no escape sequences", r.stdout)
    expect(r.stdout.count("fev stat  instance") == 3, "three frames",
           r.stdout)
    expect(r.stdout.count("\njobs ") == 3, "queue in each", r.stdout)


def test_watch_json_prints_one_document_per_line(f):
    f.create("jobs")
    r = f.fev("stat", "--json", "-w", "0.1", "-n", "3")
    expect_rc(r, 0, "stat --json -w")
    import json
    docs = [json.loads(l) for l in r.stdout.splitlines()]
    expect(len(docs) == 3, "three documents", r.stdout)
    expect(docs[0]["queues"][0]["enqueue_rate"] is None and
           docs[1]["queues"][0]["enqueue_rate"] == 0, "rates from frame 2",
           docs)


if __name__ == "__main__":
    sys.exit(main([v for k, v in sorted(globals().items())
                   if k.startswith("test_")]))
