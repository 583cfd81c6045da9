#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds every module of the project against the kernel of one flavour,
# into out/<flavour>/ (the checkout's sources are never written to).
#   build-modules.sh FLAVOUR [extra kbuild arguments, e.g. CLIPPY=1]
# Prints the output directory on stdout.
. "$(dirname "$0")/common.sh"

flavour="${1:?usage: build-modules.sh fast|debug|stock [args]}"
shift
out="$WL_ROOT/out/$flavour"
mkdir -p "$out"
log="$WL_CACHE/logs/modules-$flavour.log"
wl_stage "modules ($flavour): building"
if [ "$flavour" = stock ]; then
	# Debian's kernel, built in its own toolchain's chroot (stock-kernel.sh), where
	# the checkout is /wl and out/ is /wl-out. It has no KUnit: the library's
	# suites are built self-driven (selftest-gen.py) as the same workloop_kunit.
	"$WL_ROOT/scripts/stock-kernel.sh" >/dev/null
	build() {
		"$WL_ROOT/scripts/stock-kernel.sh" --build M=/wl MO=/wl-out/stock "$@" modules &&
			python3 "$WL_ROOT/scripts/selftest-gen.py" "$WL_ROOT/tests" "$out/selftest" /wl/src/workloop.rs &&
			"$WL_ROOT/scripts/stock-kernel.sh" --build M=/wl-out/stock/selftest modules
	}
else
	kdir=$("$WL_ROOT/scripts/kernel-build.sh" "$flavour")
	build() { make -C "$kdir" M="$WL_ROOT" MO="$out" $(wl_kmake_args) "$@" modules; }
fi
if ! build "$@" >"$log" 2>&1; then
	grep -E "^(error|warning)|-->|^\s+\||^\s*= " "$log" | head -60 >&2 || true
	tail -n 15 "$log" >&2
	wl_die "module build failed for the $flavour kernel (full log: $log)"
fi
# The kernel's own Rust lints are warnings; this project treats them as errors.
if grep -q "^warning" "$log"; then
	grep -A8 "^warning" "$log" | head -60 >&2
	wl_die "module build for the $flavour kernel has warnings (full log: $log)"
fi
echo "$out"
