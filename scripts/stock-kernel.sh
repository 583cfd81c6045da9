#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The `stock` kernel target: Debian's own current kernel of the series we build
# (linux-image-7.2.x+debN-amd64, CONFIG_RUST=y), which users actually run.
#
# Debian's headers package ships no Rust metadata, so it is rebuilt once, with
# Debian's exact config and Debian's exact rustc, bindgen and gcc (the ones
# named in the config's *_VERSION_TEXT), all unpacked into a private root used
# as a chroot: nothing is installed into this machine's system and its apt
# sources are never touched. Everything is cached under $WL_CACHE/stock/<release>.
# Needs root (chroot, bind mounts in a private mount namespace).
#
#   stock-kernel.sh                 prepare (cached); prints the kernel release
#   stock-kernel.sh --image         prints the path of the stock vmlinuz
#   stock-kernel.sh --build ARGS    runs make in the prepared tree (in the chroot)
#                                   with ARGS, the checkout at /wl, out/ at /wl-out
#   stock-kernel.sh --release       prints the kernel release (prepared or not)
#   stock-kernel.sh --run CMD...    runs CMD in the prepared chroot (mounts as --build)
#   stock-kernel.sh --graft         also makes a copy of Debian's headers that
#                                   carries the Rust metadata (for DKMS, and as
#                                   Arch's headers do); prints its path inside
#                                   the chroot (the chroot is $WL_CACHE/stock/<release>/root)
#
# WL_STOCK_RELEASE=<release> picks another Debian kernel of the series than the
# newest (for example the running one: `uname -r`).
#
# Exit 3 with one line "stock: unavailable: ..." when the target cannot be had
# (the exact compiler is no longer on offer, or the machine lacks root): the
# caller reports the stock tests as skipped with that reason.
. "$(dirname "$0")/common.sh"

unavailable() {
	echo "stock: unavailable: $*" >&2
	exit 3
}

[ "$(id -u)" = 0 ] || unavailable "needs root (chroot and bind mounts in a private mount namespace)"
command -v unshare >/dev/null || unavailable "unshare (util-linux) not found"

wl_private_apt

# The newest stock kernel of the series: linux-headers-<release>, release like
# 7.2.13+deb14-amd64 (not -cloud-, not -rt-).
release() {
	apt-cache "${WL_APT_OPTS[@]}" pkgnames "linux-headers-$WL_KVER_SERIES." 2>/dev/null |
		sed -n "s/^linux-headers-\($WL_KVER_SERIES\.[0-9]*+deb[0-9]*-amd64\)$/\1/p" | sort -V | tail -n1
}

mode=prepare
case "${1:-}" in
--image) mode=image ;;
--build) mode=build; shift ;;
--release) mode=release ;;
--graft) mode=graft ;;
--run) mode=run; shift ;;
"") ;;
*) wl_die "usage: stock-kernel.sh [--image | --release | --build MAKE-ARGS...]" ;;
esac

# Reuse the prepared release unless asked to look for a newer one.
st_root="$WL_CACHE/stock"
krel=""
if [ -z "${WL_REFRESH_STOCK:-}" ] && [ -f "$st_root/current" ]; then
	krel=$(cat "$st_root/current")
	[ -f "$st_root/$krel/.wl-prepared" ] || krel=""
fi
if [ -n "${WL_STOCK_RELEASE:-}" ]; then
	krel=$WL_STOCK_RELEASE
	case "$krel" in
	"$WL_KVER_SERIES".*-amd64) ;;
	*) wl_die "release '$krel' is not a Debian $WL_KVER_SERIES.x amd64 kernel (like ${WL_KVER_SERIES}.13+deb14-amd64): this project builds for the $WL_KVER_SERIES series" ;;
	esac
	if [ ! -f "$st_root/$krel/.wl-prepared" ]; then
		wl_apt_update
		apt-cache "${WL_APT_OPTS[@]}" show "linux-headers-$krel" >/dev/null 2>&1 ||
			wl_die "Debian offers no linux-headers-$krel (sid, trixie-backports): check the release ('uname -r' on a Debian machine)"
	fi
