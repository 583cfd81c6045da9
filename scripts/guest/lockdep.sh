#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# wl.mode=lockdep: loads the gate's lockdep test module, whose report the host
# expects (scripts/check.sh), and prints the verdict between markers.
echo "WL-LOCKDEP-BEGIN"
if [ ! -e /proc/lockdep ]; then
	echo "WL-LOCKDEP: no lockdep in this kernel"
else
	insmod /guest/modules/workloop_lockdep.ko && rmmod workloop_lockdep
	if dmesg | grep -q "possible circular locking dependency"; then
		if dmesg | grep -q "(wl-lockdep)"; then
			echo "WL-LOCKDEP: reported"
		else
			echo "WL-LOCKDEP: reported, without the gate"
		fi
	else
		echo "WL-LOCKDEP: not reported"
	fi
fi
echo "WL-LOCKDEP-END"
