#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Installs the host toolchain, only what is missing. Idempotent.
#
#   scripts/bootstrap.sh          install missing packages and bindgen
#   scripts/bootstrap.sh --check  only report, install nothing
. "$(dirname "$0")/common.sh"

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

# Debian bookworm package -> a file it installs (how we tell it is there).
declare -A pkgs=(
	[rustc-web]=/usr/bin/rustc
	[rust-web-src]=/usr/lib/rustlib/src/rust/library/core/src/lib.rs
	[rust-web-clippy]=/usr/bin/clippy-driver
	[rustfmt-web]=/usr/bin/rustfmt
	[clang-19]=/usr/bin/clang-19
	[lld-19]=/usr/bin/ld.lld-19
	[llvm-19]=/usr/lib/llvm-19/bin/llvm-ar
	[libclang-19-dev]=/usr/lib/llvm-19/lib/libclang.so
	[bc]=/usr/bin/bc
	[flex]=/usr/bin/flex
	[bison]=/usr/bin/bison
	[libelf-dev]=/usr/include/libelf.h
	[libssl-dev]=/usr/include/openssl/ssl.h
	[cpio]=/usr/bin/cpio
	[qemu-system-x86]=/usr/bin/qemu-system-x86_64
	[busybox-static]=/bin/busybox
	[xz-utils]=/usr/bin/xz
)

missing=()
for p in "${!pkgs[@]}"; do
	[ -e "${pkgs[$p]}" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ $check_only = 1 ]; then
		wl_die "missing packages: ${missing[*]}: run 'make setup'"
	fi
	[ "$(id -u)" = 0 ] || SUDO=sudo
	wl_stage "bootstrap: installing ${missing[*]}"
	wl_need_space / 4000
	log="$WL_CACHE/logs/apt.log"
	wl_logged "$log" "apt-get update failed (no network?): check the network and rerun 'make setup'" \
		${SUDO:-} apt-get update -q
	wl_logged "$log" "installing ${missing[*]} failed: see the log, then rerun 'make setup'" \
		${SUDO:-} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# busybox-static installs /bin/busybox; make sure it really is the static one.
if [ -e /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q 'dynamically'; then
	wl_die "/bin/busybox is dynamically linked: install busybox-static ('apt-get install busybox-static')"
fi

# bindgen: the kernel wants >= 0.71.1; pinned so that every machine agrees.
if ! "$WL_BINDGEN" --version 2>/dev/null | grep -q "bindgen $WL_BINDGEN_VERSION"; then
	[ $check_only = 1 ] && wl_die "bindgen $WL_BINDGEN_VERSION missing: run 'make setup'"
	command -v cargo >/dev/null || wl_die "cargo not found: install Rust's cargo (rustup) and rerun 'make setup'"
	wl_stage "bootstrap: cargo install bindgen-cli $WL_BINDGEN_VERSION"
	wl_logged "$WL_CACHE/logs/bindgen.log" "cargo install bindgen-cli failed (no network?): rerun 'make setup'" \
		cargo install --locked --root "$WL_CACHE/cargo" "bindgen-cli@$WL_BINDGEN_VERSION"
fi

# The same rustc must build the kernel and the modules.
"$WL_RUSTC" --version >/dev/null 2>&1 || wl_die "$WL_RUSTC does not run: run 'make setup'"
[ -d "$("$WL_RUSTC" --print sysroot)/lib/rustlib/src/rust/library" ] ||
	wl_die "$WL_RUSTC has no library sources (rust-web-src): run 'make setup'"
exit 0
