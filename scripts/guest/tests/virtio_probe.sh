#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# samples/virtio_rng: probe. With MSI-X, two vectors (configuration, queue),
# each a source on the sample's one work loop; with INTx (intx=1), one source
# on a shared level line whose filter answers "not mine" for another device's
# interrupt (the e1000e of msix_vectors, on the same line). Bad parameters
# are refused at insmod, a legacy-only device at probe, each with a message.
. /guest/ktap.sh
. /guest/tests/edu_common.inc
. /guest/tests/virtio_common.inc
ktap_header
ktap_plan 4

virtio_setup || exit 1
RNG0=$(edu_slot_addr rng0)
RNG3=$(edu_slot_addr rng3)

# proc_line NAME: the /proc/interrupts lines of IRQs named NAME.
proc_line() { grep " $1\$" /proc/interrupts; }

virtio_params_out_of_range_refused() {
	rc=0
	for p in depth=0 depth=9 intx=2 hardirq=2; do
		dmesg -c >/dev/null
		if insmod "$VRS_KO" $p 2>/dev/null; then
			ktap_diag "$p accepted"
			vrs_unload
			rc=1
		elif ! dmesg | grep -q "${p%%=*}=${p#*=} is invalid"; then
			ktap_diag "$p refused without saying why"
			rc=1
		fi
	done
	return $rc
}

virtio_probe_msix_two_vectors_on_one_loop() {
	vrs_unload
	insmod "$VRS_KO" || return 1
	rc=0
	for v in config queue; do
		proc_line "virtio_rng_rs-$v" | grep -q "PCI-MSIX-$RNG0" ||
			{ ktap_diag "no MSI-X line virtio_rng_rs-$v"; rc=1; }
		[ -f "$(vrs_dir "$RNG0")/virtio_rng_rs/virtio_rng_rs-$v/stats" ] ||
			{ ktap_diag "virtio_rng_rs-$v is not a source of the device's loop"; rc=1; }
	done
	vrs_names | grep -qx "$(vrs_name "$RNG0")" || { ktap_diag "no hwrng registered"; rc=1; }
	read_from "$(vrs_name "$RNG0")" 4096 || rc=1
	# Every queue interrupt reached the bottom half, and /proc counted them.
	hwrng_quiet
	irqs_settled "$RNG0" "$(proc_irq "$RNG0" virtio_rng_rs-queue)" || rc=1
	return $rc
}

virtio_probe_intx_shared_level_line() {
	vrs_unload
	insmod "$VRS_KO" intx=1 || return 1
	line=$(proc_line virtio_rng_rs | head -n 1)
	irq=$(echo "$line" | sed 's/^ *\([0-9]*\):.*/\1/')
	echo "$line" | grep -q 'IO-APIC.*fasteoi' || { ktap_diag "not a level line: $line"; return 1; }
	read_from "$(vrs_name "$RNG0")" 4096 || return 1
	# Another device's interrupts on the same line: the e1000e on INTx.
	insmod /guest/modules/msix_vectors.ko intx_only=1 vectors=1 || return 1
	nic_irq=$(proc_line msix_vec0 | sed 's/^ *\([0-9]*\):.*/\1/')
	before=$(vrs_stat "$RNG0" not_mine)
	nic=$(ls -d "$DBG"/msix_vectors-* | head -n 1)
	rc=0
	if [ "$nic_irq" != "$irq" ]; then
		ktap_diag "the e1000e is on IRQ $nic_irq, not $irq"
		rc=1
	else
		echo "0 20" >"$nic/raise" || { ktap_diag "raising on the e1000e failed"; rc=1; }
		after=$(vrs_stat "$RNG0" not_mine)
		[ $((after - before)) -ge 20 ] || { ktap_diag "not_mine $before -> $after for 20 raises"; rc=1; }
		read_from "$(vrs_name "$RNG0")" 4096 || rc=1
	fi
	rmmod msix_vectors
	hwrng_quiet
	vrs_settled "$RNG0" || rc=1
	return $rc
}

virtio_probe_legacy_device_refused() {
	[ -n "$RNG3" ] || return 1
	dmesg -c >/dev/null
	if vrs_bind "$RNG3"; then
		ktap_diag "the legacy device was bound"
		return 1
	fi
	dmesg | grep -q "virtio_rng_rs $RNG3: no virtio 1.0 capabilities" ||
		{ ktap_diag "refused without the reason"; dmesg | tail -n 5 | sed 's/^/# /'; return 1; }
}

ktap_result virtio_params_out_of_range_refused virtio_params_out_of_range_refused
ktap_result virtio_probe_msix_two_vectors_on_one_loop virtio_probe_msix_two_vectors_on_one_loop
ktap_result virtio_probe_intx_shared_level_line virtio_probe_intx_shared_level_line
ktap_result virtio_probe_legacy_device_refused virtio_probe_legacy_device_refused
vrs_unload
ktap_finish
