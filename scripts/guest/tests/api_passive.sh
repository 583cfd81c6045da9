#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed API: UMDF's passive-level interrupt (SourceOptions::passive). On
# samples/msix_vectors with passive=1 each vector's filter runs in its line's
# interrupt thread (irq/N-msix_vecK exists; the top half only wakes it), every
# interrupt is still counted exactly, and the interrupt lock is a mutex: held
# by a sleeping knob, it keeps the filter out while an interrupt waits
# (another task's try answers EBUSY meanwhile, the holder's own EDEADLK),
# then lets it in.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 4

KO=/guest/modules/msix_vectors.ko
nic_dir() { ls -d "$DBG"/msix_vectors-* 2>/dev/null | head -n 1; }
vec() { sed -n "s/^vector $1:.* $2 \([0-9]*\).*/\1/p" "$(nic_dir)/counts"; }

# thread_of IRQ: the name of the line's interrupt thread, if it has one.
thread_of() { grep -l "^irq/$1-" /proc/[0-9]*/comm 2>/dev/null | head -n 1; }

filter_runs_in_the_interrupt_thread() {
	rc=0
	for k in 0 1 2; do
		irq=$(vec $k irq)
		[ -n "$(thread_of "$irq")" ] || { ktap_diag "vector $k (IRQ $irq): no irq/$irq-* thread"; rc=1; }
	done
	return $rc
}

passive_vectors_counted_exactly() {
	rc=0
	for k in 0 1 2; do
		n=$((10 + k))
		echo "$k $n" >"$(nic_dir)/raise" || { ktap_diag "raise $k failed"; return 1; }
		i=0
		while [ "$(vec $k delivered)" != $n ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); done
		ktap_diag "vector $k: raised $(vec $k raised) top $(vec $k top) delivered $(vec $k delivered), want $n"
		[ "$(vec $k top)" = $n ] && [ "$(vec $k delivered)" = $n ] || rc=1
	done
	return $rc
}

passive_lock_keeps_the_filter_out() {
	for k in 0 1 2; do
		echo "$k" >"$(nic_dir)/lock" || { ktap_diag "lock $k: $(dmesg | grep msix | tail -n 1)"; return 1; }
	done
}

# Taking the interrupt lock of a source created without one (the sample's
# sources without passive=1) answers ENOTSUPP (524, "Unknown error 524").
lock_without_the_option_is_refused() {
	insmod "$KO" vectors=3 || { ktap_diag "insmod msix_vectors failed"; return 1; }
	err=$(echo 0 2>&1 >"$(nic_dir)/lock")
	rmmod msix_vectors
	ktap_diag "lock on a source without one: '$err'"
	case "$err" in *524*) ;; *) return 1 ;; esac
}

ktap_result api_interrupt_lock_on_a_source_without_one_answers_enotsupp lock_without_the_option_is_refused
if ! insmod "$KO" vectors=3 passive=1; then
	ktap_diag "insmod msix_vectors passive=1 failed"
fi
ktap_result api_passive_filter_runs_in_the_interrupt_thread filter_runs_in_the_interrupt_thread
ktap_result api_passive_vectors_counted_exactly passive_vectors_counted_exactly
ktap_result api_passive_lock_keeps_the_filter_out_and_try_answers_ebusy passive_lock_keeps_the_filter_out
rmmod msix_vectors 2>/dev/null
ktap_finish
