#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed APIs: DriverKit's SetEnable is an idempotent flag beside the nesting
# enable/disable, and never unbalances the line; SetEnableWithCompletion runs
# its completion on the loop after the running action; WDF's
# EvtInterruptEnable/Disable hooks run once per start and stop, under the
# interrupt lock and in WDF's order, and a failing enable hook leaves the
# source disabled and balanced. Device 0 is on an MSI vector (its line's depth
# is the source's hold alone).
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 4

d=""
irq=""
ctl() { echo "$1" >"$DBG/edu/$d/irq_ctl"; }
depth() { cat "$DBG/edu/$d/irq_ctl"; }
# state: the driver's count, the line's depth and the hooks' calls, in one line.
state() {
	echo "count $(depth) line $(irq_depth "$irq") enable_hooks $(edu_info "$d" enable_hooks)" \
		"disable_hooks $(edu_info "$d" disable_hooks) order_errors $(edu_info "$d" hook_order_errors)"
}
# expect WHAT WANT: compares state with WANT.
expect() {
	got=$(state)
	[ "$got" = "$2" ] && return 0
	ktap_diag "$1: got '$got', want '$2'"
	return 1
}

set_enable_is_idempotent_and_balanced() {
	e=$(edu_info "$d" enable_hooks)
	x=$(edu_info "$d" disable_hooks)
	ctl "set_enable off" && ctl "set_enable off" || return 1
	expect "flag off twice" "count 1 line 1 enable_hooks $e disable_hooks $((x + 1)) order_errors 0" || return 1
	ctl disable && ctl "set_enable on" || return 1
	expect "flag on under a disable" "count 1 line 1 enable_hooks $e disable_hooks $((x + 1)) order_errors 0" || return 1
	ctl enable || return 1
	expect "enabled" "count 0 line 0 enable_hooks $((e + 1)) disable_hooks $((x + 1)) order_errors 0" || return 1
	ctl "set_enable on" || return 1
	if ctl enable 2>/dev/null; then
		ktap_diag "an unbalanced enable was accepted"
		return 1
	fi
	expect "flag on again, unbalanced enable" "count 0 line 0 enable_hooks $((e + 1)) disable_hooks $((x + 1)) order_errors 0"
}

failing_enable_hook_leaves_the_source_disabled() {
	e=$(edu_info "$d" enable_hooks)
	x=$(edu_info "$d" disable_hooks)
	echo fail_next_enable >"$DBG/edu/$d/test" && ctl disable || return 1
	if ctl enable 2>/dev/null; then
		ktap_diag "enable succeeded although its hook failed"
		return 1
	fi
	expect "after the failed enable" "count 1 line 1 enable_hooks $((e + 1)) disable_hooks $((x + 1)) order_errors 0" || return 1
	ctl enable || return 1
	expect "enabled again" "count 0 line 0 enable_hooks $((e + 2)) disable_hooks $((x + 1)) order_errors 0"
}

completion_runs_after_the_gate_is_left() {
	echo disable_with_completion >"$DBG/edu/$d/test" || { ktap_diag "$(dmesg | grep edu | tail -n 2)"; return 1; }
	expect "after the completion" "count 0 line 0 enable_hooks $(edu_info "$d" enable_hooks) disable_hooks $(edu_info "$d" disable_hooks) order_errors 0"
}

hooks_pair_up() {
	e=$(edu_info "$d" enable_hooks)
	x=$(edu_info "$d" disable_hooks)
	ktap_diag "enable hooks $e, disable hooks $x, order errors $(edu_info "$d" hook_order_errors)"
	# Every stop was started again; two starts had no stop before them: the
	# probe's, and the one whose hook failed (its stop is not a driver stop).
	[ "$e" = $((x + 2)) ] && [ "$(edu_info "$d" hook_order_errors)" = 0 ]
}

edu_load test_knobs=1 irq_mode=2 || ktap_diag "insmod edu failed"
d=$(edu_devices | head -n 1)
irq=$(sed -n 's/^irq: //p' "$DBG/edu/$d/irq_info")
ktap_result api_set_enable_is_idempotent_and_never_unbalances_the_line set_enable_is_idempotent_and_balanced
ktap_result api_failing_enable_hook_leaves_the_source_disabled_and_balanced \
	failing_enable_hook_leaves_the_source_disabled
ktap_result api_set_enable_completion_runs_on_the_loop_after_the_gate completion_runs_after_the_gate_is_left
ktap_result api_enable_hooks_run_once_per_start_and_stop_in_wdf_order hooks_pair_up
edu_unload
ktap_finish
