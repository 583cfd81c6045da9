#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# enable/disable depth balance on real lines: the driver's disable count nests,
# maps to exactly one Linux disable on an exclusive (MSI) line and to none on a
# shared INTx line, an unbalanced enable is refused, interrupts raised while
# disabled are held and delivered on enable, an enable with nothing held wakes
# no pass of the loop, and the line ends where it began.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 11

ctl() { echo "$2" >"$DBG/edu/$1/irq_ctl"; }
depth_of() { cat "$DBG/edu/$1/irq_ctl"; }
# Linux IRQ number of device N (from the probe message).
irq_of() { dmesg | grep "edu $1:" | tail -n 1 | sed -n 's/.* on IRQ \([0-9]*\) .*/\1/p'; }
delivered() { sed -n 's/^delivered: //p' "$DBG/workloop/$2/edu/stats"; }

# check DEV LOOP SHARED: the nesting and held-delivery sequence on one device.
# On an exclusive line it also sets no_pass=1 if the enables, with nothing
# held, woke no pass of the loop.
check() {
	d=$1 loop=$2 shared=$3
	no_pass=0
	irq=$(irq_of "$d")
	[ -n "$irq" ] || { ktap_diag "$d: no IRQ"; return 1; }
	base=$(irq_depth "$irq")
	ctl "$d" disable && ctl "$d" disable || return 1
	want=$((base + 1))
	[ "$shared" = 1 ] && want=$base
	[ "$(depth_of "$d")" = 2 ] && [ "$(irq_depth "$irq")" = "$want" ] ||
		{ ktap_diag "$d: after 2 disables count $(depth_of "$d") ddepth $(irq_depth "$irq"), want 2/$want"; return 1; }
	before=$(delivered "$d" "$loop")
	if [ "$shared" = 1 ]; then
		# The filter still acknowledges on a shared line: raising works, the
		# action is held.
		echo 5 >"$DBG/edu/$d/raise" || return 1
		sleep 0.2
		[ "$(delivered "$d" "$loop")" = "$before" ] || { ktap_diag "$d: action ran while disabled"; return 1; }
	fi
	passes0=$(sed -n 's/^passes: //p' "$DBG/workloop/$loop/stats")
	ctl "$d" enable || return 1
	[ "$(depth_of "$d")" = 1 ] && [ "$(irq_depth "$irq")" = "$want" ] ||
		{ ktap_diag "$d: after 1 enable ddepth $(irq_depth "$irq")"; return 1; }
	ctl "$d" enable || return 1
	[ "$(depth_of "$d")" = 0 ] && [ "$(irq_depth "$irq")" = "$base" ] ||
		{ ktap_diag "$d: after 2 enables ddepth $(irq_depth "$irq"), want $base"; return 1; }
	if [ "$shared" = 0 ]; then
		# Nothing was held: enabling wakes no pass.
		passes=$(sed -n 's/^passes: //p' "$DBG/workloop/$loop/stats")
		if [ "$passes" = "$passes0" ]; then
			no_pass=1
		else
			ktap_diag "$d: $((passes - passes0)) passes for an enable with nothing held"
		fi
	fi
	if [ "$shared" = 1 ]; then
		sleep 0.2
		[ "$(delivered "$d" "$loop")" = $((before + 5)) ] ||
			{ ktap_diag "$d: held interrupts not delivered: $(delivered "$d" "$loop") want $((before + 5))"; return 1; }
	fi
}
unbalanced() {
	out=$( { echo enable >"$DBG/edu/$1/irq_ctl"; } 2>&1)
	echo "$out" | grep -qi 'invalid argument' && [ "$(depth_of "$1")" = 0 ]
}

edu_load irq_mode=3
msi=$(edu_devices | sed -n 1p)
intx=$(edu_devices | sed -n 2p)
ktap_result exclusive_msi_disable_nests_and_balances check "$msi" edu0 0
ktap_result exclusive_msi_enable_with_nothing_held_wakes_no_pass test $no_pass = 1
ktap_result shared_intx_disable_is_logical_and_balances check "$intx" edu1 1
ktap_result unbalanced_enable_is_refused unbalanced "$msi"
ktap_result unbalanced_enable_is_refused_shared unbalanced "$intx"
# Both devices still deliver every interrupt after the disable/enable cycles.
delivers() {
	for pair in "$msi edu0" "$intx edu1"; do
		set -- $pair
		d0=$(delivered "$1" "$2")
		echo 100 >"$DBG/edu/$1/raise" || return 1
		[ $(($(delivered "$1" "$2") - d0)) = 100 ] ||
			{ ktap_diag "$1: delivered $(($(delivered "$1" "$2") - d0)) of 100"; return 1; }
	done
}
ktap_result device_still_delivers_after_cycles delivers
# Teardown with the source disabled: the line must not stay masked for the
# other devices on it.
ctl "$intx" disable
ctl "$msi" disable
ktap_result module_unloads_with_sources_disabled edu_unload
# Teardown of a disabled source leaves its line working for the device that
# stays: one device of a shared line is unbound (its source disabled, and with
# an interrupt held) while its sibling keeps the line requested, so no fresh
# request_irq resets the depth. Plain sources: the held interrupt is one the
# top half would auto-mask.
edu_load irq_mode=1 filter=0
X=$(edu_slot_addr edu1)
Y=$(edu_slot_addr edu3)
L=$(cat "/sys/bus/pci/devices/$X/irq")
unbind_disabled() {
	[ "$(cat "/sys/bus/pci/devices/$Y/irq")" = "$L" ] || { ktap_diag "edu1 and edu3 not on one line"; return 1; }
	ctl "$X" disable || return 1
	echo 3 >"$DBG/edu/$X/raise" || return 1
	echo "$X" >/sys/bus/pci/drivers/edu/unbind || return 1
	[ "$(irq_depth "$L")" = 0 ] || { ktap_diag "IRQ $L ddepth $(irq_depth "$L") after the unbind"; return 1; }
}
ktap_result lines_enabled_after_teardown_while_disabled unbind_disabled
sibling_works() {
	echo 200 >"$DBG/edu/$Y/raise" || return 1
	echo "$X" >/sys/bus/pci/drivers/edu/bind || return 1
	echo 200 >"$DBG/edu/$X/raise"
}
ktap_result shared_lines_work_after_teardown_while_disabled sibling_works
ktap_result module_unloads_after_teardown_while_disabled edu_unload
ktap_result no_unbalanced_enable_warning sh -c '! dmesg | grep -q "Unbalanced enable"'
ktap_finish
