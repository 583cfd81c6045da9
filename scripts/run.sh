#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: sets up, boots a kernel with two edu devices and shows the
# project working (the guest's demo script), then powers off.
#
# The kernel is Debian's own (the `stock` target: about 3 minutes to prepare
# on a fresh machine) when that can be had, else the fast test kernel (about
# 10 minutes to build); WL_RUN_KERNEL=fast|stock chooses.
. "$(dirname "$0")/common.sh"

"$WL_ROOT/scripts/bootstrap.sh"
flavour="${WL_RUN_KERNEL:-}"
if [ -z "$flavour" ]; then
	rc=0
	mkdir -p "$WL_CACHE/logs"
	"$WL_ROOT/scripts/stock-kernel.sh" >/dev/null 2> >(tee "$WL_CACHE/logs/run-stock.err" >&2) || rc=$?
	wait # for tee
	if [ $rc = 0 ]; then
		flavour=stock
		wl_stage "run: Debian's own kernel $("$WL_ROOT/scripts/stock-kernel.sh" --release) (faster to prepare than building ours)"
	else
		flavour=fast
		wl_stage "run: the fast test kernel, because the stock one is not available: $(tail -n 1 "$WL_CACHE/logs/run-stock.err")"
	fi
fi
log=$("$WL_ROOT/scripts/boot.sh" "$flavour" run --cpus 2 --mem 1024 --timeout 300 \
	--device edu --device edu)
if ! grep -q "WL-DEMO-END" "$log"; then
	tail -n 40 "$log" >&2
	wl_die "the demo did not complete: see $log"
fi
sed -n '/WL-DEMO-BEGIN/,/WL-DEMO-END/p' "$log" | sed '1d;$d' | sed 's/^\[[ 0-9.]*\] //'
