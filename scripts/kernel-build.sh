#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the test kernel of one flavour (fast | debug) out of tree into the
# cache, keyed by kernel version, Kconfig fragment contents and toolchain
# versions, and prints the build directory on stdout. A build is reused only
# if its stamp says it completed.
#
# With KDIR=<prepared Rust-enabled tree> the given tree is checked and
# printed instead; nothing is built.
. "$(dirname "$0")/common.sh"

flavour="${1:?usage: kernel-build.sh fast|debug}"
frag_dir="$WL_ROOT/scripts/kconfig"
[ -f "$frag_dir/$flavour.config" ] || wl_die "unknown kernel flavour '$flavour': use fast or debug"

# Checks that DIR is a kernel build that out-of-tree Rust modules can use.
check_kdir() {
	local d="$1" want have
	[ -d "$d" ] || wl_die "KDIR=$d does not exist: pass a prepared kernel build directory or unset KDIR"
	[ -f "$d/.config" ] || wl_die "KDIR=$d has no .config: run 'make olddefconfig modules_prepare' in it or unset KDIR"
	grep -qx 'CONFIG_RUST=y' "$d/.config" || wl_die "KDIR=$d is not built with CONFIG_RUST=y: enable Rust or unset KDIR"
	grep -qx 'CONFIG_KUNIT=y' "$d/.config" || wl_die "KDIR=$d lacks CONFIG_KUNIT=y (needed by the tests): enable it or unset KDIR"
	[ -f "$d/rust/libkernel.rmeta" ] || wl_die "KDIR=$d has no rust/libkernel.rmeta: build the kernel there first ('make')"
	want=$(sed -n 's/^CONFIG_RUSTC_VERSION_TEXT="\(.*\)"$/\1/p' "$d/.config")
	have=$("$WL_RUSTC" --version)
	[ "$want" = "$have" ] || wl_die "KDIR=$d was built by '$want' but RUSTC=$WL_RUSTC is '$have': pass RUSTC=<the kernel's rustc>"
}

if [ -n "${KDIR:-}" ]; then
	check_kdir "$KDIR"
	echo "$KDIR"
	exit 0
fi

"$WL_ROOT/scripts/bootstrap.sh" --check
src=$("$WL_ROOT/scripts/kernel-source.sh")

key=$(
	{
		basename "$src"
		cat "$frag_dir/base.config" "$frag_dir/$flavour.config"
		"$WL_RUSTC" --version
		"${WL_LLVM}clang" --version | head -n1
		"$WL_BINDGEN" --version
	} | sha256sum | cut -c1-12
)
out="$WL_CACHE/build/$flavour-$(basename "$src")-$key"
if [ -f "$out/.wl-built" ]; then
	echo "$out"
	exit 0
fi

# One kernel build at a time on this machine (two would each take twice as
# long and may fight over the same tree): wait for the other, then look again.
mkdir -p "$WL_CACHE/build"
exec 9>"$WL_CACHE/build/.lock"
if ! flock -n 9; then
	wl_stage "kernel ($flavour): waiting for another kernel build to finish"
	flock 9
fi
if [ -f "$out/.wl-built" ]; then
	echo "$out"
	exit 0
fi

wl_need_space "$WL_CACHE" 6000
mkdir -p "$out"
log="$WL_CACHE/logs/kernel-$flavour.log"
kmake=(make -C "$src" O="$out" $(wl_kmake_args))

wl_stage "kernel ($flavour): checking the Rust toolchain"
wl_logged "$log" "the kernel rejects this Rust toolchain: run 'make setup'" "${kmake[@]}" rustavailable

if [ ! -f "$out/.wl-configured" ]; then
	wl_stage "kernel ($flavour): configuring (tinyconfig + base + $flavour)"
	wl_logged "$log" "tinyconfig failed" "${kmake[@]}" tinyconfig
	wl_logged "$log" "merging the Kconfig fragments failed" \
		env -C "$out" "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"$frag_dir/base.config" "$frag_dir/$flavour.config"
	wl_logged "$log" "olddefconfig failed" "${kmake[@]}" olddefconfig
	# olddefconfig silently drops what it cannot satisfy: verify every line.
	bad=""
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$out/.config" || bad="$bad ${line}" ;;
		"# CONFIG_"*" is not set")
			opt=${line#\# }
			opt=${opt%% *}
			grep -q "^$opt=" "$out/.config" && bad="$bad !$opt"
			;;
		esac
	done < <(cat "$frag_dir/base.config" "$frag_dir/$flavour.config")
	[ -z "$bad" ] || wl_die "kernel config dropped:$bad (check dependencies in scripts/kconfig/)"
	touch "$out/.wl-configured"
fi

wl_stage "kernel ($flavour): building (about 11 minutes on 2 cores; log: $log)"
jobs=$(($(nproc) + 1))
wl_logged "$log" "the $flavour kernel build failed" "${kmake[@]}" -j"$jobs"
[ -f "$out/arch/x86/boot/bzImage" ] && [ -f "$out/rust/libkernel.rmeta" ] ||
	wl_die "kernel build finished without bzImage or Rust metadata: see $log"
touch "$out/.wl-built"
wl_stage "kernel ($flavour): done"
echo "$out"
