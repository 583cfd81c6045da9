#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed APIs: WDF's interrupt lock excludes the top half, and DriverKit's
# GetLastInterrupt reads its count and time together, as the bottom half
# (InterruptOccurred) is handed them. The knobs run on a CPU
# the line does not target, so the top half spins on the lock rather than
# waiting for interrupts to come back on (see test_knobs.rs).
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 3

# knob_on_other_cpu WORD: writes WORD to the first device's test knob from a
# CPU the device's line does not target.
knob_on_other_cpu() {
	d=$(edu_devices | head -n 1)
	irq=$(sed -n 's/^irq: //p' "$DBG/edu/$d/irq_info")
	target=$(cut -d, -f1 "/proc/irq/$irq/effective_affinity_list" | cut -d- -f1)
	other=$(( target == 0 ? 1 : 0 ))
	if ! taskset "$(printf '%x' $((1 << other)))" sh -c "echo $1 >$DBG/edu/$d/test"; then
		ktap_diag "$1 on CPU $other (IRQ $irq targets $target): $(dmesg | grep 'edu:' | tail -n 2)"
		return 1
	fi
}

edu_load test_knobs=1 || ktap_diag "insmod edu failed"
ktap_result api_interrupt_lock_excludes_top_half knob_on_other_cpu lock_then_raise
ktap_result api_last_interrupt_never_pairs_a_time_with_another_count knob_on_other_cpu last_interrupt_torn
ktap_result api_interrupt_occurred_gets_the_count_with_its_time knob_on_other_cpu occurred_pair
edu_unload
ktap_finish
