#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Compile tests: rules the type system enforces, checked by building small
# modules against the fast kernel. tests/compile_fail/NAME.rs must build when
# NAME ends in _ok (the control case) and must fail with a lifetime error
# otherwise. Prints one "ok/FAIL compile_NAME" line each and, last,
# "compile: N passed, N failed".
. "$(dirname "$0")/common.sh"

kdir=$("$WL_ROOT/scripts/kernel-build.sh" fast)
out="$WL_ROOT/out/compile-tests"
rm -rf "$out"
mkdir -p "$out"
pass=0 fail=0
for t in "$WL_ROOT"/tests/compile_fail/*.rs; do
	name=$(basename "$t" .rs)
	case "$name" in *_common) continue ;; esac
	dir="$out/$name"
	mkdir -p "$dir"
	# The crate root and what it includes, with the library at its real path.
	for f in "$t" "$WL_ROOT"/tests/compile_fail/*_common.rs; do
		sed "s|\"../../src/workloop.rs\"|\"$WL_ROOT/src/workloop.rs\"|" "$f" >"$dir/$(basename "$f")"
	done
	mv "$dir/$name.rs" "$dir/${name}_main.rs"
	printf '#include "%s/src/helpers.c"\n' "$WL_ROOT" >"$dir/helpers.c"
	printf 'obj-m := %s.o\n%s-y := %s_main.o helpers.o\n' "$name" "$name" "$name" >"$dir/Kbuild"
	log="$dir/build.log"
	if make -C "$kdir" M="$dir" $(wl_kmake_args) modules >"$log" 2>&1; then built=1; else built=0; fi
	case "$name" in
	*_ok)
		if [ $built = 1 ]; then
			echo "ok compile_$name"; pass=$((pass + 1))
		else
			echo "FAIL compile_$name: does not build (log: $log)"; grep -E '^error' "$log" | head -5; fail=$((fail + 1))
		fi ;;
	*)
		if [ $built = 0 ] && grep -qE 'lifetime may not live long enough|borrowed data escapes|does not live long enough' "$log"; then
			echo "ok compile_$name (refused: $(grep -m1 -E '^error' "$log"))"; pass=$((pass + 1))
		elif [ $built = 1 ]; then
			echo "FAIL compile_$name: built, but must be refused"; fail=$((fail + 1))
		else
			echo "FAIL compile_$name: refused for another reason (log: $log)"; grep -E '^error' "$log" | head -5; fail=$((fail + 1))
		fi ;;
	esac
done
echo "compile: $pass passed, $fail failed"
