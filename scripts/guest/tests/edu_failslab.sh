#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Allocation failures, swept: the N-th slab allocation of `insmod edu` (module
# init and every probe, all in the insmod task) fails, for a sweep of N; each
# run either loads or fails cleanly and leaves nothing behind (no module, no
# debugfs directory, no loop thread), and a normal load works afterwards. The
# same for opening and writing /dev/edu0. kmemleak then reports nothing of
# ours. Needs CONFIG_FAILSLAB (the debug kernel); skipped elsewhere.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 5
FS=$DBG/failslab

if [ ! -e /proc/self/fail-nth ] || [ ! -d $FS ]; then
	for t in failslab_insmod_sweep_leaves_nothing failslab_normal_load_after_sweep \
		failslab_file_ops_sweep failslab_module_unloads failslab_no_kmemleak; do
		KTAP_N=$((KTAP_N + 1))
		echo "ok $KTAP_N $t # SKIP no CONFIG_FAILSLAB"
	done
	exit 0
fi
# Fail GFP_KERNEL allocations too, quietly (a stack dump per failure would be
# taken for a splat), only in the task that asked for it.
echo N >$FS/ignore-gfp-wait
echo 0 >$FS/verbose
echo 100 >$FS/probability
echo -1 >$FS/times
echo 0 >$FS/space
echo 1 >$FS/task-filter 2>/dev/null
[ -e $DBG/kmemleak ] && echo clear >$DBG/kmemleak

# leftovers: prints what a failed or unloaded edu left behind.
leftovers() {
	grep -q '^edu ' /proc/modules && echo "module"
	[ -e $DBG/edu ] && echo "debugfs edu/"
	[ -e $DBG/workloop ] && echo "debugfs workloop/"
	ps -o comm 2>/dev/null | grep -q '^edu[0-9]' && echo "loop thread"
	ls /dev/edu* >/dev/null 2>&1 && echo "misc device"
}

# insmod_nth N: insmod with the N-th allocation failing; 0 loaded, 1 refused.
insmod_nth() {
	sh -c "echo $1 >/proc/self/fail-nth && exec insmod $EDU_KO irq_mode=3" 2>/dev/null
}

sweep() {
	n=1 loaded=0 refused=0 bad=0
	while [ $n -le 1600 ]; do
		if insmod_nth $n; then
			loaded=$((loaded + 1))
			rmmod edu || { ktap_diag "N=$n: rmmod failed"; bad=$((bad + 1)); }
		else
			refused=$((refused + 1))
		fi
		left=$(leftovers)
		if [ -n "$left" ]; then
			ktap_diag "N=$n left behind: $(echo $left)"
			bad=$((bad + 1))
			rmmod edu 2>/dev/null
		fi
		# Every N through the module's own init and first probes, then a stride.
		if [ $n -lt 300 ]; then n=$((n + 1)); else n=$((n + 7)); fi
	done
	ktap_diag "sweep: $loaded loads, $refused refusals, $bad runs left something behind"
	[ $bad -eq 0 ] && [ $refused -gt 0 ]
}
ktap_result failslab_insmod_sweep_leaves_nothing sweep

normal_load() {
	edu_load irq_mode=3 && [ "$(edu_count)" -ge 4 ] && [ "$(ask /dev/edu0 6)" = 720 ]
}
ktap_result failslab_normal_load_after_sweep normal_load

file_sweep() {
	n=1 bad=0
	while [ $n -le 120 ]; do
		sh -c "echo $n >/proc/self/fail-nth && exec sh -c 'echo 5 >/dev/edu0'" 2>/dev/null
		n=$((n + 1))
	done
	# The device and a fresh file still work.
	[ "$(ask /dev/edu0 7)" = 5040 ]
}
ktap_result failslab_file_ops_sweep file_sweep
ktap_result failslab_module_unloads edu_unload

no_kmemleak() {
	[ -e $DBG/kmemleak ] || return 0
	echo scan >$DBG/kmemleak
	echo scan >$DBG/kmemleak
	if grep -q 'edu\|workloop' $DBG/kmemleak; then
		head -n 40 $DBG/kmemleak | sed 's/^/# /'
		return 1
	fi
}
ktap_result failslab_no_kmemleak no_kmemleak
ktap_finish
