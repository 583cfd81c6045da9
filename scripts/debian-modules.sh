#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make debian-modules [KREL=<release>]`: builds every module for a Debian
# kernel of the 7.2 series, by default the one this machine runs (`uname -r`),
# with the Rust metadata rebuilt from Debian's exact config and toolchain
# (scripts/stock-kernel.sh), and prepares a copy of Debian's headers that
# carries that metadata, for DKMS. Needs root; installs nothing.
. "$(dirname "$0")/common.sh"

krel="${KREL:-$(uname -r)}"
export WL_STOCK_RELEASE="$krel"
rc=0
"$WL_ROOT/scripts/stock-kernel.sh" >/dev/null || rc=$?
[ $rc = 0 ] || exit $rc
out="$WL_ROOT/out/debian-$krel"
mkdir -p "$out"
wl_stage "modules for Debian's $krel: building"
log="$WL_CACHE/logs/debian-modules.log"
wl_logged "$log" "the module build for $krel failed" \
	"$WL_ROOT/scripts/stock-kernel.sh" --build M=/wl MO="/wl-out/debian-$krel" modules
headers=$("$WL_ROOT/scripts/stock-kernel.sh" --graft)
root="$WL_CACHE/stock/$krel/root"
mods=$(cd "$out" && find . -name '*.ko' | sort)
cat <<MSG
Modules for $krel (unsigned; load with insmod, see README "Debian"):
$(echo "$mods" | sed "s|^\./|  $out/|")
Headers with the Rust metadata, for DKMS and 'make -C': $root$headers
(inside the chroot $root, with Debian's gcc-16 and rustc: run
 'scripts/stock-kernel.sh --run make -C $headers M=<your module> modules' with WL_STOCK_RELEASE=$krel).
MSG
