#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boots the test kernel under QEMU (TCG) with a test initramfs, captures the
# serial console to a log, enforces a timeout and powers off.
#
#   qemu-run.sh --kernel BZIMAGE --initrd CPIO --log FILE [--mode check|run|bench]
#               [--cpus N] [--mem MiB] [--timeout SECONDS] [--append ARGS]
#               [--device QEMU-DEVICE]...
#
# KVM hangs at boot on these machines, so TCG is the default; WL_ACCEL=kvm
# overrides it.
. "$(dirname "$0")/common.sh"

kernel="" initrd="" log="" mode=check cpus=2 mem=1024 timeout=600 append=""
devices=()
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--initrd) initrd=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--device) devices+=(-device "$2"); shift 2 ;;
	*) wl_die "qemu-run.sh: unknown argument '$1'" ;;
	esac
done
[ -f "$kernel" ] || wl_die "no kernel image '$kernel': run 'make setup'"
[ -f "$initrd" ] || wl_die "no initramfs '$initrd'"
[ -n "$log" ] || wl_die "qemu-run.sh: --log is required"
command -v qemu-system-x86_64 >/dev/null || wl_die "qemu-system-x86_64 missing: run 'make setup'"

mkdir -p "$(dirname "$log")"
rc=0
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
	-accel "${WL_ACCEL:-tcg}" -machine pc -cpu max,la57=off -smp "$cpus" -m "$mem" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 wl.mode=$mode $append" \
	-display none -monitor none -serial "file:$log" -no-reboot \
	"${devices[@]}" </dev/null || rc=$?
if [ $rc = 124 ] || [ $rc = 137 ]; then
	echo "WL-TIMEOUT after ${timeout}s" >>"$log"
	exit 124
fi
exit $rc
