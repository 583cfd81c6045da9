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

/*
 * The bell: the bottom half rings it after a harvest (the queue's top half
 * with hardirq=1), a reader waits for a ring it has not seen (wait_event: the count is checked after the reader is queued, so
 * no ring is lost). Kernel 7.2's Rust CondVar checks its condition before it
 * queues the waiter, and its Completion has no interruptible wait.
 */
struct vrng_rs_bell;

struct vrng_rs_bell *vrng_rs_bell_new(void);
void vrng_rs_bell_free(struct vrng_rs_bell *b);
/* The rings so far (acquire: later reads of the used ring see at least what
 * the device had written before that ring). */
unsigned int vrng_rs_bell_count(struct vrng_rs_bell *b);
/* Any context, hard IRQ included. */
void vrng_rs_bell_ring(struct vrng_rs_bell *b);
/* Sleeps (interruptibly, at most @timeout jiffies) until the count differs
 * from @seen: > 0 if it does, 0 on timeout, -ERESTARTSYS on a signal. */
long vrng_rs_bell_wait(struct vrng_rs_bell *b, unsigned int seen, long timeout);

/* Implemented in Rust (virtio_rng_main.rs): the hwrng's read. */
int vrng_rs_read(void *ctx, void *buf, size_t max, bool wait);

#endif
