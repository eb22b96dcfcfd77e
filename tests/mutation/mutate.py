#!/usr/bin/env python3
"""The mutant specs of tests/mutation/*.mut: read, check, apply, and the
scratch copy they are applied to.  Driven by scripts/mutation.sh.

A spec is a few "key: value" lines, then one or more find/replace pairs:

    id: ring-r1-commit-relaxed          (the file name without .mut)
    breaks: one line saying what the mistake breaks
    file: libfabric-ev/src/ring.h       (relative to the repository root)
    tier: tsan                          (fast | stress | fault | tsan)
    tests: test_ring_shared             (optional: a ctest -R regex)
    --- find
    <exact lines of the file>
    --- replace
    <the lines that replace them>

Each find text must occur exactly once in the file: a spec that matches
nowhere, or twice, no longer says which mistake it plants, and is an error
(exit 3), never skipped.
"""
import os
import shutil
import subprocess
import sys

TIERS = ("fast", "stress", "fault", "tsan")
KEYS = ("id", "breaks", "file", "tier", "tests")
ERROR_EXIT = 3


class SpecError(Exception):
    pass


def parse(path):
    """A spec as a dict: the keys above plus "edits", [(find, replace)]."""
    spec = {"tests": "", "edits": []}
    block = None  # "find" or "replace" while inside one
    lines = {"find": [], "replace": []}

    def close_pair():
        if block == "find":
            raise SpecError(f"{path}: '--- find' without '--- replace'")
        if block is not None:
            spec["edits"].append(("".join(lines["find"]),
                                  "".join(lines["replace"])))

    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            marker = line.rstrip("\n")
            if marker == "--- find":
                close_pair()
                block, lines = "find", {"find": [], "replace": []}
            elif marker == "--- replace" and block == "find":
                block = "replace"
            elif block is not None:
                lines[block].append(line)
            elif marker.strip() == "" or marker.startswith("#"):
                continue
            else:
                key, sep, value = marker.partition(":")
                if not sep or key not in KEYS:
                    raise SpecError(f"{path}:{n}: expected one of "
                                    f"{', '.join(KEYS)} before '--- find'")
                spec[key] = value.strip()
    close_pair()
    stem = os.path.basename(path)[:-len(".mut")]
    for key in ("id", "breaks", "file", "tier"):
        if not spec.get(key):
            raise SpecError(f"{path}: '{key}:' is missing")
    if spec["id"] != stem:
        raise SpecError(f"{path}: id '{spec['id']}' is not the file name")
    if spec["tier"] not in TIERS:
        raise SpecError(f"{path}: tier must be one of {', '.join(TIERS)}")
    if not spec["edits"]:
        raise SpecError(f"{path}: needs '--- find' then '--- replace'")
    return spec


def load_all(spec_dir):
    specs = [parse(os.path.join(spec_dir, name))
             for name in sorted(os.listdir(spec_dir)) if name.endswith(".mut")]
    if not specs:
        raise SpecError(f"{spec_dir}: no *.mut specs")
    return specs


def find_spec(spec_dir, mutant_id):
    path = os.path.join(spec_dir, mutant_id + ".mut")
    if not os.path.exists(path):
        raise SpecError(f"no mutant '{mutant_id}' (see --list)")
    return parse(path)


def mutated_text(spec, src_root):
    """The file's text with every edit made; SpecError when one no longer
    applies exactly once."""
    path = os.path.join(src_root, spec["file"])
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise SpecError(f"{spec['id']}: {spec['file']}: {e.strerror}")
    for i, (find, replace) in enumerate(spec["edits"], 1):
        count = text.count(find)
        if count != 1:
            where = "nowhere" if count == 0 else f"{count} times"
            raise SpecError(f"{spec['id']}: find #{i} matches {where} in "
                            f"{spec['file']}: refresh the spec")
        text = text.replace(find, replace)
    return text


def write_file(path, text):
    # A new mtime on every write: ninja rebuilds what changed.
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def cmd_list(spec_dir):
    for s in load_all(spec_dir):
        print("\t".join((s["id"], s["tier"], s["tests"] or "-", s["file"],
                         s["breaks"])))


def cmd_check(spec_dir, src_root):
    """Every spec applies to src_root; prints one line per one that does not."""
    bad = 0
    for s in load_all(spec_dir):
        try:
            mutated_text(s, src_root)
        except SpecError as e:
            print(e)
            bad += 1
    return ERROR_EXIT if bad else 0


def cmd_apply(spec_dir, mutant_id, src_root, dst_root):
    s = find_spec(spec_dir, mutant_id)
    write_file(os.path.join(dst_root, s["file"]), mutated_text(s, src_root))


def cmd_restore(spec_dir, mutant_id, src_root, dst_root):
    s = find_spec(spec_dir, mutant_id)
    shutil.copyfile(os.path.join(src_root, s["file"]),
                    os.path.join(dst_root, s["file"]))


def cmd_sync(src_root, dst_root):
    """Make dst_root a copy of the working tree's tracked and untracked,
    not ignored, files.  Only files whose content differs are written, so
    an incremental build rebuilds only what changed since the last run."""
    out = subprocess.run(["git", "-C", src_root, "ls-files", "-z", "-co",
                          "--exclude-standard"], check=True,
                         capture_output=True).stdout
    wanted = set(p for p in out.decode().split("\0") if p)
    for rel in sorted(wanted):
        src = os.path.join(src_root, rel)
        dst = os.path.join(dst_root, rel)
        if not os.path.isfile(src):
            continue  # deleted in the working tree, not yet in git
        with open(src, "rb") as f:
            data = f.read()
        try:
            with open(dst, "rb") as f:
                if f.read() == data:
                    continue
        except OSError:
            os.makedirs(os.path.dirname(dst), exist_ok=True)
        with open(dst, "wb") as f:
            f.write(data)
        shutil.copymode(src, dst)
    for dirpath, _, files in os.walk(dst_root):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), dst_root)
            if rel not in wanted:
                os.remove(os.path.join(dirpath, name))


def main(argv):
    cmds = {
        "list": (cmd_list, 1),
        "check": (cmd_check, 2),
        "apply": (cmd_apply, 4),
        "restore": (cmd_restore, 4),
        "sync": (cmd_sync, 2),
    }
    if len(argv) < 2 or argv[1] not in cmds or \
            len(argv) - 2 != cmds[argv[1]][1]:
        print("usage: mutate.py list DIR | check DIR SRC | "
              "apply DIR ID SRC DST | restore DIR ID SRC DST | sync SRC DST",
              file=sys.stderr)
        return 2
    fn, _ = cmds[argv[1]]
    try:
        return fn(*argv[2:]) or 0
    except SpecError as e:
        print(f"mutation: {e}", file=sys.stderr)
        return ERROR_EXIT


if __name__ == "__main__":
    sys.exit(main(sys.argv))
