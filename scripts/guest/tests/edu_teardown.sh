#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unbind/rebind and rmmod/insmod at any moment, under an interrupt flood that
# goes on through every removal and with requests in flight: 100 cycles with
# filter sources, each unbind taking the next device in turn, then 20 unbind
# cycles with plain sources (auto-disable on the shared level lines). After
# each series every bound device still delivers, no raise timed out, and every
# edu line is back at disable depth 0. rmmod is refused while a client has
# /dev/eduN open, so it is retried.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 11

flood() {
	while [ -e /tmp/flood ]; do
		for d in $(edu_devices); do
			echo 200 >"$DBG/edu/$d/raise" 2>/dev/null
		done
	done
}
clients() {
	while [ -e /tmp/flood ]; do
		ask /dev/edu0 7 >/dev/null 2>&1
	done
}
start_load() {
	touch /tmp/flood
	flood &
	fp=$!
	clients &
	cp=$!
}
stop_load() {
	rm -f /tmp/flood
	wait $fp $cp
	edu_clean_dev
}
# unbind_cycles N: N unbind/bind cycles, each on the next device in turn.
unbind_cycles() {
	i=0
	while [ $i -lt "$1" ]; do
		n=$(edu_count)
		d=$(edu_devices | sed -n "$((i % n + 1))p")
		[ -n "$d" ] || return 1
		echo "$d" >/sys/bus/pci/drivers/edu/unbind || return 1
		echo "$d" >/sys/bus/pci/drivers/edu/bind || return 1
		i=$((i + 1))
	done
}
rmmod_cycles() {
	i=0
	while [ $i -lt 50 ]; do
		# An open /dev/eduN holds the module: retry until no client has one open.
		j=0
		until rmmod edu 2>/dev/null; do
			j=$((j + 1))
			[ $j -lt 200 ] || return 1
			sleep 0.01
		done
		edu_load irq_mode=$((1 + i % 2)) || return 1
		i=$((i + 1))
	done
}
# delivers_all: every bound device raises 100 with each one delivered (its top
# half saw it).
delivers_all() {
	ok=0
	for d in $(edu_devices); do
		before=$(edu_info "$d" test_irqs)
		echo 100 >"$DBG/edu/$d/raise" || { ktap_diag "$d: raise failed"; ok=1; }
		# A plain source's action counts right after it acknowledged: allow it
		# a moment.
		k=0
		while [ $(($(edu_info "$d" test_irqs) - before)) -lt 100 ] && [ $k -lt 100 ]; do
			sleep 0.01
			k=$((k + 1))
		done
		after=$(edu_info "$d" test_irqs)
		if [ $((after - before)) -ne 100 ]; then
			ktap_diag "$d: delivered $((after - before)) of 100"
			ok=1
		fi
	done
	return $ok
}
# no_raise_timeouts: no raise of the current bindings timed out.
no_raise_timeouts() {
	ok=0
	for d in $(edu_devices); do
		t=$(edu_info "$d" raise_timeouts)
		[ "$t" = 0 ] || { ktap_diag "$d: raise timeouts $t"; ok=1; }
	done
	return $ok
}
# lines_unmasked: every edu line is at depth 0.
lines_unmasked() {
	ok=0
	for irq in $(edu_irqs); do
		dd=$(irq_depth "$irq")
		[ "$dd" = 0 ] || { ktap_diag "IRQ $irq: depth $dd"; ok=1; }
	done
	return $ok
}

edu_load irq_mode=1
start_load
cycles() { unbind_cycles 50 && rmmod_cycles; }
ktap_result unbind_bind_rmmod_insmod_all_succeed_under_flood cycles
stop_load
ktap_result devices_deliver_every_interrupt_after_flood_cycles delivers_all
ktap_result raises_never_time_out_under_flood no_raise_timeouts
ktap_result lines_unmasked_after_flood_cycles lines_unmasked
ktap_result driver_works_after_cycles test "$(ask /dev/edu0 12)" = 479001600
ktap_result all_devices_bound_after_cycles test "$(edu_count)" -ge 4

# Plain sources: the action acknowledges, the top half masks the shared level
# line until it has (auto-disable); removals must leave no line masked.
rmmod edu && edu_load irq_mode=1 filter=0
start_load
ktap_result plain_unbind_bind_all_succeed_under_flood unbind_cycles 20
stop_load
ktap_result plain_devices_deliver_every_interrupt_after_flood_cycles delivers_all
ktap_result plain_raises_never_time_out_under_flood no_raise_timeouts
ktap_result plain_lines_unmasked_after_flood_cycles lines_unmasked
ktap_result module_unloads_after_flood_cycles edu_unload
ktap_finish
