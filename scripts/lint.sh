#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make lint`: rustfmt --check with the kernel tree's .rustfmt.toml, and a
# clippy build (CLIPPY=1, the clippy that matches rustc) of every module.
. "$(dirname "$0")/common.sh"

"$WL_ROOT/scripts/bootstrap.sh" --check
kdir=$("$WL_ROOT/scripts/kernel-build.sh" fast)
src=$(readlink -f "$kdir/source" 2>/dev/null || true)
[ -f "$src/.rustfmt.toml" ] || src=$("$WL_ROOT/scripts/kernel-source.sh")
[ -x "$WL_RUSTFMT" ] || wl_die "$WL_RUSTFMT missing: run 'make setup'"

# hostcheck/old/ holds the adapters of `make modelcheck OLD=`, whose module
# paths resolve only in the copy that run makes (rustfmt would follow them).
mapfile -t files < <(cd "$WL_ROOT" && git ls-files '*.rs' ':!hostcheck/old/**' 2>/dev/null || find src samples -name '*.rs')
wl_stage "lint: rustfmt --check (${#files[@]} files)"
(cd "$WL_ROOT" && "$WL_RUSTFMT" --edition 2021 --config-path "$src/.rustfmt.toml" --check "${files[@]}") ||
	wl_die "rustfmt found unformatted code: run '$WL_RUSTFMT --edition 2021 --config-path $src/.rustfmt.toml <file>'"

wl_stage "lint: sample sizes (no file over 300 lines, no function over 60)"
(cd "$WL_ROOT" && python3 scripts/fn-length.py samples/*/*.rs) ||
	wl_die "a sample is over its size limits (above): split the file or the function"

wl_stage "lint: clippy build"
out="$WL_ROOT/out/lint"
rm -rf "$out"
mkdir -p "$out"
log="$WL_CACHE/logs/lint.log"
make -C "$kdir" M="$WL_ROOT" MO="$out" $(wl_kmake_args) CLIPPY=1 CLIPPY_DRIVER="$WL_CLIPPY_DRIVER" modules >"$log" 2>&1 ||
	{ tail -n 40 "$log" >&2; wl_die "clippy build failed (log: $log)"; }
if grep -q "^warning\|^error" "$log"; then
	grep -A12 "^warning\|^error" "$log" | head -80 >&2
	wl_die "clippy reported problems (log: $log)"
fi
wl_stage "lint: clean"
