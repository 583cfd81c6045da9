#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: sets everything up, then boots each kernel flavour in QEMU,
# runs every guest test there and ends with the line `N passed, N failed`.
. "$(dirname "$0")/common.sh"

if [ -n "${KDIR:-}" ]; then
	flavours=(fast) # a user's own kernel: one boot, named after its flavour slot
else
	# Our two test kernels, and Debian's own (scripts/stock-kernel.sh).
	flavours=(fast debug stock)
fi
# For working on one test: WL_FLAVOURS="fast" and WL_ONLY=NAME[,NAME] (guest
# test names, see run-tests.sh) narrow the run; the lockdep boot is skipped.
[ -n "${WL_FLAVOURS:-}" ] && read -r -a flavours <<<"$WL_FLAVOURS"
only=()
[ -n "${WL_ONLY:-}" ] && only=(--append "wl.only=$WL_ONLY")
wl_stage "setup: toolchain"
"$WL_ROOT/scripts/bootstrap.sh"
# The loom models first (no kernel build needed): a failure ends the run here.
mc=$("$WL_ROOT/scripts/modelcheck.sh") || true
echo "$mc" | grep -v '^modelcheck:' | sed 's/^/[model] /'
read -r mp mf < <(echo "$mc" | sed -n 's/^modelcheck: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
[ "${mf:-1}" = 0 ] || { echo "${mp:-0} passed, ${mf:-1} failed"; exit 1; }
# The stock kernel is skipped, saying why, when Debian no longer offers the
# exact compilers its kernel was built with (stock-kernel.sh exits 3).
stock_skip=""
for f in "${flavours[@]}"; do
	if [ "$f" = stock ]; then
		rc=0
		mkdir -p "$WL_CACHE/logs"
		"$WL_ROOT/scripts/stock-kernel.sh" >/dev/null 2> >(tee "$WL_CACHE/logs/stock-check.err" >&2) || rc=$?
		wait # for tee
		if [ $rc = 3 ]; then
			stock_skip=$(sed -n 's/^stock: unavailable: //p' "$WL_CACHE/logs/stock-check.err" | head -n1)
		elif [ $rc != 0 ]; then
			cat "$WL_CACHE/logs/stock-check.err" >&2
			wl_die "the stock kernel could not be prepared (above)"
		fi
		continue
	fi
	"$WL_ROOT/scripts/kernel-build.sh" "$f" >/dev/null
done

# Four edu devices (on shared INTx lines) and a pci-serial UART, a second
# driver on those lines. Each has an id and a fixed slot, so that a test can
# hot-unplug it (host_unplug in edu_common.inc) and plug it back at the same
# address, on the same line.
#
# INTx routing on the pc machine: INTA of slot S is PIRQ (S - 1) & 3 (A..D;
# devices whose slots differ by a multiple of 4 share a PIRQ), and SeaBIOS
# routes PIRQA/B to IRQ 10 and PIRQC/D to IRQ 11 (e1000 at slot 3 is PIRQC).
# The layout below gives two lines, each with two edu devices, the UART
# sharing its PIRQ with two of them:
#   PIRQD, IRQ 11: edu0 (0x10), edu2 (0x14), ser0 (0x18)
#   PIRQA, IRQ 10: edu1 (0x11), edu3 (0x15)
# The guest probes in slot order, so edu<N> is the driver's device N and
# irq_mode=3 (MSI on even, INTx on odd) puts both INTx devices on PIRQA.
# An e1000e (82574L, five MSI-X vectors) for the multi-vector tests
# (api_vectors, samples/msix_vectors) sits at 0x1a, PIRQB, IRQ 10 when it
# falls back to INTx; no test kernel has a driver that binds it by itself.
devices=(
	--device edu,id=edu0,addr=0x10 --device edu,id=edu1,addr=0x11
	--device edu,id=edu2,addr=0x14 --device edu,id=edu3,addr=0x15
	--device pci-serial,id=ser0,addr=0x18
	--device e1000e,id=nic0,addr=0x1a
)
# The virtio sample's tests (virtio_*) boot each flavour once more, with the
# e1000e and four virtio-rng-pci devices: rng0 (0x12, PIRQB: IRQ 10 on INTx,
# with the e1000e) is the sample's, rng1 (0x13) Linux's C virtio_rng's, rng2
# (0x16, PIRQB) the sample's too but starved by its rate limit (64 bytes an
# hour: readers stay blocked), rng3 (0x17) a legacy-only device the sample
# must refuse. Linux's virtio_pci binds them all at boot; the tests hand
# theirs over with driver_override. A boot of their own, so that each boot's
# devices stay few: every PCI device's INTx routing is an ACPI _PRT
# evaluation, slow on the debug kernel under TCG (see kmemleak=off below).
virtio_tests=virtio_probe,virtio_read,virtio_removal
virtio_rngs=(
	--device virtio-rng-pci,id=rng0,addr=0x12,disable-legacy=on
	--device virtio-rng-pci,id=rng1,addr=0x13,disable-legacy=on
	--device virtio-rng-pci,id=rng2,addr=0x16,disable-legacy=on,max-bytes=64,period=3600000
	--device virtio-rng-pci,id=rng3,addr=0x17,disable-modern=on
)
virtio_devices=(--device e1000e,id=nic0,addr=0x1a "${virtio_rngs[@]}")
total_pass=$mp total_fail=0 total_skip=0
# Rules the type system enforces (a source cannot outlive its device binding):
# small modules that must build, or must be refused with a lifetime error.
if [ -z "${WL_ONLY:-}" ]; then
	wl_stage "compile tests"
	ct=$("$WL_ROOT/scripts/compile-tests.sh") || wl_die "compile tests could not run"
	echo "$ct" | grep -v '^compile:' | sed 's/^/[host] /'
	read -r cp cf < <(echo "$ct" | sed -n 's/^compile: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
	total_pass=$((total_pass + ${cp:-0}))
	total_fail=$((total_fail + ${cf:-1}))
fi
# The DKMS route, with the dkms tool itself, against the stock kernel's headers.
if [[ " ${flavours[*]} " == *" stock "* ]] && [ -z "${WL_ONLY:-}" ] && [ -z "$stock_skip" ]; then
	wl_stage "DKMS tests (stock kernel headers)"
	dt=$("$WL_ROOT/scripts/dkms-test.sh") || true
	echo "$dt" | grep -v '^dkms:' | sed 's/^/[host] /'
	read -r dp df < <(echo "$dt" | sed -n 's/^dkms: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
	total_pass=$((total_pass + ${dp:-0}))
	total_fail=$((total_fail + ${df:-1}))
fi
for f in "${flavours[@]}"; do
	if [ "$f" = stock ] && [ -n "$stock_skip" ]; then
		echo "[stock] SKIP every test: $stock_skip"
		total_skip=$((total_skip + 1))
		continue
	fi
	timeout=900
	[ "$f" = debug ] && timeout=1800
	# kmemleak makes the debug kernel's ACPI _PRT evaluation (every new PCI
	# device's INTx routing, a 128-step AML loop in QEMU's DSDT) take 25-30 s
	# under TCG instead of about 10, past ACPICA's 30 s loop limit
	# (AE_AML_LOOP_TIMEOUT) as often as not, and a probe then finds no
	# route ("PCI INT A: no GSI"). So the debug kernel's boots run with
	# kmemleak off, except a boot of its own for the leak check (edu_failslab's
	# failslab_no_kmemleak), with only the edu devices.
	leak_off=() leak_test=edu_failslab
	[ "$f" = debug ] && leak_off=(--append kmemleak=off)
	if [ -n "${WL_ONLY:-}" ]; then
		# One boot with every device, for the tests asked for.
		[[ ",$WL_ONLY," == *",$leak_test,"* ]] && leak_off=()
		boots=("main|${only[*]} ${leak_off[*]}|devices virtio_rngs")
	elif [ "$f" = debug ]; then
		boots=("main|--append wl.skip=$virtio_tests,$leak_test ${leak_off[*]}|devices"
			"virtio|--append wl.only=$virtio_tests ${leak_off[*]}|virtio_devices"
			"leaks|--append wl.only=$leak_test|devices")
	else
		boots=("main|--append wl.skip=$virtio_tests|devices" "virtio|--append wl.only=$virtio_tests|virtio_devices")
	fi
	for b in "${boots[@]}"; do
		IFS='|' read -r tag sel lists <<<"$b"
		read -r -a selargs <<<"$sel"
		devs=()
		for l in $lists; do
			declare -n list=$l
			devs+=("${list[@]}")
			unset -n list
		done
		btag=""
		[ "$tag" = main ] || btag=$tag
		log=$(WL_BOOT_TAG=$btag "$WL_ROOT/scripts/boot.sh" "$f" check --cpus 2 --mem 2048 --timeout $timeout "${selargs[@]}" "${devs[@]}")
		sum="$WL_ROOT/out/$f-check${btag:+-$btag}.summary"
		rm -f "$sum"
		python3 "$WL_ROOT/scripts/ktap.py" "$log" --label "$f" --summary-file "$sum" || true
		[ -f "$sum" ] || wl_die "could not parse $log"
		read -r p fl <"$sum"
		total_pass=$((total_pass + p))
		total_fail=$((total_fail + fl))
	done
done
# The gate is a lock lockdep sees: a boot of its own on the debug kernel loads a
# module that takes the gate and a mutex in both orders; lockdep must report it
# (a report turns lockdep off for the rest of a boot, and the ordinary suite
# fails on any report, hence the separate boot).
if [[ " ${flavours[*]} " == *" debug "* ]] && [ -z "${WL_ONLY:-}" ]; then
	log=$("$WL_ROOT/scripts/boot.sh" debug lockdep --cpus 2 --mem 1024 --timeout 600)
	verdict=$(tr -d '\r' <"$log" | sed -n 's/^WL-LOCKDEP: //p' | head -n 1)
	if [ "$verdict" = reported ]; then
		echo "[debug] ok gate_lockdep_reports_an_inversion_through_the_gate"
		total_pass=$((total_pass + 1))
	else
		echo "[debug] FAIL: gate_lockdep_reports_an_inversion_through_the_gate: ${verdict:-no verdict} (see $log)"
		total_fail=$((total_fail + 1))
	fi
fi
wl_stage "check: done"
[ "$total_skip" = 0 ] || echo "skipped: the stock kernel ($stock_skip)"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
