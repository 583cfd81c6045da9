// SPDX-License-Identifier: GPL-2.0
/* The hwrng of virtio_rng_rs: see hwrng.h. */
#include <linux/err.h>
#include <linux/hw_random.h>
#include <linux/slab.h>
#include <linux/string.h>

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
