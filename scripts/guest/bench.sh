#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`, guest side: the same edu device and raise register, three bottom
# halves (0 work loop, 1 threaded IRQ, 2 workqueue), two placements of the
# raising task relative to the IRQ and its bottom half (both on CPU 0):
# "same" raises from CPU 0, "cross" from CPU 1. Approaches are interleaved in
# rounds (the starting approach rotates). Prints one BENCH line per
# (approach, placement) with latency percentiles and throughput.
dmesg -n 1
ROUNDS=8
LAT_N=500
TP_N=2000
D=/sys/kernel/debug/edu_bench
rm -f /tmp/lat.* /tmp/tp.*
echo "WL-BENCH-BEGIN"
fail=0
r=0
while [ $r -lt $ROUNDS ]; do
	for placement in same cross; do
		cpu=0
		[ $placement = cross ] && cpu=1
		for k in 0 1 2; do
			mode=$(((k + r) % 3))
			if ! insmod /guest/modules/edu_bench.ko mode=$mode bh_cpu=0; then
				fail=1
				continue
			fi
			irq=$(cat $D/irq)
			echo 0 >/proc/irq/$irq/smp_affinity_list
			# Warm up, then measure.
			taskset -c $cpu sh -c "echo 50 > $D/latency" || fail=1
			taskset -c $cpu sh -c "echo $LAT_N > $D/latency" || fail=1
			cat $D/latency >>/tmp/lat.$mode.$placement
			taskset -c $cpu sh -c "echo $TP_N > $D/throughput" || fail=1
			cat $D/throughput >>/tmp/tp.$mode.$placement
			echo >>/tmp/tp.$mode.$placement
			rmmod edu_bench || fail=1
		done
	done
	r=$((r + 1))
done
for placement in same cross; do
	for mode in 0 1 2; do
		n=$(wc -l </tmp/lat.$mode.$placement)
		awk '{print $1}' /tmp/lat.$mode.$placement | sort -n >/tmp/sorted
		p50=$(sed -n "$(((n + 1) / 2))p" /tmp/sorted)
		p99=$(sed -n "$(((n * 99 + 99) / 100))p" /tmp/sorted)
		max=$(tail -n 1 /tmp/sorted)
		awk '{print $2}' /tmp/lat.$mode.$placement | sort -n >/tmp/sorted
		wake50=$(sed -n "$(((n + 1) / 2))p" /tmp/sorted)
		# throughput lines: N elapsed_ns lost
		tp=$(awk 'NF==3 {n+=$1; ns+=$2; lost+=$3} END {printf "%.0f %.0f %.0f", n, ns, lost}' /tmp/tp.$mode.$placement)
		echo "BENCH mode=$mode placement=$placement samples=$n p50=$p50 p99=$p99 max=$max wake50=$wake50 tp=$tp"
	done
done
echo "BENCH-STATUS fail=$fail"
/guest/bench-virtio.sh
echo "WL-BENCH-END"
