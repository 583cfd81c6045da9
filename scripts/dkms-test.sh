#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host tests of the DKMS route, with Debian's dkms tool itself, inside the
# stock kernel's chroot (scripts/stock-kernel.sh): nothing is installed into
# this machine. Prints one KTAP-style line per test and ends with
# "dkms: N passed, N failed"; exits 3 when the stock kernel is unavailable.
#   dkms_builds_with_rust_metadata: dkms.conf builds every module against
#     Debian's headers with the Rust metadata grafted in;
#   dkms_refuses_headers_without_rust_metadata: against Debian's headers as
#     shipped, the build stops naming the missing metadata.
. "$(dirname "$0")/common.sh"

stock="$WL_ROOT/scripts/stock-kernel.sh"
krel=$("$stock") || exit $?
st="$WL_CACHE/stock/$krel"
root="$st/root"
headers=$("$stock" --graft)

# dkms, unpacked into the chroot once.
if [ ! -f "$st/.wl-dkms" ]; then
	wl_private_apt
	wl_apt_update
	dl=$(mktemp -d)
	(cd "$dl" && wl_logged "$WL_CACHE/logs/stock-apt.log" "download of dkms failed (no network?): rerun" \
		apt-get "${WL_APT_OPTS[@]}" download dkms)
	dpkg-deb -x "$dl"/dkms_*.deb "$root"
	rm -rf "$dl"
	touch "$st/.wl-dkms"
fi

# The project's sources as DKMS expects them: /usr/src/workloop-<version>.
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"$/\1/p' "$WL_ROOT/dkms.conf")
src="$root/usr/src/workloop-$ver"
rm -rf "$src" "$root/var/lib/dkms" "$root/opt/plain"
mkdir -p "$src" "$root/var/lib/dkms"
(cd "$WL_ROOT" && tar -cf - Kbuild dkms.conf src samples tests scripts/dkms-check.sh) | tar -C "$src" -xf -
# Debian's headers as shipped, for the refusal.
mkdir -p "$root/opt/plain"
cp -a "$st"/pkgs/usr/src/linux-headers-"$krel" "$root/opt/plain/"

pass=0 fail=0
result() {
	if [ "$1" = 0 ]; then
		echo "ok $2"
		pass=$((pass + 1))
	else
		echo "not ok $2"
		fail=$((fail + 1))
	fi
}
dkms_build() {
	"$stock" --run dkms build -m workloop -v "$ver" -k "$krel" --kernelsourcedir "$1" \
		--dkmstree /var/lib/dkms --sourcetree /usr/src 2>&1
}

log="$WL_CACHE/logs/dkms-test.log"
rc=0
dkms_build "$headers" >"$log" || rc=$?
built="$root/var/lib/dkms/workloop/$ver/$krel/x86_64/module"
n=$(ls "$built"/*.ko* 2>/dev/null | wc -l) || true # none built: ls fails
# Every module dkms.conf names, each under its own name.
want=$(grep -c '^BUILT_MODULE_NAME\[' "$WL_ROOT/dkms.conf")
missing=""
for m in $(sed -n 's/^BUILT_MODULE_NAME\[[0-9]*\]="\(.*\)"$/\1/p' "$WL_ROOT/dkms.conf"); do
	ls "$built/$m".ko* >/dev/null 2>&1 || missing="$missing $m"
done
if [ $rc != 0 ] || [ "$n" != "$want" ] || [ -n "$missing" ]; then
	tail -n 20 "$log" | sed 's/^/# /'
	echo "# dkms build exit $rc, $n of $want modules in $built${missing:+, missing:$missing}"
	result 1 dkms_builds_with_rust_metadata
else
	result 0 dkms_builds_with_rust_metadata
fi

rm -rf "$root/var/lib/dkms" && mkdir -p "$root/var/lib/dkms"
rc=0
dkms_build "/opt/plain/linux-headers-$krel" >"$log.plain" || rc=$?
# dkms keeps the PRE_BUILD script's words in the make.log it points to.
cat "$root/var/lib/dkms/workloop/$ver/build/make.log" >>"$log.plain" 2>/dev/null || true
if [ $rc != 0 ] && grep -q "lacks the Rust metadata.*missing:.*rust/libkernel.rmeta" "$log.plain"; then
	result 0 dkms_refuses_headers_without_rust_metadata
else
	tail -n 20 "$log.plain" | sed 's/^/# /'
	echo "# dkms exit $rc against headers without the metadata"
	result 1 dkms_refuses_headers_without_rust_metadata
fi
rm -rf "$root/opt/plain"
echo "dkms: $pass passed, $fail failed"
[ $fail = 0 ]
