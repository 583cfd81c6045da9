#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The smoke driver finds QEMU's edu device and reads its ID register.
. /guest/ktap.sh
ktap_header
ktap_plan 3
dmesg -c >/dev/null
ktap_result smoke_module_loads insmod /guest/modules/smoke.ko
bound() { ls /sys/bus/pci/drivers/smoke/ | grep -q '^0000:'; }
ktap_result smoke_binds_edu bound
ktap_result edu_id_register_reads_010000ed sh -c 'dmesg | grep -q "edu id 0x010000ed liveness 0xedcba987"'
rmmod smoke
ktap_finish
