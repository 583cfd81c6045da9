# SPDX-License-Identifier: GPL-2.0
#
# workloop: IOKit-style work loops and interrupt event sources for Rust
# Linux drivers.
#
#   make          build every module against the fast test kernel
#   make run      set up everything, boot QEMU and show the demo
#   make check    set up everything and run every test on both kernels
#   make bench    benchmarks (ratios within one QEMU boot)
#   make lint     rustfmt --check and a clippy build
#   make modelcheck  the loom models of the library (hostcheck/), DEPTH=3 deeper
#   make setup    only install the toolchain and build the test kernels
#   make debian-modules [KREL=<release>]
#                 build the modules for Debian's own kernel (default: the
#                 running one, `uname -r`); see README, "Debian"
#
# KDIR=<prepared Rust-enabled kernel build> uses your kernel instead of the
# cached test kernels. The cache lives in $XDG_CACHE_HOME/workloop
# (default ~/.cache/workloop); WORKLOOP_CACHE overrides it.

export KDIR

.PHONY: all modules setup check run bench lint clean debian-modules modelcheck

all modules:
	@scripts/bootstrap.sh --check
	@scripts/build-modules.sh fast >/dev/null

setup:
	@scripts/bootstrap.sh
	@scripts/kernel-build.sh fast >/dev/null
	@if [ -z "$(KDIR)" ]; then scripts/kernel-build.sh debug >/dev/null; fi

check:
	@scripts/check.sh

run:
	@scripts/run.sh

bench:
	@scripts/bench.sh

lint:
	@scripts/lint.sh

debian-modules:
	@KREL="$(KREL)" scripts/debian-modules.sh

clean:
	rm -rf out

# The loom models of hostcheck/ (Documentation/modelcheck.rst): every
# interleaving up to DEPTH preemptions (default 2; DEPTH=3 takes about 10x
# longer). MUTATE=<name>|all runs mutations instead (each must fail a model).
# OLD=f436a3a runs them against that commit's library (on demand only).
DEPTH ?= 2
modelcheck:
	@scripts/modelcheck.sh --depth $(DEPTH) $(if $(MUTATE),--mutate $(MUTATE)) $(if $(OLD),--old $(OLD))
