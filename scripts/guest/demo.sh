#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows: the edu driver on two devices (one on MSI, one on
# INTx), a few factorials through /dev/eduN, a burst of interrupts, and what
# the work loops saw.
dmesg -n 1
DBG=/sys/kernel/debug
stat() { sed -n "s/^$2: //p" "$1"; }
echo "WL-DEMO-BEGIN"
echo "workloop demo: Linux $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs, QEMU TCG"
echo
dmesg -c >/dev/null
if ! insmod /guest/modules/edu.ko irq_mode=3; then
	echo "could not load the edu driver"
	echo "WL-DEMO-END"
	exit 0
fi
echo "loaded edu.ko (irq_mode=3: MSI and INTx alternate per device):"
dmesg | sed -n 's/^\[[ 0-9.]*\] edu \([0-9a-f:.]*\): id [0-9a-fx]*, /  \1  /p'
echo
echo "factorials computed by the devices (write n to /dev/eduN, read n!):"
for d in /dev/edu[0-9]; do
	line="  $d:"
	for n in 5 10 12; do
		exec 3<>"$d"
		echo $n >&3
		read -r r <&3
		exec 3>&-
		line="$line  $n! = $r"
	done
	echo "$line"
done
echo
head -c 4095 /dev/urandom >/tmp/dma.in
dd if=/tmp/dma.in of=/dev/edu0-dma bs=4095 count=1 2>/dev/null
dd if=/dev/edu0-dma of=/tmp/dma.out bs=4096 count=1 2>/dev/null
if cmp -s /tmp/dma.in /tmp/dma.out; then
	echo "DMA: 4095 random bytes to the device buffer and back through /dev/edu0-dma: identical"
else
	echo "DMA: round trip through /dev/edu0-dma FAILED"
fi
echo
burst=2000
echo "raising $burst interrupts on each device at once (edu raise register)..."
for p in $DBG/edu/*/raise; do echo $burst >"$p" & done
wait
echo
printf "  %-6s %-5s %-14s %10s %8s %9s %12s %12s %12s\n" loop mode line interrupts actions coalesced "lat min us" "lat mean us" "lat max us"
for l in $DBG/workloop/edu*; do
	s=$l/edu/stats
	name=$(basename $l)
	mode=INTx
	dmesg | grep -q "/dev/$name" && dmesg | grep "/dev/$name" | grep -q "MSI on" && mode=MSI
	line=$(dmesg | grep "/dev/$name" | sed -n 's/.* on IRQ \([0-9]*\) (\([a-z]*\), \([a-z]*\)).*/IRQ \1 \2/p')
	printf "  %-6s %-5s %-14s %10s %8s %9s %12s %12s %12s\n" "$name" "$mode" "$line" \
		"$(stat $s events)" "$(stat $s actions)" "$(stat $s coalesced)" \
		"$(($(stat $s latency_min_ns) / 1000))" "$(($(stat $s latency_mean_ns) / 1000))" \
		"$(($(stat $s latency_max_ns) / 1000))"
done
echo
echo "(latency: top half to the start of the action on the work loop; interrupts"
echo " include the factorial-done ones; coalesced: interrupts delivered together"
echo " with others in one action call. Statistics: $DBG/workloop/<loop>/)"
rmmod edu
echo "WL-DEMO-END"
