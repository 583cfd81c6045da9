# SPDX-License-Identifier: GPL-2.0
# KTAP helpers for guest shell tests (sourced). Mirrors the kselftest
# ktap_helpers.sh shape: ktap_plan N, then one ktap_ok/ktap_fail per test.
KTAP_N=0
KTAP_FAILED=0

ktap_header() { echo "KTAP version 1"; }
ktap_plan() { echo "1..$1"; }
ktap_diag() { echo "# $*"; }

# ktap_result NAME COMMAND...: runs COMMAND, reports ok/not ok NAME.
ktap_result() {
	name=$1
	shift
	KTAP_N=$((KTAP_N + 1))
	if "$@"; then
		echo "ok $KTAP_N $name"
	else
		echo "not ok $KTAP_N $name"
		KTAP_FAILED=$((KTAP_FAILED + 1))
	fi
}

ktap_finish() { [ "$KTAP_FAILED" -eq 0 ]; }
