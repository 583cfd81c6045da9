#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the modules and initramfs of one flavour and boots it.
#   boot.sh FLAVOUR MODE [qemu-run.sh options...]
# The console log goes to out/<flavour>-<mode>.log; prints its path.
. "$(dirname "$0")/common.sh"

flavour="${1:?usage: boot.sh fast|debug|stock check|run|bench [qemu options]}"
mode="${2:?usage: boot.sh fast|debug|stock check|run|bench [qemu options]}"
shift 2
# Linux's C virtio-rng (the virtio sample's reference) comes from the test
# kernels' own build; Debian's image package is not unpacked, so the stock
# boot has none and the tests that need it say so.
kmods=()
if [ "$flavour" = stock ]; then
	image=$("$WL_ROOT/scripts/stock-kernel.sh" --image)
else
	kdir=$("$WL_ROOT/scripts/kernel-build.sh" "$flavour")
	image="$kdir/arch/x86/boot/bzImage"
	kmods=("$kdir/drivers/char/hw_random/virtio-rng.ko")
fi
# The boots test the samples with the library's hook points compiled in.
mods=$("$WL_ROOT/scripts/build-modules.sh" "$flavour" WORKLOOP_HOOKS=1)
initrd="$WL_ROOT/out/$flavour-initramfs.cpio.gz"
"$WL_ROOT/scripts/initramfs.sh" "$initrd" "$mods" "${kmods[@]}"
# WL_BOOT_TAG names a second boot of the same flavour and mode (its own log).
log="$WL_ROOT/out/$flavour-$mode${WL_BOOT_TAG:+-$WL_BOOT_TAG}.log"
wl_stage "boot ($flavour, $mode): QEMU TCG; console log: $log"
rc=0
"$WL_ROOT/scripts/qemu-run.sh" --kernel "$image" --initrd "$initrd" \
	--log "$log" --mode "$mode" "$@" || rc=$?
[ $rc = 0 ] || [ $rc = 124 ] || wl_die "QEMU failed to run (exit $rc): see $log"
echo "$log"
