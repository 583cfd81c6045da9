#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, guest side, virtio section: samples/virtio_rng against Linux's
# C virtio_rng on identical virtio-rng-pci devices of one boot (scripts/bench.sh):
# rng0 (0x12, MSI-X) and rng2 (0x16, no MSI-X: INTx) are the sample's, rng1
# (0x13, MSI-X) and rng3 (0x17, INTx) C's. Each round reads /dev/hwrng from
# each (switching rng_current), in an order that alternates by round, the
# reader on CPU 1, every device IRQ on CPU 0:
#   bytes: BYTES in 4 KiB reads (the core asks a driver for 64 bytes at a time);
#   lat: LAT_N reads of 64 bytes, one at a time (time per read).
# Then the same with the sample keeping 8 buffers in flight (depth=8), and
# with one buffer but the reader woken by the top half (hardirq=1), as C's is.
# Prints one VBENCH line per measurement; times come from /proc/timer_list.
ROUNDS=5
BYTES=262144
LAT_N=1000
H=/sys/class/misc/hw_random
DBG=/sys/kernel/debug
now() { awk '/^now at/ {print $3; exit}' /proc/timer_list; }

fail=0
claim() {
	d=/sys/bus/pci/devices/$1
	[ -d "$d" ] || return 1
	echo virtio_rng_rs >"$d/driver_override"
	[ -e "$d/driver" ] && echo "$1" >"$d/driver/unbind"
	return 0
}
claim 0000:00:12.0 && claim 0000:00:16.0 || { echo "VBENCH-STATUS fail=1 (no virtio devices)"; exit 0; }
insmod /guest/kmod/virtio-rng.ko || fail=1
# C's names follow its probe order: rng1 (0x13) first, then rng3 (0x17).
C_MSIX=virtio_rng.0
C_INTX=virtio_rng.1

# pin_irqs: every IRQ of the four devices on CPU 0.
pin_irqs() {
	for irq in $(grep -E 'virtio|PCI-MSIX-0000:00:1[2367]|IO-APIC +1[01]-' /proc/interrupts | sed 's/^ *\([0-9]*\):.*/\1/'); do
		echo 0 >/proc/irq/$irq/smp_affinity_list 2>/dev/null
	done
}

# measure NAME LABEL: one round of NAME: a VBENCH line.
measure() {
	echo "$1" >$H/rng_current || { fail=1; return; }
	taskset -c 1 dd if=/dev/hwrng of=/dev/null bs=64 count=64 2>/dev/null
	t0=$(now)
	taskset -c 1 dd if=/dev/hwrng of=/dev/null bs=4096 count=$((BYTES / 4096)) 2>/dev/null || fail=1
	t1=$(now)
	taskset -c 1 dd if=/dev/hwrng of=/dev/null bs=64 count=$LAT_N 2>/dev/null || fail=1
	t2=$(now)
	t3=$(now)
	# t3 - t2: the cost of reading the clock, taken off both.
	echo "VBENCH $2 bytes=$BYTES ns=$((t1 - t0 - (t3 - t2))) lat_n=$LAT_N lat_ns=$((t2 - t1 - (t3 - t2)))"
}

# rounds DEPTH [h]: ROUNDS rounds of the four devices with the sample at
# DEPTH; with h, the sample's top half completes its readers (hardirq=1).
rounds() {
	rmmod virtio_rng_rs 2>/dev/null
	hardirq=0
	[ "${2:-}" = h ] && hardirq=1
	insmod /guest/modules/virtio_rng_rs.ko depth=$1 hardirq=$hardirq || { fail=1; return; }
	pin_irqs
	ours_msix=$(sed -n 's/^hwrng: //p' $DBG/virtio_rng_rs-0000:00:12.0/stats)
	ours_intx=$(sed -n 's/^hwrng: //p' $DBG/virtio_rng_rs-0000:00:16.0/stats)
	r=0
	while [ $r -lt $ROUNDS ]; do
		if [ $((r % 2)) = 0 ]; then
			measure "$ours_msix" "who=rs irq=msix depth=$1${2:-} round=$r"
			measure $C_MSIX "who=c irq=msix depth=$1${2:-} round=$r"
			measure "$ours_intx" "who=rs irq=intx depth=$1${2:-} round=$r"
			measure $C_INTX "who=c irq=intx depth=$1${2:-} round=$r"
		else
			measure $C_INTX "who=c irq=intx depth=$1${2:-} round=$r"
			measure "$ours_intx" "who=rs irq=intx depth=$1${2:-} round=$r"
			measure $C_MSIX "who=c irq=msix depth=$1${2:-} round=$r"
			measure "$ours_msix" "who=rs irq=msix depth=$1${2:-} round=$r"
		fi
		r=$((r + 1))
	done
	echo "VBENCH-MODES depth=$1${2:-} rs_msix=$(grep -c 'PCI-MSIX-0000:00:12.0' /proc/interrupts) rs_intx=$(grep -c 'virtio_rng_rs$' /proc/interrupts)"
}

rounds 1
rounds 8
rounds 1 h
echo none >$H/rng_current
rmmod virtio_rng_rs
echo "VBENCH-STATUS fail=$fail"
