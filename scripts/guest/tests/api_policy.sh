#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed API: WDF's SetPolicy (the processors a line's interrupts go to), set
# through edu's irq_ctl knob and read back from the kernel's own files.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 6

dev() { edu_devices | head -n 1; }
line() { sed -n 's/^irq: //p' "$DBG/edu/$(dev)/irq_info"; }
policy() { echo "$1" >"$DBG/edu/$(dev)/irq_ctl"; }

# set_and_check POLICY WANT: after POLICY, the line's affinity list and, where
# that is one CPU, the effective affinity and the library's info() are WANT.
set_and_check() {
	policy "$1" || { ktap_diag "$1 refused"; return 1; }
	irq=$(line)
	# Without interrupt remapping x86 moves an MSI's vector from inside its
	# next interrupts (a pending move): raise a few until it has moved.
	case "$2" in *-* | *,*) n=1 ;; *) n=5 ;; esac
	while [ $n -gt 0 ]; do
		echo 1 >"$DBG/edu/$(dev)/raise" || return 1
		[ "$(cat "/proc/irq/$irq/effective_affinity_list")" = "$2" ] && break
		n=$((n - 1))
	done
	aff=$(cat "/proc/irq/$irq/smp_affinity_list")
	eff=$(cat "/proc/irq/$irq/effective_affinity_list")
	info=$(sed -n 's/^target_cpus: //p' "$DBG/edu/$(dev)/irq_info")
	ktap_diag "$1: IRQ $irq affinity $aff effective $eff info $info"
	[ "$aff" = "$2" ] || return 1
	[ "$eff" = "$info" ] || return 1
	case "$2" in *-* | *,*) ;; *) [ "$eff" = "$2" ] || return 1 ;; esac
}

specified_cpus() { set_and_check "affinity 1" 1 && set_and_check "affinity 0" 0; }
all_processors() { set_and_check "affinity all" "0-$(($(grep -c ^processor /proc/cpuinfo) - 1))"; }
# The close policies: no NUMA here, so every CPU is close; the first is 0.
close_processors() {
	every="0-$(($(grep -c ^processor /proc/cpuinfo) - 1))"
	set_and_check "affinity 1" 1 && set_and_check "affinity one_close" 0 &&
		set_and_check "affinity 1" 1 && set_and_check "affinity all_close" "$every" &&
		set_and_check "affinity default" "$every"
}
# One CPU per message: edu's only vector is message 0, the first CPU.
spread_messages() { set_and_check "affinity 1" 1 && set_and_check "affinity spread" 0; }
# WDF's GROUP_AFFINITY: group 0 is the machine; any other is refused.
processor_groups() {
	set_and_check "affinity group 0 2" 1 || return 1
	if policy "affinity group 1 1" 2>/dev/null; then
		ktap_diag "group 1 was accepted"
		return 1
	fi
	[ "$(cat "/proc/irq/$(line)/smp_affinity_list")" = 1 ]
}
refuses_offline() {
	irq=$(line)
	cpu1=/sys/devices/system/cpu/cpu1/online
	echo 0 >"$cpu1" || { ktap_diag "cannot take CPU 1 offline"; return 1; }
	before=$(cat "/proc/irq/$irq/smp_affinity_list")
	rc=0
	if policy "affinity 1" 2>/dev/null; then
		ktap_diag "a mask whose only CPU is offline was accepted"
		rc=1
	fi
	[ "$(cat "/proc/irq/$irq/smp_affinity_list")" = "$before" ] || rc=1
	echo 1 >"$cpu1"
	return $rc
}

edu_load irq_mode=2 || ktap_diag "insmod edu failed"
ktap_result api_set_policy_specified_processors_become_the_effective_affinity specified_cpus
ktap_result api_set_policy_all_processors all_processors
ktap_result api_set_policy_refuses_a_mask_with_no_online_cpu refuses_offline
ktap_result api_set_policy_close_processors_and_machine_default close_processors
ktap_result api_set_policy_spread_gives_each_message_its_cpu spread_messages
ktap_result api_set_policy_group_zero_only processor_groups
edu_unload
ktap_finish
