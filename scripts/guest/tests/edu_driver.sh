#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The edu sample driver: binding, factorials, bad input, concurrency.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
ktap_header
ktap_plan 11

dmesg -c >/dev/null
ktap_result edu_module_loads edu_load
ktap_result binds_every_edu_device test "$(edu_count)" -ge 4
ktap_result id_register_reads_010000ed sh -c 'dmesg | grep -q "id 0x010000ed"'
ktap_result misc_device_per_bound_device test "$(ls /dev/edu[0-9] | wc -l)" -eq "$(edu_count)"

all_factorials() {
	for d in /dev/edu[0-9]; do
		n=0
		while [ $n -le 12 ]; do
			got=$(ask "$d" $n)
			want=$(fact $n)
			if [ "$got" != "$want" ]; then
				ktap_diag "$d: $n! = '$got', want $want"
				return 1
			fi
			n=$((n + 1))
		done
	done
}
ktap_result every_device_answers_factorials_0_to_12 all_factorials

# Writes TEXT to /dev/edu0 and checks that it fails with MESSAGE.
rejects() {
	out=$({ echo -ne "$1" >/dev/edu0; } 2>&1)
	rc=$?
	if [ $rc -eq 0 ] || ! echo "$out" | grep -qi "$2"; then
		ktap_diag "write '$1': rc=$rc '$out', want '$2'"
		return 1
	fi
}
bad_input() {
	rejects 'abc\n' 'invalid argument' &&
		rejects '-1\n' 'invalid argument' &&
		rejects '13\n' 'result' &&
		rejects '4294967296\n' 'result' &&
		rejects '1 2\n' 'invalid argument' &&
		rejects "$(head -c 100 /dev/zero | tr '\0' 7)" 'too long' &&
		rejects '\n' 'invalid argument'
}
ktap_result bad_writes_fail_with_clear_errno bad_input
read_before_write() {
	out=$(cat /dev/edu0 2>&1)
	echo "$out" | grep -qi 'invalid argument'
}
ktap_result read_before_write_is_einval read_before_write
ktap_result device_usable_after_bad_input test "$(ask /dev/edu0 10)" = 3628800

concurrent() {
	rm -f /tmp/conc.*
	p=0
	while [ $p -lt 8 ]; do
		(
			i=0 bad=0
			while [ $i -lt 25 ]; do
				n=$(((p + i) % 13))
				[ "$(ask /dev/edu0 $n)" = "$(fact $n)" ] || bad=$((bad + 1))
				i=$((i + 1))
			done
			echo $bad >/tmp/conc.$p
		) &
		p=$((p + 1))
	done
	wait
	[ "$(cat /tmp/conc.* | awk '{s+=$1} END {print s}')" = 0 ] && [ "$(ls /tmp/conc.* | wc -l)" = 8 ]
}
ktap_result eight_concurrent_clients_get_their_own_answers concurrent

queued_on_one_file() {
	exec 4<>/dev/edu1
	for n in 3 4 5 6; do echo $n >&4; done
	a=$(head -n 1 <&4); b=$(head -n 1 <&4); c=$(head -n 1 <&4); d=$(head -n 1 <&4)
	exec 4>&-
	[ "$a $b $c $d" = "6 24 120 720" ] || { ktap_diag "got '$a $b $c $d'"; return 1; }
}
ktap_result requests_on_one_file_answer_in_order queued_on_one_file
ktap_result module_unloads_after_every_client_closed edu_unload
ktap_finish
