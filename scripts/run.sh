#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: sets up, boots the fast test kernel with two edu devices and
# shows the project working (the guest's demo script), then powers off.
. "$(dirname "$0")/common.sh"

"$WL_ROOT/scripts/bootstrap.sh"
log=$("$WL_ROOT/scripts/boot.sh" fast run --cpus 2 --mem 1024 --timeout 300 \
	--device edu --device edu)
if ! grep -q "WL-DEMO-END" "$log"; then
	tail -n 40 "$log" >&2
	wl_die "the demo did not complete: see $log"
fi
sed -n '/WL-DEMO-BEGIN/,/WL-DEMO-END/p' "$log" | sed '1d;$d' | sed 's/^\[[ 0-9.]*\] //'
