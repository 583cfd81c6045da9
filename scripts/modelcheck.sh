#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# `make modelcheck`: runs the loom models of hostcheck/ (the library's own
# src/ files compiled on the host, see Documentation/modelcheck.rst) and ends
# with the line `modelcheck: N passed, N failed`.
#
#   scripts/modelcheck.sh                  every model, 2 preemptions
#   scripts/modelcheck.sh --depth 3        deeper (about 10x longer)
#   scripts/modelcheck.sh --only NAME      models whose name contains NAME
#   scripts/modelcheck.sh --smoke          the models once each on real threads
#   scripts/modelcheck.sh --mutate NAME    apply hostcheck/mutations/NAME.patch
#                                          to a copy of the tree and run the
#                                          model it names: it must fail
#   scripts/modelcheck.sh --mutate all     every mutation
#   scripts/modelcheck.sh --old f436a3a    the models against the library of
#                                          an old commit: its src/ exported
#                                          next to a copy of hostcheck/, with
#                                          hostcheck/old/<commit>.patch and the
#                                          crate root hostcheck/old/<commit>/
#                                          (API adapters only); each model in
#                                          its own process, killed at its
#                                          budget; on demand only, never in
#                                          `make check` (failures are expected)
#
# A model must finish within 30 s at depth 2 (WL_MODEL_BUDGET overrides);
# one that takes longer is reported as failed.
. "$(dirname "$0")/common.sh"

depth=2 only="" smoke=0 mutate="" old=""
while [ $# -gt 0 ]; do
	case "$1" in
	--depth) depth="$2"; shift 2 ;;
	--only) only="$2"; shift 2 ;;
	--smoke) smoke=1; shift ;;
	--mutate) mutate="$2"; shift 2 ;;
	--old) old="$2"; shift 2 ;;
	*) wl_die "usage: $0 [--depth N] [--only NAME] [--smoke] [--mutate NAME|all] [--old COMMIT]" ;;
	esac
done
budget="${WL_MODEL_BUDGET:-$((depth <= 2 ? 30 : 600))}"
hc="$WL_ROOT/hostcheck"
command -v cargo >/dev/null || wl_die "cargo not found: install Rust's cargo (rustup) and rerun 'make setup'"

# The kernel tree's own pin-init, built for the host.
src=$("$WL_ROOT/scripts/kernel-source.sh")
[ -f "$src/rust/pin-init/src/lib.rs" ] || wl_die "$src has no rust/pin-init"
ln -sfn "$src/rust" "$hc/kernel-rust"

export RUSTC="$WL_RUSTC" RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$hc/target"
# One job while a kernel build shares the machine.
pgrep -f "scripts/kernel-build.sh" >/dev/null && export CARGO_BUILD_JOBS=1
logs="$WL_CACHE/logs"
mkdir -p "$logs"

# Runs the models of crate dir $1 matching $2 at depth $depth; prints one line
# per model and sets pass/fail.
run_models() {
	local dir="$1" filter="$2" report log
	report=$(mktemp)
	log="$logs/modelcheck.log"
	wl_stage "modelcheck: build (loom)"
	wl_logged "$log" "the models do not build (hostcheck/)" \
		cargo test --manifest-path "$dir/Cargo.toml" --release --features loom --lib --no-run
	wl_stage "modelcheck: models${filter:+ matching $filter}, LOOM_MAX_PREEMPTIONS=$depth"
	MODELCHECK_REPORT="$report" LOOM_MAX_PREEMPTIONS="$depth" \
		cargo test --manifest-path "$dir/Cargo.toml" --release --features loom --lib -- \
		--test-threads=1 "${filter:-model_}" >"$log" 2>&1 || true
	pass=0 fail=0
	local name res
	while read -r name res; do
		local stat
		stat=$(awk -v n="$name" '$1 == n { print $2 " interleavings, " $3 " s" }' "$report")
		if [ "$res" = ok ]; then
			secs=$(awk -v n="$name" '$1 == n { print $3 }' "$report")
			if [ -n "$secs" ] && awk -v s="$secs" -v b="$budget" 'BEGIN { exit !(s > b) }'; then
				echo "FAIL $name: over its ${budget} s budget ($stat)"
				fail=$((fail + 1))
			else
				echo "ok $name ($stat)"
				pass=$((pass + 1))
			fi
		else
			echo "FAIL $name: $(grep -A2 "^---- .*$name stdout" "$log" | grep -m1 -v '^----' || true) (log: $log)"
			fail=$((fail + 1))
		fi
	done < <(sed -n 's/^test models::[a-z_]*::\(model_[a-z_0-9]*\) \.\.\. \(ok\|FAILED\)$/\1 \2/p' "$log")
	rm -f "$report"
	if [ $((pass + fail)) = 0 ]; then
		tail -n 30 "$log" >&2
		echo "FAIL modelcheck: no model ran (log: $log)"
		fail=1
	fi
}

if [ $smoke = 1 ]; then
	wl_stage "modelcheck: smoke (std threads)"
	cargo test --manifest-path "$hc/Cargo.toml" --lib -- "${only:-model_}"
	exit
fi

