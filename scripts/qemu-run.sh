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
#
# PCI hot-plug: QEMU listens for QMP on a socket in a private directory next
# to the log, and scripts/qmp-responder.py runs beside it for the boot: it
# follows the serial log and turns the guest's `WL-HOTPLUG del ID` /
# `WL-HOTPLUG add ID DRIVER [KEY=VALUE...]` console lines (edu_common.inc:
# host_unplug, host_plug) into device_del / device_add. What it does goes to
# LOG without .log plus .qmp.log, never to the serial log. Every --device
# with both id= and addr= is listed on the kernel command line as
# wl.pci=ID:SLOT.FN:DRIVER,... so the guest knows where it sits.
. "$(dirname "$0")/common.sh"

# pci_place SPEC: for a device spec DRIVER,...,id=ID,...,addr=SLOT[.FN],...
# prints ID:SS.F:DRIVER (slot in two hex digits); nothing without id or addr.
pci_place() {
	local spec="$1" fields field driver id="" addr="" slot fn=0
	IFS=, read -r -a fields <<<"$spec"
	driver=${fields[0]}
	for field in "${fields[@]:1}"; do
		case "$field" in
		id=*) id=${field#id=} ;;
		addr=*) addr=${field#addr=} ;;
		esac
	done
	[ -n "$id" ] && [ -n "$addr" ] || return 0
	case "$driver" in *=*) return 0 ;; esac
	slot=${addr%%.*}
	[ "$slot" = "$addr" ] || fn=${addr#*.}
	slot=${slot#0[xX]}
	[[ "$slot" =~ ^[0-9a-fA-F]{1,2}$ && "$fn" =~ ^[0-7]$ ]] ||
		wl_die "qemu-run.sh: cannot read the PCI address '$addr' of --device $spec"
	printf '%s:%02x.%s:%s\n' "$id" "$((16#$slot))" "$fn" "$driver"
}

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
	--append) append="${append:+$append }$2"; shift 2 ;;
	--device) devices+=(-device "$2"); shift 2 ;;
	*) wl_die "qemu-run.sh: unknown argument '$1'" ;;
	esac
done

[ -f "$kernel" ] || wl_die "no kernel image '$kernel': run 'make setup'"
[ -f "$initrd" ] || wl_die "no initramfs '$initrd'"
[ -n "$log" ] || wl_die "qemu-run.sh: --log is required"
command -v qemu-system-x86_64 >/dev/null || wl_die "qemu-system-x86_64 missing: run 'make setup'"
command -v python3 >/dev/null || wl_die "python3 missing: run 'make setup'"

# Where the guest finds each device that can be hot-plugged.
places=()
for ((i = 1; i < ${#devices[@]}; i += 2)); do
	p=$(pci_place "${devices[i]}")
	[ -z "$p" ] || places+=("$p")
done
if [ ${#places[@]} -gt 0 ]; then
	append="${append:+$append }wl.pci=$(IFS=,; echo "${places[*]}")"
fi

mkdir -p "$(dirname "$log")"
# A unix socket path is limited to 107 bytes: a deep log directory falls
# back to TMPDIR.
qmpdir=$(mktemp -d "${log%.log}.qmp.XXXXXX")
if [ ${#qmpdir} -gt 90 ]; then
	rmdir "$qmpdir"
	qmpdir=$(mktemp -d "${TMPDIR:-/tmp}/wl-qmp.XXXXXX")
fi
qmp_sock="$qmpdir/sock"
qmp_log="${log%.log}.qmp.log"
responder=""
cleanup() {
	if [ -n "$responder" ]; then
		kill "$responder" 2>/dev/null || true
		wait "$responder" 2>/dev/null || true
	fi
	rm -rf "$qmpdir"
}
trap cleanup EXIT
# QEMU truncates the log when it opens it; removing it first means the
# responder, which starts first, never acts on a marker of an earlier boot.
rm -f "$log"
: >"$qmp_log"
# An ACPI eject takes up to ~20 s on the debug kernel under TCG: wait 90 s for
# QEMU's DEVICE_DELETED before a re-add goes ahead anyway.
python3 "$WL_ROOT/scripts/qmp-responder.py" --socket "$qmp_sock" --serial-log "$log" \
	--log "$qmp_log" --timeout 90 </dev/null >>"$qmp_log" 2>&1 &
responder=$!

# tsc=reliable: TCG's TSC follows the host clock, but the clocksource watchdog
# may still find it "unstable" under load and switch clocksources at run time;
# the text patching that follows (static keys, int3) raced a CPU executing the
# patched code on Debian's kernel (an int3 Oops in ktime_get_mono_fast_ns).
rc=0
timeout --foreground -k 10 "$timeout" qemu-system-x86_64 \
	-accel "${WL_ACCEL:-tcg}" -machine pc -cpu max,la57=off -smp "$cpus" -m "$mem" \
	-kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 tsc=reliable wl.mode=$mode $append" \
	-display none -monitor none -serial "file:$log" -no-reboot \
	-qmp "unix:$qmp_sock,server=on,wait=off" \
	"${devices[@]}" </dev/null || rc=$?
if [ $rc = 124 ] || [ $rc = 137 ]; then
	echo "WL-TIMEOUT after ${timeout}s" >>"$log"
	exit 124
fi
exit $rc
