#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# One interrupt counts once: a filter that signals the interrupt and then
# answers "schedule" delivers one count to the action, not two.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 2

edu_load irq_mode=2 test_knobs=1 || exit 1
d=$(edu_devices | head -n 1)
st=$DBG/workloop/edu0/edu/stats
delivered() { sed -n 's/^delivered: //p' "$st"; }

signal_then_schedule() {
	echo signal_and_schedule >"$DBG/edu/$d/test" || return 1
	before=$(delivered)
	echo 100 >"$DBG/edu/$d/raise" || return 1
	i=0
	while [ $(($(delivered) - before)) -lt 100 ] && [ $i -lt 100 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	# Any second count would have been delivered with the first.
	sleep 0.1
	n=$(($(delivered) - before))
	ktap_diag "100 raises, $n delivered"
	[ "$n" -eq 100 ]
}
ktap_result count_signal_then_schedule_counts_once signal_then_schedule
ktap_result count_module_unloads edu_unload
ktap_finish
