#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Interrupt delivery on real lines: shared INTx with the filter, MSI, and
# plain sources on level lines (auto-disable); no interrupt is lost and every
# line ends enabled.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 11

# raise_all PER_DEVICE: raises on every device at once, waits.
raise_all() {
	for d in $(edu_devices); do
		echo "$1" >"$DBG/edu/$d/raise" &
	done
	wait
}
# Every device delivered exactly what was raised: top-half count, delivered
# count of the library (sum of the counts handed to actions), raise count.
counts_match() {
	for d in $(edu_devices); do
		raised=$(edu_info "$d" raised)
		seen=$(edu_info "$d" test_irqs)
		if [ "$raised" != "$1" ] || [ "$seen" != "$1" ]; then
			ktap_diag "$d: raised=$raised seen=$seen want $1"
			return 1
		fi
	done
	# The library's delivered counts: one source per loop.
	total=0
	for s in "$DBG"/workloop/edu*/edu/stats; do
		total=$((total + $(sed -n 's/^delivered: //p' "$s")))
	done
	want=$(($1 * $(edu_count)))
	if [ "${2:-exact}" = exact ]; then
		[ "$total" = "$want" ] || { ktap_diag "delivered $total, want $want"; return 1; }
	else
		# A plain source cannot tell whose interrupt it is: on a shared line it
		# counts its neighbours' interrupts too.
		[ "$total" -ge "$want" ] || { ktap_diag "delivered $total, want >= $want"; return 1; }
	fi
}
lines_enabled() {
	for irq in $(edu_irqs); do
		dep=$(irq_depth "$irq")
		[ "$dep" = 0 ] || { ktap_diag "IRQ $irq depth $dep"; return 1; }
	done
}
shared_lines() {
	# At least one line carries two edu devices or edu and another device.
	grep -qE 'edu, |, edu' /proc/interrupts || {
		ktap_diag "no shared line:"; grep edu /proc/interrupts | sed 's/^/# /'; return 1; }
}

# Prints the state of every edu line and source (after a failure).
diagnose() {
	for irq in $(edu_irqs); do
		ktap_diag "IRQ $irq: $(irq_info "$irq" | grep -E 'ddepth|istate|dstate'  | tr '\n' ' ')"
	done
	for l in "$DBG"/workloop/edu*; do
		ktap_diag "$l: $(cat "$l/stats" "$l/edu/stats" | tr '\n' ' ')"
	done
	for d in $(edu_devices); do ktap_diag "$d: $(cat "$DBG/edu/$d/info" | tr '\n' ' ')"; done
}

edu_load irq_mode=1
ktap_result intx_lines_are_shared shared_lines
raise_all 25000
ktap_result shared_intx_100000_raises_all_delivered counts_match 25000
ktap_result shared_intx_lines_enabled_at_end lines_enabled
edu_unload

edu_load irq_mode=2
# The trigger type as the IRQ core has it, for the device's current vector.
is_msi() { [ -e "/sys/bus/pci/devices/$1/msi_irqs/$(cat "/sys/bus/pci/devices/$1/irq")" ]; }
is_level() { irq_info "$(cat "/sys/bus/pci/devices/$1/irq")" | grep -q IRQD_LEVEL; }
msi_edge() {
	for d in $(edu_devices); do
		is_msi "$d" && ! is_level "$d" || { ktap_diag "$d: not an edge MSI vector"; return 1; }
	done
}
ktap_result msi_vectors_are_edge msi_edge
raise_all 10000
ktap_result msi_raises_all_delivered counts_match 10000
edu_unload

# MSI and INTx side by side.
edu_load irq_mode=3
mixed() {
	msi=0 intx=0
	for d in $(edu_devices); do
		if is_msi "$d"; then
			! is_level "$d" || return 1
			msi=$((msi + 1))
		else
			is_level "$d" || return 1
			intx=$((intx + 1))
		fi
	done
	[ $msi -gt 0 ] && [ $intx -gt 0 ] || { ktap_diag "$msi MSI, $intx INTx devices"; return 1; }
}
ktap_result mixed_mode_has_msi_and_intx mixed
raise_all 5000
ktap_result mixed_msi_intx_raises_all_delivered counts_match 5000
edu_unload

# Plain sources (no filter) on level INTx lines: the top half masks the line,
# the action acknowledges the device and the loop unmasks it.
edu_load irq_mode=1 filter=0
for d in $(edu_devices); do echo 3000 >"$DBG/edu/$d/raise" || diagnose; done
ktap_result plain_level_raises_all_delivered counts_match 3000 atleast
# One auto-disable cycle per top half, so at least one per interrupt raised.
auto_disabled() {
	for d in $(edu_devices); do
		s="$DBG/workloop/$(edu_info "$d" loop)/edu/stats"
		n=$(sed -n 's/^auto_disable_cycles: //p' "$s")
		e=$(sed -n 's/^events: //p' "$s")
		[ "$n" = "$e" ] && [ "$n" -ge "$(edu_info "$d" raised)" ] ||
			{ ktap_diag "$d: $n auto-disable cycles, $e top halves, $(edu_info "$d" raised) raised"; return 1; }
	done
}
ktap_result level_lines_auto_disabled_per_interrupt auto_disabled
ktap_result plain_level_lines_enabled_at_end lines_enabled
edu_unload
ktap_result shared_lines_never_flagged_spurious sh -c '! dmesg | grep -q "nobody cared"'
ktap_finish
