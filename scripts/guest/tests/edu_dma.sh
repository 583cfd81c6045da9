#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DMA through the device's 4 KiB buffer: /dev/eduN-dma round trips with a
# byte-for-byte compare, at several sizes up to the maximum, and bad lengths.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 6

ktap_result module_loads_with_28_bit_dma edu_load
roundtrip() {
	head -c "$1" /dev/urandom >/tmp/dma.in
	dd if=/tmp/dma.in of=/dev/edu0-dma bs="$1" count=1 2>/dev/null || { ktap_diag "write $1 failed"; return 1; }
	dd if=/dev/edu0-dma of=/tmp/dma.out bs=4096 count=1 2>/dev/null || { ktap_diag "read $1 failed"; return 1; }
	cmp /tmp/dma.in /tmp/dma.out || { ktap_diag "$1 bytes differ"; return 1; }
}
sizes() { for n in 1 2 64 1000 4000 4095; do roundtrip $n || return 1; done; }
ktap_result dma_round_trip_1_to_4095_bytes sizes
too_long() {
	head -c 4096 /dev/zero >/tmp/dma.big
	out=$(dd if=/tmp/dma.big of=/dev/edu1-dma bs=4096 count=1 2>&1)
	echo "$out" | grep -qi 'invalid argument'
}
ktap_result dma_length_above_window_is_einval too_long
read_first() { out=$(dd if=/dev/edu2-dma of=/dev/null bs=4096 count=1 2>&1); echo "$out" | grep -qi 'invalid argument'; }
ktap_result dma_read_before_write_is_einval read_first
ktap_result dma_device_usable_after_bad_input roundtrip 777
ktap_result dma_module_unloads_after_transfers edu_unload
ktap_finish
