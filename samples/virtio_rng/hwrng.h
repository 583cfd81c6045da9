/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hwrng registration of virtio_rng_rs: kernel 7.2's Rust bindings have no
 * struct hwrng, so this C file owns it, and the C compiler checks its layout
 * for whatever kernel the module is built against. The Rust side sees an
 * opaque pointer and one callback.
 */
#ifndef VIRTIO_RNG_RS_HWRNG_H
#define VIRTIO_RNG_RS_HWRNG_H

#include <linux/types.h>

struct vrng_rs_hwrng;

/* Registers an hwrng named @name whose reads call vrng_rs_read(@ctx, ...).
 * Returns an ERR_PTR on failure. */
struct vrng_rs_hwrng *vrng_rs_hwrng_register(const char *name, void *ctx);
/* Unregisters and frees it; returns once no read is in progress. */
void vrng_rs_hwrng_unregister(struct vrng_rs_hwrng *h);

/* Implemented in Rust (virtio_rng_main.rs): the hwrng's read. */
int vrng_rs_read(void *ctx, void *buf, size_t max, bool wait);

#endif
