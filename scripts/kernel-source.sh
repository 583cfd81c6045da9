#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetches Debian's linux-source-7.2 (the newest 7.2.x in sid or
# trixie-backports) through a private apt configuration - the machine's own
# apt sources are never touched - and unpacks it into the cache.
# Prints the path of the unpacked tree on stdout.
. "$(dirname "$0")/common.sh"

apt_dir="$WL_CACHE/apt"
src_root="$WL_CACHE/src"

# Reuse an already unpacked tree unless asked to refresh.
if [ -z "${WL_REFRESH_SOURCE:-}" ] && [ -f "$src_root/current" ]; then
	cur="$src_root/$(cat "$src_root/current")"
	if [ -f "$cur/.wl-unpacked" ]; then
		echo "$cur"
		exit 0
	fi
fi

wl_need_space "$WL_CACHE" 3000
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$src_root"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f $keyring ] || wl_die "$keyring missing: install debian-archive-keyring"
cat >"$apt_dir/sources.list" <<SRC
deb [signed-by=$keyring] http://deb.debian.org/debian sid main
deb [signed-by=$keyring] http://deb.debian.org/debian trixie-backports main
SRC
apt_opts=(
	-o "Dir::Etc::sourcelist=$apt_dir/sources.list"
	-o "Dir::Etc::sourceparts=/dev/null"
	-o "Dir::State::Lists=$apt_dir/lists"
	-o "Dir::Cache=$apt_dir/cache"
	-o "Dir::State::status=/dev/null"
	-o "APT::Architecture=amd64"
	-o "Debug::NoLocking=1"
)
wl_stage "kernel source: apt-get update (private lists)"
wl_logged "$WL_CACHE/logs/apt-src.log" "cannot reach deb.debian.org (no network?): check the network and rerun" \
	apt-get "${apt_opts[@]}" update

# Newest linux-source-7.2 version on offer in either suite.
ver=$(apt-cache "${apt_opts[@]}" madison "linux-source-$WL_KVER_SERIES" 2>/dev/null |
	awk -F'|' '{gsub(/ /,"",$2); print $2}' | sort -V | tail -n1)
[ -n "$ver" ] || wl_die "no linux-source-$WL_KVER_SERIES in sid or trixie-backports; pass KDIR=<prepared tree> instead"

dest="$src_root/linux-$ver"
if [ ! -f "$dest/.wl-unpacked" ]; then
	wl_stage "kernel source: downloading linux-source-$WL_KVER_SERIES $ver"
	dl="$apt_dir/dl"
	rm -rf "$dl" && mkdir -p "$dl"
	(cd "$dl" && wl_logged "$WL_CACHE/logs/apt-src.log" "download of linux-source-$WL_KVER_SERIES failed: rerun" \
		apt-get "${apt_opts[@]}" download "linux-source-$WL_KVER_SERIES=$ver")
	wl_stage "kernel source: unpacking"
	tmp="$dest.tmp.$$"
	rm -rf "$tmp" && mkdir -p "$tmp/deb"
	dpkg-deb -x "$dl"/linux-source-*.deb "$tmp/deb"
	tarball=$(ls "$tmp"/deb/usr/src/linux-source-*.tar.* | head -n1)
	tar -C "$tmp" -xf "$tarball"
	rm -rf "$tmp/deb" "$dl"
	inner=$(ls -d "$tmp"/linux-source-*)
	[ -f "$inner/Makefile" ] || wl_die "unpacked tree has no Makefile: rerun with WL_REFRESH_SOURCE=1"
	rm -rf "$dest"
	mv "$inner" "$dest"
	rmdir "$tmp"
	touch "$dest/.wl-unpacked"
fi
echo "linux-$ver" >"$src_root/current.tmp" && mv "$src_root/current.tmp" "$src_root/current"
echo "$dest"
