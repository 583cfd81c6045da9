#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Power management. The edu sample's work loop is freezable: while the system
# freezes (pm_test=freezer) its thread is frozen between passes, and no
# interrupt is lost: a work item (workqueue workers are not frozen) raises one
# interrupt a millisecond through the freeze and the thaw, the top half counts
# each, no action runs while frozen (the longest gap between two actions
# covers the freeze), and after the thaw the action has been handed exactly
# as many as were raised. With pm_test=devices the driver's PciPower suspend
# and resume callbacks also disable and enable the loop's sources (the enable
# and disable hooks run once each), on shared INTx lines where the filter
# still counts what arrives, and again nothing is lost.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 2

# The freeze's pause (pm_test_delay) in seconds, and the gap it must show.
PAUSE=1
MIN_GAP_MS=800

delivered() {
	loop=$(edu_info "$1" loop)
	sed -n 's/^delivered: //p' "$DBG/workloop/$loop/edu/stats"
}

# wait_for_value CMD WANT: waits up to 10 s until CMD prints WANT.
wait_for_value() {
	i=0
	while [ "$($1)" != "$2" ] && [ $i -lt 1000 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	[ "$($1)" = "$2" ]
}

# across_sleep D MODE: raises interrupts on device D through a freeze with
# /sys/power/pm_test set to MODE; checks the counts and the gap.
across_sleep() {
	d=$1
	if [ ! -w /sys/power/pm_test ]; then
		ktap_diag "no /sys/power/pm_test (CONFIG_PM_DEBUG)"
		return 1
	fi
	echo $PAUSE >/sys/module/suspend/parameters/pm_test_delay
	got=$(delivered "$d")
	e=$(edu_info "$d" enable_hooks)
	x=$(edu_info "$d" disable_hooks)
	echo "raise_during 3000" >"$DBG/edu/$d/test" || return 1
	sleep 0.3
	echo "$2" >/sys/power/pm_test || return 1
	echo freeze >/sys/power/state
	rc=$?
	echo none >/sys/power/pm_test
	[ $rc -eq 0 ] || { ktap_diag "freeze ($2) failed: $(dmesg | tail -n 3)"; return 1; }
	wait_for_value "edu_info $d raising" 0 || { ktap_diag "the raiser did not finish"; return 1; }
	raised=$(edu_info "$d" raised_during)
	want=$((got + raised))
	d_of() { delivered "$d"; }
	wait_for_value d_of $want
	gap=$(edu_info "$d" max_action_gap_ms)
	e2=$(edu_info "$d" enable_hooks)
	x2=$(edu_info "$d" disable_hooks)
	ktap_diag "$2: raised $raised, delivered $(($(delivered "$d") - got)), longest gap between actions ${gap} ms," \
		"timeouts $(edu_info "$d" raise_timeouts), hooks +$((e2 - e)) enable +$((x2 - x)) disable"
	if dmesg | grep -q -e 'Freezing.*failed' -e 'refused to freeze'; then
		ktap_diag "$(dmesg | grep -e 'Freezing' -e 'refused' | tail -n 2)"
		return 1
	fi
	[ "$(delivered "$d")" = "$want" ] && [ "$raised" -gt 100 ] && [ "$gap" -ge $MIN_GAP_MS ] || return 1
	case "$2" in
	devices) [ "$e2" = $((e + 1)) ] && [ "$x2" = $((x + 1)) ] ;;
	*) [ "$e2" = "$e" ] && [ "$x2" = "$x" ] ;;
	esac
}

edu_load test_knobs=1 || ktap_diag "insmod edu failed"
ktap_result api_pm_freeze_holds_the_loop_and_loses_no_interrupt across_sleep "$(edu_devices | head -n 1)" freezer
edu_unload
edu_load test_knobs=1 irq_mode=1 || ktap_diag "insmod edu failed"
ktap_result api_pm_suspend_resume_hold_the_sources_and_lose_no_interrupt across_sleep "$(edu_devices | head -n 1)" devices
edu_unload
ktap_finish
