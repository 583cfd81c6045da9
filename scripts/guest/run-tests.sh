#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs every guest test and prints one KTAP document between WL-KTAP-BEGIN
# and WL-KTAP-END, then the kernel log between WL-DMESG-BEGIN/END, with the
# console quietened so that neither block is interleaved with kernel output.
#
# A test is either a module with KUnit suites (tests/kunit/*.ko: loading it
# runs the suites, whose KTAP is taken from the kernel log) or a shell
# script (/guest/tests/*.sh) that prints KTAP itself.
. /guest/ktap.sh

# wl.only=NAME[,NAME...] on the kernel command line runs only those tests
# (script or module names without extension): for working on one test, and
# for a boot of its own with other devices. wl.skip=NAME[,NAME...] leaves
# those out (they run in that other boot).
only="" skip=""
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	wl.only=*) only=",${arg#wl.only=}," ;;
	wl.skip=*) skip=",${arg#wl.skip=}," ;;
	esac
done
selected() {
	case "$skip" in *",$1,"*) return 1 ;; esac
	[ -z "$only" ] || case "$only" in *",$1,"*) return 0 ;; *) return 1 ;; esac
}

out=/tmp/ktap
: >"$out"
n=0
for t in /guest/kunit/*.ko /guest/tests/*.sh; do
	[ -e "$t" ] && selected "$(basename "${t%.*}")" && n=$((n + 1))
done

i=0
for ko in /guest/kunit/*.ko; do
	[ -e "$ko" ] && selected "$(basename "$ko" .ko)" || continue
	i=$((i + 1))
	name=$(basename "$ko" .ko)
	echo "wl: running KUnit suites of $name" >/dev/console
	dmesg -c >/dev/null
	if insmod "$ko"; then
		rc=0
	else
		rc=$?
	fi
	# The suites ran inside insmod; keep only their KTAP lines.
	dmesg | sed -n 's/^\[[ 0-9.]*\] //p' | awk '
		/KTAP version|^ *# |^ *1\.\.[0-9]|^ *(not )?ok [0-9]/ {print "    " $0}
	' >"/tmp/$name.ktap"
	rmmod "$name" 2>/dev/null || rc=1
	cat "/tmp/$name.ktap" >>"$out"
	if [ $rc -eq 0 ] && ! grep -q "not ok" "/tmp/$name.ktap" && grep -q "ok" "/tmp/$name.ktap"; then
		echo "ok $i kunit:$name" >>"$out"
	else
		echo "not ok $i kunit:$name" >>"$out"
	fi
done

for sh in /guest/tests/*.sh; do
	[ -e "$sh" ] && selected "$(basename "$sh" .sh)" || continue
	i=$((i + 1))
	name=$(basename "$sh" .sh)
	echo "wl: running $name" >/dev/console
	if sh "$sh" >"/tmp/$name.ktap" 2>&1; then rc=0; else rc=$?; fi
	# Every planned result must be there: a test that died half way fails.
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "/tmp/$name.ktap" | head -n 1)
	got=$(grep -cE '^(not )?ok [0-9]' "/tmp/$name.ktap")
	if [ "${plan:-0}" != "$got" ]; then
		echo "# $name: planned ${plan:-?} results, got $got (exit $rc)" >>"/tmp/$name.ktap"
		rc=1
	fi
	sed 's/^/    /' "/tmp/$name.ktap" >>"$out"
	if [ $rc -eq 0 ] && ! grep -q "^ *not ok" "/tmp/$name.ktap"; then
		echo "ok $i $name" >>"$out"
	else
		echo "not ok $i $name" >>"$out"
	fi
done

dmesg -n 1
echo "WL-KTAP-BEGIN"
echo "KTAP version 1"
echo "1..$n"
cat "$out"
echo "WL-KTAP-END"
echo "WL-DMESG-BEGIN"
dmesg
echo "WL-DMESG-END"
