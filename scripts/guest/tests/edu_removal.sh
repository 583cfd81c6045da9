#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Removal never waits for a userspace call that may not end, and nothing the
# device does after it outlives the driver: a long raise burst, an open file,
# a DMA transfer in flight.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 6

# Centiseconds since boot.
now_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
UNBIND=/sys/bus/pci/drivers/edu/unbind
BIND=/sys/bus/pci/drivers/edu/bind

edu_load irq_mode=1 || exit 1
first=$(edu_devices | head -n 1)

# E1: an unbind during a 300000-raise burst returns at once; the writer fails.
unbind_during_long_raise() {
	rm -f /tmp/raise_rc
	(
		echo 300000 >"$DBG/edu/$first/raise"
		echo $? >/tmp/raise_rc
	) 2>/dev/null &
	i=0
	while [ "$(edu_info "$first" raised 2>/dev/null || echo 0)" -lt 100 ]; do
		i=$((i + 1))
		[ $i -lt 1000 ] || return 1
		sleep 0.01
	done
	t0=$(now_cs)
	echo "$first" >$UNBIND || return 1
	t1=$(now_cs)
	wait
	rc=$(cat /tmp/raise_rc)
	ktap_diag "unbind took $(((t1 - t0) * 10)) ms; the raise writer exited with $rc"
	echo "$first" >$BIND || return 1
	[ $((t1 - t0)) -lt 300 ] && [ "$rc" != 0 ]
}
ktap_result teardown_unbind_during_long_raise_is_prompt unbind_during_long_raise

# D20: rmmod with /dev/edu0 open refuses; the file keeps working; then it goes.
rmmod_with_open_file() {
	exec 4<>/dev/edu0 || return 1
	if rmmod edu 2>/dev/null; then
		exec 4>&-
		ktap_diag "rmmod succeeded with /dev/edu0 open"
		return 1
	fi
	echo 5 >&4 && read -r ans <&4
	exec 4>&-
	[ "$ans" = 120 ] || return 1
	rmmod edu && edu_load irq_mode=1
}
ktap_result teardown_rmmod_refused_while_a_file_is_open rmmod_with_open_file

# D21: unbind while a DMA transfer is in flight: the device finishes it before
# the buffer is freed (no KASAN report, no unacknowledged INTx), and the line's
# other device keeps working.
unbind_during_dma() {
	d=$(edu_devices | head -n 1)
	head -c 3000 /dev/urandom >/tmp/dma.in
	(cat /tmp/dma.in >/dev/edu0-dma) 2>/dev/null &
	sleep 0.03
	echo "$d" >$UNBIND || return 1
	wait
	sleep 0.3
	ok=0
	for s in $(edu_devices); do
		echo 100 >"$DBG/edu/$s/raise" || ok=1
	done
	echo "$d" >$BIND || return 1
	[ $ok -eq 0 ]
}
ktap_result teardown_unbind_during_dma_leaves_no_transfer unbind_during_dma

# Stopping a device's loop (a suspend or shutdown path) holds its source
# without adding a driver disable: irq_ctl still reads 0, and the exclusive
# MSI line is masked once, by the stop.
stop_keeps_count() {
	rmmod edu && edu_load irq_mode=2 test_knobs=1 || return 1
	d=$(edu_devices | head -n 1)
	irq=$(cat /sys/bus/pci/devices/"$d"/irq)
	echo stop_loop >"$DBG/edu/$d/test" || return 1
	count=$(cat "$DBG/edu/$d/irq_ctl")
	depth=$(irq_depth "$irq")
	ktap_diag "after stop: driver count $count, line $irq depth $depth"
	echo "$d" >$UNBIND && echo "$d" >$BIND || return 1
	rmmod edu && edu_load irq_mode=1 || return 1
	[ "$count" = 0 ] && [ "$depth" = 1 ]
}
ktap_result teardown_stop_keeps_the_driver_disable_count stop_keeps_count

# An idle bound device still answers after all of the above.
ktap_result teardown_driver_works_after_removals test "$(ask /dev/edu0 10)" = 3628800
ktap_result teardown_module_unloads edu_unload
ktap_finish
