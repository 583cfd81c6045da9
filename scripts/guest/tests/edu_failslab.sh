#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Allocation failures, swept: the N-th slab allocation made through module code
# (module init and every probe of `insmod edu`, all in the insmod task) fails,
# for a sweep of N. Each run either loads or fails cleanly and leaves nothing
# behind (no module, no debugfs directory, no loop thread, no misc device),
# and a normal load works afterwards. The same for opening and writing
# /dev/edu0. kmemleak then reports nothing of ours. Needs CONFIG_FAILSLAB with
# the stack-trace filter (the debug kernel); skipped elsewhere.
#
# The filter (require-start/end: the kernel's module area) keeps failures out
# of the module loader and other kernel code, whose own reports of a failed
# allocation would be taken for splats. busybox insmod retries a failed
# finit_module with init_module, which then loads (the one failure is used up):
# each run is therefore a failed init or probe, its clean-up, and a good load.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 5
FS=$DBG/failslab

if [ ! -e /proc/self/fail-nth ] || [ ! -e $FS/require-start ]; then
	for t in failslab_insmod_sweep_leaves_nothing failslab_normal_load_works_after_sweep \
		failslab_failed_file_ops_leave_the_device_working failslab_module_unloads \
		failslab_no_kmemleak; do
		KTAP_N=$((KTAP_N + 1))
		echo "ok $KTAP_N $t # SKIP no CONFIG_FAILSLAB with a stack-trace filter"
	done
	exit 0
fi
# Fail GFP_KERNEL allocations too, quietly (a stack dump per failure would be
# taken for a splat). Only /proc/self/fail-nth injects (probability stays 0),
# in the one task that asked for it, and only under module code: x86-64's
# module area.
echo N >$FS/ignore-gfp-wait
echo 0 >$FS/verbose
echo 0 >$FS/probability
echo 32 >$FS/stacktrace-depth
echo 0xffffffffa0000000 >$FS/require-start
echo 0xffffffffff000000 >$FS/require-end
# Except inside register_irq_proc (/proc/irq/N/*, made by request_irq): 7.2
# ignores a failure there and warns when free_irq later removes the entry that
# was never made ("remove_proc_entry: name 'spurious'"), a kernel bug outside
# this project.
range=$(sort /proc/kallsyms | awk '
	found { print $1; exit }
	$3 == "register_irq_proc" { printf "0x%s 0x", $1; found = 1 }')
if [ -n "${range#* }" ]; then
	echo "${range% *}" >$FS/reject-start
	echo "${range#* }" >$FS/reject-end
fi
ktap_diag "failing under module code (0xffffffffa0000000..), not in register_irq_proc ($range)"
[ -e $DBG/kmemleak ] && echo clear >$DBG/kmemleak

# leftovers: prints what a failed or unloaded edu left behind.
leftovers() {
	grep -q '^edu ' /proc/modules && echo "module"
	[ -e $DBG/edu ] && echo "debugfs edu/"
	[ -e $DBG/workloop ] && echo "debugfs workloop/"
	ps -o comm 2>/dev/null | grep -q '^edu[0-9]' && echo "loop thread"
	ls /dev/edu* >/dev/null 2>&1 && echo "misc device"
}

# insmod_nth N: insmod with the N-th module-code allocation failing.
insmod_nth() {
	sh -c "echo $1 >/proc/self/fail-nth && exec insmod $EDU_KO irq_mode=3" 2>/dev/null
}

sweep() {
	n=1 loaded=0 refused=0 bad=0
	dmesg -c >/dev/null
	while [ $n -le 800 ]; do
		if insmod_nth $n; then
			loaded=$((loaded + 1))
			if ! rmmod edu; then
				ktap_diag "N=$n: rmmod failed"
				bad=$((bad + 1))
			fi
		else
			refused=$((refused + 1))
		fi
		left=$(leftovers)
		if [ -n "$left" ]; then
			ktap_diag "N=$n left behind: $(echo $left)"
			bad=$((bad + 1))
			rmmod edu 2>/dev/null
		fi
		# Every N through module init and the first probe, then a stride
		# through the other probes.
		if [ $n -lt 150 ]; then n=$((n + 1)); else n=$((n + 11)); fi
	done
	failed=$(dmesg | grep -c 'edu.*failed with error -12')
	ktap_diag "sweep: $loaded loads, $refused refusals, $failed probes failed with ENOMEM, $bad runs left something behind"
	[ $bad -eq 0 ] && [ $((failed + refused)) -gt 0 ]
}
ktap_result failslab_insmod_sweep_leaves_nothing sweep

normal_load() {
	edu_load irq_mode=3 && [ "$(edu_count)" -ge 4 ] && [ "$(ask /dev/edu0 6)" = 720 ]
}
ktap_result failslab_normal_load_works_after_sweep normal_load

file_sweep() {
	n=1
	while [ $n -le 60 ]; do
		sh -c "echo $n >/proc/self/fail-nth && exec sh -c 'echo 5 >/dev/edu0'" 2>/dev/null
		n=$((n + 1))
	done
	# The device and a fresh file still work.
	[ "$(ask /dev/edu0 7)" = 5040 ]
}
ktap_result failslab_failed_file_ops_leave_the_device_working file_sweep
ktap_result failslab_module_unloads edu_unload

no_kmemleak() {
	echo scan >$DBG/kmemleak
	echo scan >$DBG/kmemleak
	if grep -q 'edu\|workloop' $DBG/kmemleak; then
		head -n 40 $DBG/kmemleak | sed 's/^/# /'
		return 1
	fi
}
if [ -e $DBG/kmemleak ]; then
	ktap_result failslab_no_kmemleak no_kmemleak
else
	# A debug boot with kmemleak=off (make check runs this test in a boot
	# of its own with kmemleak on).
	KTAP_N=$((KTAP_N + 1))
	echo "ok $KTAP_N failslab_no_kmemleak # SKIP kmemleak is off in this boot"
fi
ktap_finish
