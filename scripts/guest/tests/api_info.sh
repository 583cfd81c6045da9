#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed APIs: WDF's GetInfo and DriverKit's static GetInterruptType, compared
# with the kernel's own view of each edu device's line (sysfs, procfs, the IRQ
# core's state), on MSI and shared INTx lines (irq_mode=3 alternates them).
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 3

# info_field PCI FIELD: a field of edu/<pci>/irq_info.
info_field() { sed -n "s/^$2: //p" "$DBG/edu/$1/irq_info"; }

# What the kernel says the line of device D is: its IRQ, kind and mode.
kernel_kind() {
	f="/sys/bus/pci/devices/$1/msi_irqs/$2"
	if [ -e "$f" ]; then cat "$f"; else echo line; fi
}
kernel_mode() { if irq_info "$1" | grep -q IRQD_LEVEL; then echo level; else echo edge; fi; }

info_matches_kernel() {
	rc=0
	for d in $(edu_devices); do
		irq=$(info_field "$d" irq)
		want_irq=$(cat "/sys/bus/pci/devices/$d/irq")
		kind=$(info_field "$d" kind)
		mode=$(info_field "$d" mode)
		cpus=$(info_field "$d" target_cpus)
		want_cpus=$(cat "/proc/irq/$irq/effective_affinity_list" 2>/dev/null)
		if [ "$irq" != "$want_irq" ] || [ "$kind" != "$(kernel_kind "$d" "$irq")" ] ||
			[ "$mode" != "$(kernel_mode "$irq")" ] || [ "$cpus" != "$want_cpus" ]; then
			ktap_diag "$d: info irq=$irq kind=$kind mode=$mode cpus=$cpus;" \
				"kernel irq=$want_irq kind=$(kernel_kind "$d" "$irq") mode=$(kernel_mode "$irq") cpus=$want_cpus"
			rc=1
		fi
	done
	return $rc
}

# MSI is an edge with a message number and no polarity; INTx is a shared
# level line without one.
kinds_have_their_shape() {
	rc=0
	for d in $(edu_devices); do
		shape="$(info_field "$d" kind) $(info_field "$d" message) $(info_field "$d" mode) $(info_field "$d" shared)"
		case "$shape" in
		"msi 0 edge false" | "line none level true") ;;
		*) ktap_diag "$d: $shape"; rc=1 ;;
		esac
	done
	return $rc
}

type_before_equals_type_after() {
	rc=0
	for d in $(edu_devices); do
		before=$(info_field "$d" type_before_source)
		after=$(info_field "$d" mode)
		[ -n "$before" ] && [ "$before" = "$after" ] || { ktap_diag "$d: before $before, after $after"; rc=1; }
	done
	return $rc
}

edu_load irq_mode=3 || ktap_diag "insmod edu failed"
ktap_result api_get_info_matches_the_kernel info_matches_kernel
ktap_result api_get_info_msi_and_intx_have_their_shape kinds_have_their_shape
ktap_result api_interrupt_type_before_a_source_exists_matches_the_line type_before_equals_type_after
edu_unload
ktap_finish
