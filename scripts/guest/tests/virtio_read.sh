#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# samples/virtio_rng: the data path. Every byte the device wrote (the used
# ring's lengths) is read through /dev/hwrng or still held, and every queue
# interrupt /proc counted reached the bottom half through the library: on
# MSI-X, on INTx, and with eight buffers in flight; with hardirq=1 every
# queue interrupt was completed by the top half instead, none went to the
# loop, and no reader missed a wake-up. Concurrent readers all
# get their bytes; a read that may not wait returns at once; Linux's C
# driver on the other device keeps working.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
. /guest/tests/virtio_common.inc
ktap_header
ktap_plan 7

virtio_setup || exit 1
RNG0=$(edu_slot_addr rng0)
RNG2=$(edu_slot_addr rng2)

# counts_agree PCI: after a read, the counts settle and agree; no used entry
# was bad and no harvest waited for the reader's one-second safety net.
counts_agree() {
	hwrng_quiet
	vrs_settled "$1" || return 1
	[ "$(vrs_stat "$1" bad)" = 0 ] || { ktap_diag "bad used entries: $(vrs_stat "$1" bad)"; return 1; }
	[ "$(vrs_stat "$1" polled)" = 0 ] || ktap_diag "note: $(vrs_stat "$1" polled) harvest(s) by a reader's timeout"
	return 0
}

virtio_bytes_read_equal_bytes_delivered_msix() {
	vrs_unload
	insmod "$VRS_KO" || return 1
	read_from "$(vrs_name "$RNG0")" 65536 || return 1
	counts_agree "$RNG0" || return 1
	irqs_settled "$RNG0" "$(proc_irq "$RNG0" virtio_rng_rs-queue)" || return 1
	[ "$(vrs_stat "$RNG0" bytes_read)" -ge 65536 ]
}

virtio_bytes_read_equal_bytes_delivered_intx() {
	vrs_unload
	insmod "$VRS_KO" intx=1 || return 1
	read_from "$(vrs_name "$RNG0")" 65536 || return 1
	counts_agree "$RNG0" || return 1
	# The line is shared: /proc counts every device on it; the device's own
	# top halves (ISR set) and the deliveries must agree.
	[ "$(vrs_stat "$RNG0" top)" = "$(vrs_stat "$RNG0" delivered)" ] ||
		{ ktap_diag "top $(vrs_stat "$RNG0" top), delivered $(vrs_stat "$RNG0" delivered)"; return 1; }
}

virtio_deep_mode_bytes_agree() {
	vrs_unload
	insmod "$VRS_KO" depth=8 || return 1
	[ "$(vrs_stat "$RNG0" depth)" = 8 ] || return 1
	read_from "$(vrs_name "$RNG0")" 65536 || return 1
	counts_agree "$RNG0" || return 1
	irqs_settled "$RNG0" "$(proc_irq "$RNG0" virtio_rng_rs-queue)"
}

# hardirq_counts_agree PCI: with hardirq=1, no queue interrupt reached the
# bottom half, and no reader waited for its one-second safety net (a wake-up
# the bell lost would show there).
hardirq_counts_agree() {
	counts_agree "$1" || return 1
	[ "$(vrs_stat "$1" hardirq)" = 1 ] || { ktap_diag "hardirq=1 not in effect"; return 1; }
	[ "$(vrs_stat "$1" delivered)" = 0 ] || { ktap_diag "delivered $(vrs_stat "$1" delivered) with hardirq=1"; return 1; }
	[ "$(vrs_stat "$1" polled)" = 0 ] || { ktap_diag "$(vrs_stat "$1" polled) harvest(s) by a reader's timeout: a lost wake-up"; return 1; }
	[ "$(vrs_stat "$1" rung)" -gt 0 ] || { ktap_diag "the top half rang no bell"; return 1; }
}

virtio_hardirq_top_half_completes_msix() {
	vrs_unload
	insmod "$VRS_KO" hardirq=1 || return 1
	read_from "$(vrs_name "$RNG0")" 65536 || return 1
	hardirq_counts_agree "$RNG0" || return 1
	irqs_settled "$RNG0" "$(proc_irq "$RNG0" virtio_rng_rs-queue)" rung
}

virtio_hardirq_top_half_completes_intx() {
	vrs_unload
	insmod "$VRS_KO" hardirq=1 intx=1 || return 1
	read_from "$(vrs_name "$RNG0")" 65536 || return 1
	hardirq_counts_agree "$RNG0" || return 1
	# No configuration change: every interrupt of the device's own rang.
	[ "$(vrs_stat "$RNG0" top)" = "$(vrs_stat "$RNG0" rung)" ] ||
		{ ktap_diag "top $(vrs_stat "$RNG0" top), rung $(vrs_stat "$RNG0" rung)"; return 1; }
}

virtio_concurrent_readers_all_served() {
	echo "$(vrs_name "$RNG0")" >"$HWRNG/rng_current" || return 1
	for r in 1 2 3 4; do
		dd if=/dev/hwrng of=/tmp/rd.$r bs=64 count=200 2>/dev/null &
	done
	wait
	rc=0
	for r in 1 2 3 4; do
		n=$(wc -c </tmp/rd.$r)
		[ "$n" = 12800 ] || { ktap_diag "reader $r got $n of 12800 bytes"; rc=1; }
		rm -f /tmp/rd.$r
	done
	counts_agree "$RNG0" || rc=1
	c_driver_works || rc=1
	return $rc
}

virtio_read_that_may_not_wait_returns_at_once() {
	# rng2 gave its 64 bytes of the hour; what is left is read without waiting.
	i=0
	while [ "$(cat "$(vrs_dir "$RNG2")/nowait")" != 0 ] && [ $i -lt 5 ]; do i=$((i + 1)); done
	got=$(timeout 5 cat "$(vrs_dir "$RNG2")/nowait") || { ktap_diag "a read that may not wait waited"; return 1; }
	[ "$got" = 0 ] || { ktap_diag "starved device gave '$got'"; return 1; }
	# The device with entropy: its buffer fills, and a read takes it.
	sleep 0.2
	got=$(timeout 5 cat "$(vrs_dir "$RNG0")/nowait")
	[ "$got" -gt 0 ] 2>/dev/null || { ktap_diag "rng0 without waiting: '$got'"; return 1; }
}

ktap_result virtio_bytes_read_equal_bytes_delivered_msix virtio_bytes_read_equal_bytes_delivered_msix
ktap_result virtio_bytes_read_equal_bytes_delivered_intx virtio_bytes_read_equal_bytes_delivered_intx
ktap_result virtio_deep_mode_bytes_agree virtio_deep_mode_bytes_agree
ktap_result virtio_hardirq_top_half_completes_msix virtio_hardirq_top_half_completes_msix
ktap_result virtio_hardirq_top_half_completes_intx virtio_hardirq_top_half_completes_intx
ktap_result virtio_concurrent_readers_all_served virtio_concurrent_readers_all_served
ktap_result virtio_read_that_may_not_wait_returns_at_once virtio_read_that_may_not_wait_returns_at_once
vrs_unload
ktap_finish