# The models against the library of commit $old (see the header): one line
# per model, "ok NAME (time)" or "FAIL NAME: loom's message [where] (time)".
if [ -n "$old" ]; then
	od="$hc/old/$old"
	[ -f "$od/lib.rs" ] && [ -f "$hc/old/$old.patch" ] ||
		wl_die "no adaptation for $old (hostcheck/old/$old.patch and hostcheck/old/$old/lib.rs)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	# A copy of the tree, never the tree itself: the old src/, today's
	# hostcheck/ (shim, host sys.rs, models) with the old crate root.
	git -C "$WL_ROOT" archive "$old" src | tar -x -C "$tmp" ||
		wl_die "cannot export src/ of $old"
	mkdir -p "$tmp/hostcheck"
	(cd "$hc" && cp -r Cargo.toml Cargo.lock kernel pin-init src old "$tmp/hostcheck/")
	ln -s "$src/rust" "$tmp/hostcheck/kernel-rust"
	patch -s -p1 -d "$tmp" <"$hc/old/$old.patch" || wl_die "hostcheck/old/$old.patch does not apply"
	cp "$od/lib.rs" "$tmp/hostcheck/src/lib.rs"
	log="$logs/modelcheck-old.log"
	wl_stage "modelcheck: build against $old (loom)"
	wl_logged "$log" "the models do not build against $old" \
		cargo test --manifest-path "$tmp/hostcheck/Cargo.toml" --release --features loom --lib --no-run
	exe=$(sed -n 's/^ *Executable unittests src\/lib.rs (\(.*\))$/\1/p' "$log" | tail -n1)
	case "$exe" in /*) ;; *) exe="$PWD/$exe" ;; esac # cargo prints it relative
	[ -x "$exe" ] || wl_die "no test executable in $log"
	mapfile -t tests < <("$exe" --list 2>/dev/null | sed -n 's/^\(models::[a-z_]*::model_[a-z_0-9]*\): test$/\1/p' |
		grep -F -- "${only:-model_}")
	[ ${#tests[@]} -gt 0 ] || wl_die "no model matches ${only:-model_}"
	wl_stage "modelcheck: ${#tests[@]} models against $old, LOOM_MAX_PREEMPTIONS=$depth, killed after ${budget} s"
	pass=0 fail=0
	for t in "${tests[@]}"; do
		name=${t##*::}
		mlog="$logs/modelcheck-old-$name.log"
		t0=$(date +%s.%N)
		# In a subshell whose stderr is dropped: bash's own "Aborted" line
		# for a model that aborts the process.
		rc=$( (RUST_BACKTRACE=1 LOOM_MAX_PREEMPTIONS="$depth" MODELCHECK_REPORT="$tmp/report" timeout "$budget" \
			"$exe" --exact "$t" --test-threads=1 >"$mlog" 2>&1) 2>/dev/null && echo 0 || echo $?)
		secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		if [ "$rc" = 0 ]; then
			stat=$(awk -v n="$name" '$1 == n { print $2 " interleavings, " }' "$tmp/report" 2>/dev/null)
			echo "ok $name (${stat}${secs} s)"
			pass=$((pass + 1))
			continue
		fi
		fail=$((fail + 1))
		if [ "$rc" = 124 ]; then
			echo "FAIL $name: no result within its ${budget} s budget, killed (${secs} s)"
			continue
		fi
		# loom's message: the lines after "panicked at", and the first
		# frame in the library of the thread that panicked (for a
		# deadlock: the thread loom ran last, blocked like the others).
		msg=$(grep -m1 -A3 'panicked at' "$mlog" | sed '1d; /^stack backtrace/,$d' |
			tr -s ' \n' ' ' | cut -c1-240)
		at=$(sed -n 's/^ *[0-9]*: <*\(hostcheck::workloop::[A-Za-z_:<>]*\|kernel::irq::host::[A-Za-z_:<>]*\).*/\1/p' "$mlog" |
			head -n1 | sed "s/^hostcheck::workloop:://; s/>//g")
		grep -q 'panic in a function that cannot unwind' "$mlog" && msg="$msg; aborted (panic in a function that cannot unwind)"
		echo "FAIL $name: ${msg:-exit $rc} ${at:+[in $at]} (${secs} s, log: $mlog)"
	done
	echo "modelcheck against $old: $pass passed, $fail failed"
	exit 0
fi

if [ -n "$mutate" ]; then
	if [ "$mutate" = all ]; then
		mapfile -t names < <(cd "$hc/mutations" && ls -- *.patch | sed 's/\.patch$//')
	else
		names=("$mutate")
	fi
	killed=0 survived=0
	for m in "${names[@]}"; do
		patch="$hc/mutations/$m.patch"
		[ -f "$patch" ] || wl_die "no mutation $m (hostcheck/mutations/)"
		expect=$(sed -n 's/^# expect: //p' "$patch")
		tmp=$(mktemp -d)
		# A copy of the tree, never the tree itself.
		mkdir -p "$tmp/hostcheck"
		cp -r "$WL_ROOT/src" "$tmp/src"
		(cd "$hc" && cp -r Cargo.toml Cargo.lock kernel pin-init src "$tmp/hostcheck/")
		ln -s "$src/rust" "$tmp/hostcheck/kernel-rust"
		patch -s -p1 -d "$tmp" <"$patch" || wl_die "mutation $m does not apply"
		run_models "$tmp/hostcheck" "$expect" >"$tmp/out"
		rm -rf "$tmp"
		if [ "$fail" -gt 0 ]; then
			echo "ok mutation $m: $expect fails, as it must"
			killed=$((killed + 1))
		else
			echo "FAIL mutation $m: $expect still passes"
			survived=$((survived + 1))
		fi
	done
	echo "mutations: $killed passed, $survived failed"
	[ "$survived" = 0 ]
	exit
fi

run_models "$hc" "$only"
echo "modelcheck: $pass passed, $fail failed"
[ "$fail" = 0 ]
