#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# What `make run` shows: loads the driver and reports what it found.
dmesg -n 1
echo "WL-DEMO-BEGIN"
echo "workloop demo: kernel $(uname -r), $(grep -c ^processor /proc/cpuinfo) vCPUs"
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x1234:0x11e8" ] && echo "found edu device at $(basename "$d")"
done
insmod /guest/modules/smoke.ko
dmesg | grep "edu id" | sed 's/^\[[ 0-9.]*\] /  /'
rmmod smoke
echo "WL-DEMO-END"
