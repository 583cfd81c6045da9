// SPDX-License-Identifier: GPL-2.0
/* The hwrng of virtio_rng_rs: see hwrng.h. */
#include <linux/err.h>
#include <linux/hw_random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "hwrng.h"

struct vrng_rs_hwrng {
	struct hwrng rng;
	void *ctx;
	char name[32];
};

static int vrng_rs_hwrng_read(struct hwrng *rng, void *buf, size_t max, bool wait)
{
	struct vrng_rs_hwrng *h = container_of(rng, struct vrng_rs_hwrng, rng);

	return vrng_rs_read(h->ctx, buf, max, wait);
}

struct vrng_rs_hwrng *vrng_rs_hwrng_register(const char *name, void *ctx)
{
	struct vrng_rs_hwrng *h;
	int err;

	h = kzalloc(sizeof(*h), GFP_KERNEL);
	if (!h)
		return ERR_PTR(-ENOMEM);
	strscpy(h->name, name, sizeof(h->name));
	h->ctx = ctx;
	h->rng.name = h->name;
	h->rng.read = vrng_rs_hwrng_read;
	err = hwrng_register(&h->rng);
	if (err) {
		kfree(h);
		return ERR_PTR(err);
	}
	return h;
}

void vrng_rs_hwrng_unregister(struct vrng_rs_hwrng *h)
{
	/* Waits until no reader holds the rng (the core's cleanup_done). */
	hwrng_unregister(&h->rng);
	kfree(h);
}

struct vrng_rs_bell {
	wait_queue_head_t wq;
	atomic_t rung;
};

struct vrng_rs_bell *vrng_rs_bell_new(void)
{
	struct vrng_rs_bell *b = kzalloc(sizeof(*b), GFP_KERNEL);

	if (b)
		init_waitqueue_head(&b->wq);
	return b;
}

void vrng_rs_bell_free(struct vrng_rs_bell *b)
{
	kfree(b);
}

unsigned int vrng_rs_bell_count(struct vrng_rs_bell *b)
{
	return atomic_read_acquire(&b->rung);
}

void vrng_rs_bell_ring(struct vrng_rs_bell *b)
{
	/* Fully ordered: the count changes before any waiter is woken. */
	atomic_inc_return(&b->rung);
	wake_up_all(&b->wq);
}

long vrng_rs_bell_wait(struct vrng_rs_bell *b, unsigned int seen, long timeout)
{
	/* 1 also when the ring came as the time ran out. */
	return wait_event_interruptible_timeout(b->wq,
			(unsigned int)atomic_read(&b->rung) != seen, timeout);
}
