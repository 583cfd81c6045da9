#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the busybox initramfs for one boot: busybox, the guest scripts,
# and the modules of one flavour.
#   initramfs.sh OUT.cpio.gz MODULE_DIR [KERNEL_MODULE...]
# MODULE_DIR holds the built .ko files; those named in
# scripts/guest/kunit.list go to /guest/kunit (loaded by the test runner to
# run their KUnit suites), all of them go to /guest/modules. Each
# KERNEL_MODULE (a .ko of the kernel itself, such as Linux's C virtio-rng the
# virtio sample is compared with) goes to /guest/kmod.
. "$(dirname "$0")/common.sh"

out="${1:?usage: initramfs.sh OUT.cpio.gz MODULE_DIR}"
mods="${2:?usage: initramfs.sh OUT.cpio.gz MODULE_DIR}"
[ -x /bin/busybox ] || wl_die "/bin/busybox missing: run 'make setup'"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,proc,sys,dev,tmp,guest/kunit,guest/modules,guest/tests,guest/kmod}
cp /bin/busybox "$stage/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
g="$WL_ROOT/scripts/guest"
cp "$g/init" "$stage/init"
cp "$g"/*.sh "$stage/guest/"
cp "$g"/tests/* "$stage/guest/tests/" 2>/dev/null || true
find "$mods" -name '*.ko' -exec cp {} "$stage/guest/modules/" \;
for ko in "${@:3}"; do
	[ -f "$ko" ] || wl_die "kernel module $ko missing: rebuild the kernel ('make setup')"
	cp "$ko" "$stage/guest/kmod/"
done
while read -r ko; do
	case "$ko" in '' | '#'*) continue ;; esac
	[ -f "$stage/guest/modules/$ko.ko" ] || wl_die "kunit module $ko.ko was not built (see scripts/guest/kunit.list)"
	cp "$stage/guest/modules/$ko.ko" "$stage/guest/kunit/"
done <"$g/kunit.list"
chmod +x "$stage/init" "$stage"/guest/*.sh
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
