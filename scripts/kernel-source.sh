#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fetches Debian's linux-source-7.2 (the newest 7.2.x in sid or
# trixie-backports) through a private apt configuration - the machine's own
# apt sources are never touched - and unpacks it into the cache.
# Prints the path of the unpacked tree on stdout.
. "$(dirname "$0")/common.sh"

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
mkdir -p "$src_root"
wl_private_apt
wl_apt_update
apt_dir="$WL_CACHE/apt"
apt_opts=("${WL_APT_OPTS[@]}")

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
