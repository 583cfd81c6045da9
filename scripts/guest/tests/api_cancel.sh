#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed API: DriverKit's Cancel, from inside the action and under a flood of
# interrupts, on a shared INTx line (device 1: the flood goes on after the
# cancel and the dying top half acknowledges it) and on an MSI vector (device
# 0: exclusive, so it stays masked). The cancel handler runs once, after which
# no action runs; every later call answers ENODEV; the exclusive line stays
# masked until the source is dropped; and both devices unbind in bounded time
# with the flood still going.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 4

# flood_start D: raises interrupts on D until flood_stop.
flood_pids=""
flood_start() {
	touch /tmp/flood
	(while [ -e /tmp/flood ]; do echo 200 >"$DBG/edu/$1/raise" 2>/dev/null || sleep 0.01; done) &
	flood_pids="$flood_pids $!"
}
flood_stop() {
	rm -f /tmp/flood
	wait $flood_pids
}

# cancel_under_a_flood N: cancels device N's source from inside its action.
d=""
cancel_under_a_flood() {
	d=$(edu_devices | sed -n "$(($1 + 1))p")
	irq=$(sed -n 's/^irq: //p' "$DBG/edu/$d/irq_info")
	before=$(edu_info "$d" actions)
	flood_start "$d"
	echo cancel_in_action >"$DBG/edu/$d/test"
	rc=$?
	ktap_diag "$d: actions $before before, $(edu_info "$d" actions) after; cancels $(edu_info "$d" cancels); raised $(edu_info "$d" raised)"
	[ $rc -eq 0 ] || ktap_diag "$(dmesg | grep 'edu' | tail -n 3)"
	[ $rc -eq 0 ] && [ "$(edu_info "$d" cancels)" = 1 ]
}

cancelled_source_refuses_and_keeps_its_line_masked() {
	err=$(echo enable 2>&1 >"$DBG/edu/$d/irq_ctl")
	err2=$(echo "set_enable on" 2>&1 >"$DBG/edu/$d/irq_ctl")
	depth=$(irq_depth "$irq")
	ktap_diag "enable: '$err'; set_enable on: '$err2'; IRQ $irq depth $depth"
	case "$err$err2" in
	*"No such device"*"No such device"*) ;;
	*) return 1 ;;
	esac
	[ "$depth" = 1 ]
}

cancelled_devices_unbind_under_the_flood() {
	start=$(date +%s)
	for n in 0 1; do
		echo "$(edu_devices | head -n 1)" >/sys/bus/pci/drivers/edu/unbind || return 1
	done
	took=$(($(date +%s) - start))
	flood_stop
	ktap_diag "unbinding both took ${took}s"
	[ "$took" -le 10 ]
}

edu_load test_knobs=1 irq_mode=3 || ktap_diag "insmod edu failed"
ktap_result api_cancel_from_inside_the_action_under_a_flood_on_a_shared_line cancel_under_a_flood 1
ktap_result api_cancel_from_inside_the_action_under_a_flood_on_an_msi_vector cancel_under_a_flood 0
ktap_result api_cancel_then_every_call_answers_enodev_and_the_line_stays_masked \
	cancelled_source_refuses_and_keeps_its_line_masked
ktap_result api_cancelled_devices_unbind_under_the_flood cancelled_devices_unbind_under_the_flood
flood_stop 2>/dev/null
edu_unload
edu_clean_dev
ktap_finish