elif [ -z "$krel" ]; then
	wl_apt_update
	krel=$(release)
	[ -n "$krel" ] || unavailable "no linux-headers-$WL_KVER_SERIES.*-amd64 in Debian sid or trixie-backports"
fi
st="$st_root/$krel"
root="$st/root"
build="$root/build"

# Runs COMMAND... in the chroot, in a private mount namespace: the kernel source
# read-only at /src, the checkout read-only at /wl, its out/ at /wl-out.
in_root() {
	local src
	src=$(cat "$st/source-path")
	mkdir -p "$root/src" "$root/wl" "$root/wl-out" "$root/proc" "$root/dev" "$root/tmp" "$WL_ROOT/out"
	unshare --mount --propagation private -- /bin/bash -euc '
		root=$1 src=$2 wl=$3; shift 3
		mount --bind "$src" "$root/src" && mount -o remount,bind,ro "$root/src"
		mount --bind "$wl" "$root/wl" && mount -o remount,bind,ro "$root/wl"
		mount --bind "$wl/out" "$root/wl-out"
		mount -t proc proc "$root/proc"
		mount --bind /dev "$root/dev"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
	' in_root "$root" "$src" "$WL_ROOT" "$@"
}

kmake() {
	in_root make -C /src O=/build ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- \
		CC=x86_64-linux-gnu-gcc-16 HOSTCC=gcc-16 KERNELRELEASE="$krel" "$@"
}

