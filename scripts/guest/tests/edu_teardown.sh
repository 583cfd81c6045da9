#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Unbind/rebind and rmmod/insmod at any moment, under an interrupt flood and
# with requests in flight: 100 cycles, then the driver still works. rmmod is
# refused while a client has /dev/eduN open, so it is retried.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 4

edu_load irq_mode=1
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
touch /tmp/flood
flood &
fp=$!
clients &
cp=$!
cycles() {
	i=0
	while [ $i -lt 50 ]; do
		d=$(edu_devices | head -n 1)
		[ -n "$d" ] || return 1
		echo "$d" >/sys/bus/pci/drivers/edu/unbind || return 1
		echo "$d" >/sys/bus/pci/drivers/edu/bind || return 1
		i=$((i + 1))
	done
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
ktap_result unbind_rebind_and_rmmod_insmod_100_cycles_under_flood cycles
rm -f /tmp/flood
wait $fp $cp
ktap_result driver_works_after_cycles test "$(ask /dev/edu0 12)" = 479001600
ktap_result all_devices_bound_after_cycles test "$(edu_count)" -ge 4
ktap_result module_unloads edu_unload
ktap_finish
