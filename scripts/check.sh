#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: sets everything up, then boots each kernel flavour in QEMU,
# runs every guest test there and ends with the line `N passed, N failed`.
. "$(dirname "$0")/common.sh"

if [ -n "${KDIR:-}" ]; then
	flavours=(fast) # a user's own kernel: one boot, named after its flavour slot
else
	flavours=(fast debug)
fi
wl_stage "setup: toolchain"
"$WL_ROOT/scripts/bootstrap.sh"
for f in "${flavours[@]}"; do
	"$WL_ROOT/scripts/kernel-build.sh" "$f" >/dev/null
done

# Four edu devices (some of them end up on shared INTx lines) and a
# pci-serial UART, a second driver on those lines.
devices=(--device edu --device edu --device edu --device edu --device pci-serial)
total_pass=0 total_fail=0
for f in "${flavours[@]}"; do
	timeout=900
	[ "$f" = debug ] && timeout=1800
	log=$("$WL_ROOT/scripts/boot.sh" "$f" check --cpus 2 --mem 2048 --timeout $timeout "${devices[@]}")
	sum="$WL_ROOT/out/$f-check.summary"
	rm -f "$sum"
	python3 "$WL_ROOT/scripts/ktap.py" "$log" --label "$f" --summary-file "$sum" || true
	[ -f "$sum" ] || wl_die "could not parse $log"
	read -r p fl <"$sum"
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + fl))
done
wl_stage "check: done"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
