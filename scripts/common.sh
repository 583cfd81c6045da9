# SPDX-License-Identifier: GPL-2.0
# Shared settings and helpers for the host scripts. Sourced, never run.
#
# Every script here follows two rules:
#   * a stage is marked done (a stamp file) only after it succeeded, and
#     products are written to a temporary path and renamed into place, so a
#     rerun never trusts something half-built;
#   * a failure ends with one line that says what is wrong and what to run.

set -euo pipefail

WL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WL_CACHE="${WORKLOOP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/workloop}"

# The toolchain checked to work together (../shared/reference/toolchain.md).
WL_RUSTC="${RUSTC:-/usr/bin/rustc}"
WL_LLVM="${LLVM:-/usr/lib/llvm-19/bin/}"
WL_LIBCLANG_PATH="${LIBCLANG_PATH:-/usr/lib/llvm-19/lib}"
WL_BINDGEN_VERSION=0.73.2
WL_BINDGEN="${BINDGEN:-$WL_CACHE/cargo/bin/bindgen}"
WL_CLIPPY_DRIVER="${CLIPPY_DRIVER:-/usr/bin/clippy-driver}"
WL_RUSTFMT="${RUSTFMT:-/usr/bin/rustfmt}"
WL_KVER_SERIES=7.2

export LIBCLANG_PATH="$WL_LIBCLANG_PATH"

wl_t0="${WL_T0:-$(date +%s)}"
export WL_T0="$wl_t0"

# Prints one progress line: "[  42s] stage: message".
wl_stage() {
	local now
	now=$(date +%s)
	printf '[%4ss] %s\n' "$((now - WL_T0))" "$*" >&2
}

# Stops with one line on stderr.
wl_die() {
	echo "error: $*" >&2
	exit 1
}

# Runs a long command with its output in LOG; on failure shows the tail of
# LOG and stops with MESSAGE.
wl_logged() {
	local log="$1" msg="$2"
	shift 2
	mkdir -p "$(dirname "$log")"
	if ! "$@" >"$log" 2>&1; then
		echo "---- last 40 lines of $log ----" >&2
		tail -n 40 "$log" >&2
		echo "----" >&2
		wl_die "$msg (full log: $log)"
	fi
}

# Fails early and clearly when the disk is full.
wl_need_space() {
	local dir="$1" need_mb="$2" avail
	mkdir -p "$dir"
	avail=$(df -Pm "$dir" | awk 'NR==2 {print $4}')
	if [ "${avail:-0}" -lt "$need_mb" ]; then
		wl_die "only ${avail} MiB free under $dir, need ${need_mb} MiB: free some space and rerun"
	fi
}

# A private apt configuration (Debian sid and trixie-backports) for fetching
# Debian's kernel packages: the machine's own apt sources and package state
# are never touched. Sets WL_APT_OPTS; wl_apt_update refreshes its lists once
# per run.
wl_private_apt() {
	local apt_dir="$WL_CACHE/apt" keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
	[ -f $keyring ] || wl_die "$keyring missing: install debian-archive-keyring"
	cat >"$apt_dir/sources.list.tmp" <<SRC
deb [signed-by=$keyring] http://deb.debian.org/debian sid main
deb [signed-by=$keyring] http://deb.debian.org/debian trixie-backports main
SRC
	mv "$apt_dir/sources.list.tmp" "$apt_dir/sources.list"
	WL_APT_OPTS=(
		-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
		-o "Dir::Etc::sourceparts=/dev/null"
		-o "Dir::State::Lists=$apt_dir/lists"
		-o "Dir::Cache=$apt_dir/cache"
		-o "Dir::State::status=/dev/null"
		-o "APT::Architecture=amd64"
		-o "Debug::NoLocking=1"
	)
}

wl_apt_update() {
	[ -n "${wl_apt_updated:-}" ] && return 0
	wl_stage "apt-get update (private lists)"
	wl_logged "$WL_CACHE/logs/apt-update.log" "cannot reach deb.debian.org (no network?): check the network and rerun" \
		apt-get "${WL_APT_OPTS[@]}" update
	wl_apt_updated=1
}

# Common make arguments for every kernel and module build.
wl_kmake_args() {
	echo "LLVM=$WL_LLVM RUSTC=$WL_RUSTC BINDGEN=$WL_BINDGEN"
}
