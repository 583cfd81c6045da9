#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The upstream-sized sample (samples/edu_irq/): loading it binds every edu
# device, raises interrupts at probe and reports what the action saw; every
# device must report all of them. A bad parameter refuses insmod with a message.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 4

KO=/guest/modules/edu_irq.ko
reports() { dmesg | sed -n 's/.*edu_irq \(0000:[^:]*:[^:]*\): IRQ [0-9]*: \(raised .*\)$/\1 \2/p'; }

edu_unload
dmesg -c >/dev/null
ktap_result edu_irq_loads insmod "$KO" raises=500
every_device_saw_all() {
	n=$(ls /sys/bus/pci/drivers/edu_irq/ 2>/dev/null | grep -c '^0000:')
	[ "$n" -ge 1 ] || { ktap_diag "no device bound"; return 1; }
	reports | while read -r line; do ktap_diag "$line"; done
	[ "$(reports | grep -c 'raised 500, the action saw 500 in')" = "$n" ] ||
		{ ktap_diag "$n devices bound, $(reports | grep -c 'saw 500') saw every interrupt"; return 1; }
}
ktap_result edu_irq_action_saw_every_interrupt every_device_saw_all
ktap_result edu_irq_unloads rmmod edu_irq
refused() {
	dmesg -c >/dev/null
	if insmod "$KO" raises=0 2>/dev/null; then rmmod edu_irq; return 1; fi
	dmesg | grep -q "edu_irq: raises=0 is invalid: use 1..=1000000"
}
ktap_result edu_irq_bad_raises_refused refused
ktap_finish
