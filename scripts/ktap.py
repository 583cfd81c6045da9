#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the serial console log of a test boot, parses the KTAP document the
guest printed, prints every failure with its log excerpt, checks the whole
log for kernel splats, and ends with the line `N passed, N failed`.

Exit status: 0 only if every test passed, the boot completed and no splat
was found.

    ktap.py LOG [--label NAME] [--summary-file FILE]
"""
import argparse
import re
import sys

SPLATS = [
    r"BUG:", r"WARNING:", r"Oops", r"general protection fault",
    r"Kernel panic", r"panicked at", r"possible circular locking",
    r"possible recursive locking", r"inconsistent lock state",
    r"INFO: possible", r"suspicious RCU usage", r"bad unlock balance",
    r"held lock freed", r"lock held when returning", r"UBSAN",
    r"nobody cared", r"blocked for more than", r"rcu: INFO:",
    r"detected stall", r"self-detected stall", r"ODEBUG", r"refcount_t:",
    r"list_add corruption", r"list_del corruption", r"Call Trace:",
    r"Unbalanced enable for IRQ", r"soft lockup", r"hard LOCKUP",
]
SPLAT_RE = re.compile("|".join(SPLATS))
# Lines that mention these words without being splats.
BENIGN_RE = re.compile(r"lockdep: fixing up alternatives|Lock dependency validator|"
                       r"KASAN: (?:shadow|initialized|instrumented)|kasan: KernelAddressSanitizer|"
                       r"^\s*# |^\s*(not )?ok \d")
TS_RE = re.compile(r"^\[\s*\d+\.\d+\]\s?")
RESULT_RE = re.compile(r"^(\s*)(not ok|ok) (\d+)\s*-?\s*(.*)$")


def block(lines, begin, end):
    try:
        i = lines.index(begin)
    except ValueError:
        return None
    out = []
    for line in lines[i + 1:]:
        if line == end:
            return out
        out.append(line)
    return out


def parse_ktap(lines):
    """Returns (passed, failed, skipped, failures) counting leaf tests.

    A result line is a leaf unless deeper result lines preceded it since the
    last result at its own depth (then it closes a subtest). A subtest that
    says `not ok` without any failing leaf (a crash, a bad exit) counts as
    one failure itself.
    """
    passed = failed = skipped = 0
    failures = []
    # Per depth: did deeper results appear, did a deeper one fail.
    had_children = {}
    child_failed = {}
    diag = {}
    for line in lines:
        m = RESULT_RE.match(line)
        if not m:
            depth = (len(line) - len(line.lstrip(" "))) // 4
            diag.setdefault(depth, []).append(line)
            continue
        depth = len(m.group(1)) // 4
        ok = m.group(2) == "ok"
        name = m.group(4)
        children = had_children.pop(depth + 1, False)
        kids_failed = child_failed.pop(depth + 1, False)
        excerpt = diag.pop(depth, []) + diag.pop(depth + 1, [])
        for d in list(diag):
            if d > depth:
                diag.pop(d)
        had_children[depth] = True
        if not ok:
            child_failed[depth] = True
        if children:
            if not ok and not kids_failed:
                failed += 1
                failures.append((name, excerpt))
            continue
        if "# SKIP" in name:
            skipped += 1
        elif ok:
            passed += 1
        else:
            failed += 1
            failures.append((name, excerpt))
    return passed, failed, skipped, failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--label", default="")
    ap.add_argument("--summary-file")
    args = ap.parse_args()
    with open(args.log, errors="replace") as f:
        raw = [line.rstrip("\r\n") for line in f]
    label = f"[{args.label}] " if args.label else ""

    ktap = block(raw, "WL-KTAP-BEGIN", "WL-KTAP-END")
    problems = []
    if ktap is None:
        problems.append("the guest printed no KTAP (boot failed, crashed or timed out)")
        ktap = []
    passed, failed, skipped, failures = parse_ktap(ktap)
    if "WL-DONE" not in raw:
        problems.append("the guest did not finish (no WL-DONE)")
    if any(line.startswith("WL-TIMEOUT") for line in raw):
        problems.append("QEMU was killed by the timeout")

    splats = []
    for i, line in enumerate(raw):
        text = TS_RE.sub("", line)
        if SPLAT_RE.search(text) and not BENIGN_RE.search(text):
            splats.append(i)

    for name, excerpt in failures:
        print(f"{label}FAIL: {name}")
        for line in excerpt[-25:]:
            print(f"    | {line}")
    if splats:
        print(f"{label}FAIL: kernel splat in the log ({len(splats)} lines):")
        shown = 0
        for i in splats:
            for line in raw[max(0, i - 2):i + 12]:
                print(f"    | {line}")
            print("    | ...")
            shown += 1
            if shown == 3:
                break
        failed += 1
    for p in problems:
        print(f"{label}FAIL: {p}")
        failed += 1
    if problems:
        print(f"{label}last lines of {args.log}:")
        for line in raw[-30:]:
            print(f"    | {line}")
    if skipped:
        print(f"{label}{skipped} skipped")
    summary = f"{passed} passed, {failed} failed"
    print(f"{label}{summary}")
    if args.summary_file:
        with open(args.summary_file, "w") as f:
            f.write(f"{passed} {failed}\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
