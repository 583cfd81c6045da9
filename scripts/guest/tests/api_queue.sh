#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed API: WDF's WdfInterruptQueueDpcForIsr answers whether it queued the DPC;
# FilterContext::signal_interrupt answers whether this call made the source
# pending. While the source is disabled on a shared INTx line the filter still
# runs and signals: only the first of a burst makes it pending, the rest find
# it pending; once the action delivered them, the next signal does again.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 1

# delivered D: what the library handed to device D's action so far.
delivered() {
	loop=$(edu_info "$1" loop)
	sed -n 's/^delivered: //p' "$DBG/workloop/$loop/edu/stats"
}

# wait_delivered D N: waits up to 5 s until D's action was handed N.
wait_delivered() {
	i=0
	while [ "$(delivered "$1")" != "$2" ] && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	[ "$(delivered "$1")" = "$2" ]
}

signal_answers_whether_it_made_the_source_pending() {
	d=$(edu_devices | head -n 1)
	start=$(edu_info "$d" made_pending)
	got=$(delivered "$d")
	echo disable >"$DBG/edu/$d/irq_ctl" || return 1
	echo 5 >"$DBG/edu/$d/raise" || return 1
	held=$(edu_info "$d" made_pending)
	echo enable >"$DBG/edu/$d/irq_ctl" || return 1
	wait_delivered "$d" $((got + 5)) || { ktap_diag "$d: delivered $(delivered "$d"), want $((got + 5))"; return 1; }
	echo 1 >"$DBG/edu/$d/raise" || return 1
	wait_delivered "$d" $((got + 6)) || { ktap_diag "$d: delivered $(delivered "$d"), want $((got + 6))"; return 1; }
	after=$(edu_info "$d" made_pending)
	ktap_diag "$d: made_pending $start, after a held burst of 5 $held, after one more $after"
	[ "$held" = $((start + 1)) ] && [ "$after" = $((start + 2)) ]
}

edu_load irq_mode=1 || ktap_diag "insmod edu failed"
ktap_result api_signal_interrupt_answers_whether_it_made_the_source_pending \
	signal_answers_whether_it_made_the_source_pending
edu_unload
ktap_finish
