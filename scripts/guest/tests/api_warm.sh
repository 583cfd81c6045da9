#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Seed API: xnu's warmCPU. warm_cpu keeps every CPU out of deep idle (a
# CPU-latency QoS request of 0 us, what /dev/cpu_dma_latency reads back as the
# system's limit) until the next interrupt has been delivered, then lets go.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 1

# The system's CPU-latency limit in microseconds. Reading it opens a request
# of our own at the default, which does not lower the limit.
latency() { od -An -td4 -N4 /dev/cpu_dma_latency | tr -d ' '; }

warm_cpu_holds_until_the_next_interrupt() {
	[ -e /dev/cpu_dma_latency ] || { ktap_diag "no /dev/cpu_dma_latency"; return 1; }
	d=$(edu_devices | head -n 1)
	before=$(latency)
	echo warm_cpu >"$DBG/edu/$d/irq_ctl" || return 1
	warm=$(latency)
	echo 1 >"$DBG/edu/$d/raise" || return 1
	i=0
	while [ "$(latency)" != "$before" ] && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	after=$(latency)
	ktap_diag "limit ${before} us, after warm_cpu ${warm} us, after the next interrupt ${after} us"
	[ "$warm" = 0 ] && [ "$before" != 0 ] && [ "$after" = "$before" ]
}

edu_load || ktap_diag "insmod edu failed"
ktap_result api_warm_cpu_holds_until_the_next_interrupt warm_cpu_holds_until_the_next_interrupt
edu_unload
ktap_finish
