#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# A loop's disable-all / enable-all go through each source's own disable and
# enable: an interrupt source's line is masked and unmasked with its driver
# count (not just a flag flipped), and a command gate's waiters are woken.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 5

edu_load irq_mode=2 test_knobs=1 || exit 1
d=$(edu_devices | head -n 1)
irq=$(cat /sys/bus/pci/devices/"$d"/irq)

disable_all_masks() {
	echo disable_all >"$DBG/edu/$d/test" || return 1
	count=$(cat "$DBG/edu/$d/irq_ctl")
	depth=$(irq_depth "$irq")
	ktap_diag "after disable_all: driver count $count, MSI line $irq depth $depth"
	[ "$count" = 1 ] && [ "$depth" = 1 ]
}
ktap_result enable_all_disable_all_masks_the_interrupt_source disable_all_masks

# A request waits in the disabled command gate, then enable_all. Records the
# driver count and line depth after it, whether the request was answered
# before it (early) and the answer (ans).
enable_all_with_a_waiter() {
	rm -f /tmp/ea.ans
	(ask /dev/edu0 9 >/tmp/ea.ans) &
	asker=$!
	sleep 0.2
	early=0
	[ -s /tmp/ea.ans ] && early=1
	echo enable_all >"$DBG/edu/$d/test" || return 1
	i=0
	while [ ! -s /tmp/ea.ans ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	# A waiter nobody woke is interrupted (the wait is interruptible).
	kill $asker 2>/dev/null
	wait
	count=$(cat "$DBG/edu/$d/irq_ctl")
	depth=$(irq_depth "$irq")
	ans=$(cat /tmp/ea.ans)
	ktap_diag "after enable_all: driver count $count, depth $depth, 9! = $ans"
}
enable_all_with_a_waiter || ktap_diag "the enable_all knob failed"
unmasked() { [ "$count" = 0 ] && [ "$depth" = 0 ]; }
ktap_result enable_all_runs_interrupt_sources_own_enable unmasked
waiter_answered() {
	[ "$early" = 0 ] || { ktap_diag "answered while disabled"; return 1; }
	[ "$ans" = 362880 ]
}
ktap_result enable_all_wakes_a_request_waiting_in_the_command_gate waiter_answered
raise_20() { echo 20 >"$DBG/edu/$d/raise"; }
ktap_result enable_all_device_delivers_after raise_20
ktap_result enable_all_module_unloads edu_unload
ktap_finish
