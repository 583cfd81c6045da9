#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Bad module parameters refuse insmod with a message that says what to use,
# and leave nothing loaded.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 11

# refused PARAM=VALUE WORD: insmod fails, the log names the parameter and WORD.
refused() {
	dmesg -c >/dev/null
	if edu_load "$1" 2>/dev/null; then
		edu_unload
		ktap_diag "$1 was accepted"
		return 1
	fi
	grep -q '^edu ' /proc/modules && { ktap_diag "$1: module left loaded"; return 1; }
	msg=$(dmesg | grep "edu: ${1%%=*}=")
	ktap_diag "$1: ${msg#*] }"
	echo "$msg" | grep -q "$2"
}
ktap_result params_irq_mode_9_refused refused irq_mode=9 "use 0"
ktap_result params_filter_2_refused refused filter=2 "use 1"
ktap_result params_fact_timeout_0_refused refused fact_timeout_ms=0 "use 1..=10000"
ktap_result params_fact_timeout_20000_refused refused fact_timeout_ms=20000 "use 1..=10000"
ktap_result params_test_knobs_2_refused refused test_knobs=2 "use 0 or 1"
ktap_result params_dma_bits_0_refused refused dma_bits=0 "24..=64"
ktap_result params_dma_bits_65_refused refused dma_bits=65 "24..=64"
ktap_result params_dma_bits_20_refused refused dma_bits=20 "24..=64"
ktap_result params_intx_exclusive_2_refused refused intx_exclusive=2 "use 0 (shared) or 1"
ktap_result params_storm_per_sec_too_big_refused refused storm_per_sec=20000000 "up to 10000000"
ktap_result params_good_values_load sh -c '. /guest/tests/edu_common.inc; edu_load dma_bits=32 && edu_unload'
ktap_finish
