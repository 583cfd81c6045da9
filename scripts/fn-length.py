#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Size limits for the samples: no file over MAX_FILE lines, no function over
MAX_FN lines (a screen). Usage: fn-length.py [--max-fn N] [--max-file N] FILE...

A function spans from its `fn` line to the closing brace at the same
indentation (rustfmt's layout); a declaration without a body is skipped.
Prints one line per violation and exits 1 if there is any."""

import argparse
import re
import sys

FN = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?"
                r"(extern\s+\"C\"\s+)?fn\s+(\w+)")


def functions(lines):
    """Yields (name, first line number, length) for each function body."""
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        indent, name = m.group(1), m.group(8)
        # Find where the signature ends: `{` opens a body, `;` ends a declaration.
        j = i
        while j < len(lines):
            text = lines[j].split("//")[0].rstrip()
            if text.endswith(";") and "{" not in text:
                break
            if "{" in text:
                break
            j += 1
        else:
            continue
        text = lines[j].split("//")[0].rstrip()
        if text.endswith(";") and "{" not in text:
            continue
        if text.endswith("}"):
            yield name, i + 1, j - i + 1
            continue
        close = indent + "}"
        for k in range(j + 1, len(lines)):
            if lines[k].rstrip() == close:
                yield name, i + 1, k - i + 1
                break


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-fn", type=int, default=60)
    ap.add_argument("--max-file", type=int, default=300)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    bad = 0
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
        if len(lines) > args.max_file:
            print(f"{path}: {len(lines)} lines (at most {args.max_file})")
            bad += 1
        for name, line, length in functions(lines):
            if length > args.max_fn:
                print(f"{path}:{line}: fn {name} is {length} lines (at most {args.max_fn})")
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
