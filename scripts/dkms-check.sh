#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# DKMS PRE_BUILD: the kernel tree must carry what out-of-tree Rust modules
# need. Stops with one line naming what is missing where.
#   dkms-check.sh KERNEL_SOURCE_DIR
k="${1:?usage: dkms-check.sh KERNEL_SOURCE_DIR}"
missing=""
for f in .config rust/libkernel.rmeta rust/libcore.rmeta rust/libmacros.so scripts/target.json \
	rust/kernel/generated_arch_static_branch_asm.rs; do
	[ -e "$k/$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	echo "error: $k lacks the Rust metadata out-of-tree Rust modules build against (missing:$missing)." >&2
	echo "error: Debian's headers packages do not ship it; 'make debian-modules' in workloop prepares headers that do (see its README, \"Debian\")." >&2
	exit 1
fi
grep -q '^CONFIG_RUST=y' "$k/.config" || {
	echo "error: $k/.config has no CONFIG_RUST=y: this kernel cannot load Rust modules." >&2
	exit 1
}