# Debian's headers with the Rust metadata grafted in, inside the chroot at
# /usr/src/linux-headers-<release> (and its -common and kbuild beside it), so
# that `make -C` on them builds Rust modules as Arch's headers allow.
graft() {
	local h="$root/usr/src/linux-headers-$krel" kb
	[ -f "$st/.wl-graft" ] && return 0
	rm -rf "$root"/usr/src/linux-headers-* "$root"/usr/lib/linux-kbuild-*
	mkdir -p "$root/usr/src" "$root/usr/lib"
	cp -a "$st"/pkgs/usr/src/linux-headers-* "$root/usr/src/"
	cp -a "$st"/pkgs/usr/lib/linux-kbuild-* "$root/usr/lib/"
	mkdir -p "$h/rust/kernel"
	cp "$build"/rust/*.rmeta "$build"/rust/*.so "$h/rust/"
	cp "$build"/rust/kernel/generated_arch_*.rs "$h/rust/kernel/"
	kb=$(ls -d "$root"/usr/lib/linux-kbuild-* | head -n1)
	cp "$build/scripts/target.json" "$kb/scripts/"
	touch "$st/.wl-graft"
}

case $mode in
release)
	echo "$krel"
	exit 0
	;;
graft)
	[ -f "$st/.wl-prepared" ] || wl_die "the stock kernel $krel is not prepared: run scripts/stock-kernel.sh"
	graft
	echo "/usr/src/linux-headers-$krel"
	exit 0
	;;
image | build | run)
	[ -f "$st/.wl-prepared" ] || wl_die "the stock kernel $krel is not prepared: run scripts/stock-kernel.sh"
	if [ $mode = run ]; then
		in_root "$@"
	elif [ $mode = image ]; then
		echo "$st/vmlinuz"
	else
		# External modules build against the headers' own Makefile settings.
		in_root make -C /build ARCH=x86 CROSS_COMPILE=x86_64-linux-gnu- \
			CC=x86_64-linux-gnu-gcc-16 HOSTCC=gcc-16 KERNELRELEASE="$krel" "$@"
	fi
	exit 0
	;;
esac

if [ -f "$st/.wl-prepared" ]; then
	echo "$krel"
	exit 0
fi

wl_need_space "$WL_CACHE" 6000
mkdir -p "$st/debs/partial" "$st/pkgs" "$st/aptstate/lists/partial"
wl_apt_update
dl_opts=("${WL_APT_OPTS[@]}" -o "Dir::Cache::archives=$st/debs" -o "APT::Install-Recommends=0")

# 1. The stock kernel: headers (with its .config), their common part and kbuild,
#    the image, and the source of the same version.
if [ ! -f "$st/.wl-kernel" ]; then
	wl_stage "stock: downloading Debian's $krel (headers, image, source)"
	srcver=$(apt-cache "${WL_APT_OPTS[@]}" show "linux-headers-$krel" | sed -n 's/^Source: linux (\(.*\))$/\1/p' | head -n1)
	[ -n "$srcver" ] || srcver=$(apt-cache "${WL_APT_OPTS[@]}" show "linux-headers-$krel" | sed -n 's/^Version: //p' | head -n1)
	common=$(apt-cache "${WL_APT_OPTS[@]}" depends "linux-headers-$krel" | sed -n 's/^ *Depends: \(linux-headers-.*-common\)$/\1/p' | head -n1)
	kbuild=$(apt-cache "${WL_APT_OPTS[@]}" depends "linux-headers-$krel" | sed -n 's/^ *Depends: \(linux-kbuild-[^ ]*\)$/\1/p' | head -n1)
	[ -n "$common" ] && [ -n "$kbuild" ] || wl_die "cannot tell the -common and kbuild packages of linux-headers-$krel"
	rm -rf "$st/dl" && mkdir -p "$st/dl"
	(cd "$st/dl" && wl_logged "$WL_CACHE/logs/stock-apt.log" "download of Debian's $krel failed (no network?): rerun" \
		apt-get "${WL_APT_OPTS[@]}" download "linux-headers-$krel" "$common" "$kbuild" \
		"linux-binary-$krel" "linux-source-$WL_KVER_SERIES=$srcver")
	rm -rf "$st/pkgs" && mkdir -p "$st/pkgs"
	for f in "$st"/dl/linux-headers-*.deb "$st"/dl/linux-kbuild-*.deb "$st"/dl/linux-binary-*.deb; do
		dpkg-deb -x "$f" "$st/pkgs"
	done
	img=$(ls "$st/pkgs/usr/lib/modules/$krel/vmlinuz" "$st/pkgs/boot/vmlinuz-$krel" 2>/dev/null | head -n1 || true)
	[ -n "$img" ] || wl_die "linux-binary-$krel has no vmlinuz (looked in /usr/lib/modules/$krel and /boot)"
	cp "$img" "$st/vmlinuz"
	hdr="$st/pkgs/usr/src/linux-headers-$krel"
	[ -f "$hdr/.config" ] || wl_die "linux-headers-$krel has no .config"
	grep -q '^CONFIG_RUST=y' "$hdr/.config" || unavailable "Debian's $krel is built without CONFIG_RUST"
	# The source tree, unpacked once (shared with kernel-source.sh's layout).
	srcdir="$WL_CACHE/src/linux-$srcver"
	if [ ! -f "$srcdir/.wl-unpacked" ]; then
		wl_stage "stock: unpacking linux-source-$WL_KVER_SERIES $srcver"
		tmp="$srcdir.tmp.$$"
		rm -rf "$tmp" && mkdir -p "$tmp/deb"
		dpkg-deb -x "$st"/dl/linux-source-*.deb "$tmp/deb"
		tar -C "$tmp" -xf "$(ls "$tmp"/deb/usr/src/linux-source-*.tar.* | head -n1)"
		rm -rf "$tmp/deb" "$srcdir"
		mv "$(ls -d "$tmp"/linux-source-*)" "$srcdir"
		rmdir "$tmp"
		touch "$srcdir/.wl-unpacked"
	fi
	echo "$srcdir" >"$st/source-path"
	rm -rf "$st/dl"
	touch "$st/.wl-kernel"
fi
hdr="$st/pkgs/usr/src/linux-headers-$krel"
cfg() { sed -n "s/^$1=\"\(.*\)\"$/\1/p" "$hdr/.config"; }
want_rustc=$(cfg CONFIG_RUSTC_VERSION_TEXT)
want_cc=$(cfg CONFIG_CC_VERSION_TEXT)
want_bindgen=$(cfg CONFIG_BINDGEN_VERSION_TEXT)

# 2. Debian's toolchain, unpacked into a private root (sid's binaries need
#    sid's glibc, hence the chroot). Maintainer scripts are not run.
if [ ! -f "$st/.wl-root" ]; then
	wl_stage "stock: downloading Debian's toolchain (rustc, bindgen, gcc-16) into a private root"
	wl_logged "$WL_CACHE/logs/stock-apt.log" "download of Debian's toolchain failed (no network?): rerun" \
		apt-get "${dl_opts[@]}" -o "Dir::State=$st/aptstate" install -y --download-only -t sid \
		libc6 libc-bin dash bash coreutils sed grep mawk findutils diffutils tar gzip xz-utils \
		make perl bc flex bison libelf-dev libssl-dev openssl gcc-16 binutils libc6-dev \
		rustc libstd-rust-dev rust-src bindgen libclang1-22 dwarves kmod cpio python3-minimal
	wl_stage "stock: unpacking the toolchain"
	rm -rf "$root.tmp" && mkdir -p "$root.tmp"
	for f in "$st"/debs/*.deb; do
		dpkg-deb -x "$f" "$root.tmp"
	done
	ln -sf mawk "$root.tmp/usr/bin/awk"
	ln -sf gcc-16 "$root.tmp/usr/bin/cc"
	rm -rf "$root" && mv "$root.tmp" "$root"
	rm -f "$st"/debs/*.deb
	touch "$st/.wl-root"
fi

# 3. The exact compilers, or nothing: Rust symbol names hash the full rustc
#    version string, so another rustc builds modules that do not load.
have_rustc=$(in_root rustc --version 2>/dev/null || true)
have_cc=$(in_root x86_64-linux-gnu-gcc-16 --version 2>/dev/null | head -n1 || true)
have_bindgen=$(in_root bindgen --version 2>/dev/null || true)
if [ "$have_rustc" != "$want_rustc" ] || [ "$have_cc" != "$want_cc" ] || [ "$have_bindgen" != "$want_bindgen" ]; then
	rm -f "$st/.wl-root"
	unavailable "Debian's $krel needs '$want_rustc', '$want_cc', '$want_bindgen'; Debian now offers '$have_rustc', '$have_cc', '$have_bindgen'"
fi

# 4. The Rust metadata, rebuilt with Debian's exact config.
wl_stage "stock: preparing $krel with Debian's config (the Rust metadata; about 1.5 minutes)"
rm -rf "$build" && mkdir -p "$build"
cp "$hdr/.config" "$build/.config"
wl_logged "$WL_CACHE/logs/stock-prepare.log" "olddefconfig of Debian's config failed" kmake olddefconfig
cmp -s "$hdr/.config" "$build/.config" ||
	wl_die "olddefconfig changed Debian's config (toolchain mismatch?): compare $hdr/.config and $build/.config"
wl_logged "$WL_CACHE/logs/stock-prepare.log" "modules_prepare for $krel failed" kmake -j"$(nproc)" modules_prepare
cp "$hdr/Module.symvers" "$hdr/vmlinux" "$build/"
# The default target is the newest; a release asked for by name does not replace it.
if [ -z "${WL_STOCK_RELEASE:-}" ]; then
	echo "$krel" >"$st_root/current.tmp" && mv "$st_root/current.tmp" "$st_root/current"
fi
touch "$st/.wl-prepared"
echo "$krel"
