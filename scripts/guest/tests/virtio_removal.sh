#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# samples/virtio_rng: removal at any moment ends in bounded time. rng2 is rate
# limited (64 bytes an hour), so its readers stay blocked in the driver:
# unbinding it 50 times with readers blocked (and 10 times with hardirq=1) (each unbind within 30 s, each
# reader released within 10 s), and hot-unplugging it (QMP
# device_del) with a reader blocked, must return and release every reader;
# rmmod and insmod under a load of readers on rng0 must too. Linux's C driver
# on rng1 keeps serving bytes throughout.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
. /guest/tests/virtio_common.inc
ktap_header
ktap_plan 4

virtio_setup || exit 1
RNG0=$(edu_slot_addr rng0)
RNG2=$(edu_slot_addr rng2)

# blocked_reader PCI: a reader of device PCI's hwrng, waiting in the driver
# (the core's own reader, hwrng_fillfn, may be the one waiting there, with the
# `dd` behind it on the core's reading mutex); prints the dd's pid.
blocked_reader() {
	vrs_name "$1" >"$HWRNG/rng_current" || return 1
	dd if=/dev/hwrng of=/dev/null bs=64 count=4 2>/dev/null &
	_pid=$!
	wait_waiting "$1" || { ktap_diag "no reader waits in the driver"; kill "$_pid"; return 1; }
	echo "$_pid"
}

# unbind_cycles N [PARAM...]: N unbinds of rng2, each with a reader blocked.
unbind_cycles() {
	_n=$1
	shift
	vrs_unload
	insmod "$VRS_KO" "$@" || return 1
	i=0
	while [ $i -lt "$_n" ]; do
		[ -d "$(vrs_dir "$RNG2")" ] || vrs_bind "$RNG2" || { ktap_diag "cycle $i: bind failed"; return 1; }
		pid=$(blocked_reader "$RNG2") || { ktap_diag "cycle $i"; return 1; }
		vrs_unbind "$RNG2" || { ktap_diag "cycle $i: unbind failed or hung"; return 1; }
		gone_within "$pid" 10 || { ktap_diag "cycle $i: the reader is still blocked"; kill "$pid"; return 1; }
		i=$((i + 1))
	done
	vrs_bind "$RNG2" || return 1
	c_driver_works
}

virtio_unbind_with_blocked_readers_50_cycles() { unbind_cycles 50; }
# The reader sleeps on the top half's bell, not on the loop's condition.
virtio_hardirq_unbind_with_blocked_readers_10_cycles() { unbind_cycles 10 hardirq=1; }

virtio_rmmod_insmod_under_load() {
	vrs_unload
	insmod "$VRS_KO" || return 1
	pids=""
	for r in 1 2 3; do
		(while :; do dd if=/dev/hwrng of=/dev/null bs=4096 count=1 2>/dev/null; done) &
		pids="$pids $!"
	done
	rc=0
	for i in 1 2 3 4 5; do
		vrs_name "$RNG0" >"$HWRNG/rng_current" || rc=1
		sleep 0.3
		vrs_unload || { ktap_diag "cycle $i: rmmod failed or hung"; rc=1; break; }
		insmod "$VRS_KO" || { ktap_diag "cycle $i: insmod failed"; rc=1; break; }
	done
	kill $pids
	for p in $pids; do
		gone_within "$p" 10 || { ktap_diag "a reader is still blocked"; rc=1; }
	done
	read_from "$(vrs_name "$RNG0")" 4096 || rc=1
	c_driver_works || rc=1
	return $rc
}

virtio_hot_unplug_with_blocked_reader() {
	[ -d "$(vrs_dir "$RNG2")" ] || vrs_bind "$RNG2" || return 1
	pid=$(blocked_reader "$RNG2") || return 1
	host_unplug rng2 || return 1
	wait_gone "$RNG2" 60 || { ktap_diag "rng2 still there after 60 s"; kill "$pid"; return 1; }
	gone_within "$pid" 10 || { ktap_diag "the reader is still blocked"; kill "$pid"; return 1; }
	# Back without the rate limit, so that it can be read again.
	host_replug rng2 disable-legacy=on || return 1
	wait_present "$RNG2" 60 || { ktap_diag "rng2 did not come back"; return 1; }
	# Linux's virtio_pci takes a new device; hand it to the sample again.
	virtio_claim rng2 >/dev/null && vrs_bind "$RNG2" || { ktap_diag "rebinding rng2 failed"; return 1; }
	read_from "$(vrs_name "$RNG2")" 4096 || return 1
	c_driver_works
}

ktap_result virtio_unbind_with_blocked_readers_50_cycles virtio_unbind_with_blocked_readers_50_cycles
ktap_result virtio_hardirq_unbind_with_blocked_readers_10_cycles virtio_hardirq_unbind_with_blocked_readers_10_cycles
ktap_result virtio_rmmod_insmod_under_load virtio_rmmod_insmod_under_load
ktap_result virtio_hot_unplug_with_blocked_reader virtio_hot_unplug_with_blocked_reader
hwrng_quiet
vrs_unload
ktap_finish
