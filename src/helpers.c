// SPDX-License-Identifier: GPL-2.0
/*
 * C wrappers for the workloop library; see helpers.h. Each module includes
 * this file from a helpers.c of its own (a composite Kbuild object).
 */
#include <linux/cpumask.h>
#include <linux/device.h>
#include <linux/freezer.h>
#include <linux/irq.h>
#include <linux/lockdep.h>
#include <linux/msi.h>
#include <linux/pm_qos.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/topology.h>
#include <linux/spinlock.h>

#include "helpers.h"

/* set_current_state(): the state, the barrier and the debug bookkeeping. */
void wl_set_current_state_interruptible(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
}

/* The same, and an idle sleeper may be frozen in place (TASK_FREEZABLE). */
void wl_set_current_state_interruptible_freezable(void)
{
	set_current_state(TASK_INTERRUPTIBLE | TASK_FREEZABLE);
}

/* set_freezable() is an inline no-op without CONFIG_FREEZER. */
void wl_set_freezable(void)
{
	set_freezable();
}

bool wl_try_to_freeze(void)
{
	return try_to_freeze();
}

void wl_set_current_state_running(void)
{
	__set_current_state(TASK_RUNNING);
}

/* Process context: not in hard IRQ, softirq or NMI (preemption may be off). */
bool wl_in_task(void)
{
	return in_task();
}

/* Each loop's gate is a lockdep class of its own (a registered dynamic key). */
void wl_gate_lockdep_init(struct lockdep_map *map, struct lock_class_key *key,
			  const char *name)
{
	lockdep_init_map(map, name, key, 0);
}

void wl_gate_lockdep_acquire(struct lockdep_map *map, int trylock, unsigned long ip)
{
	lock_acquire_exclusive(map, 0, trylock, NULL, ip);
}

void wl_gate_lockdep_release(struct lockdep_map *map, unsigned long ip)
{
	lock_release(map, ip);
}

/* The MSI descriptor of a line: false if the line is not message-signaled. */
bool wl_irq_msi_info(unsigned int irq, bool *is_msix, unsigned int *index)
{
	struct msi_desc *desc = irq_get_msi_desc(irq);

	if (!desc)
		return false;
	*is_msix = desc->pci.msi_attrib.is_msix;
	*index = desc->msi_index;
	return true;
}

/* The CPUs the line's interrupts go to now: false if there is no such line. */
bool wl_irq_effective_affinity(unsigned int irq, struct cpumask *out)
{
	const struct cpumask *mask = irq_get_effective_affinity_mask(irq);

	if (!mask)
		return false;
	cpumask_copy(out, mask);
	return true;
}

/* The interrupt lock: an IRQ-safe raw spinlock, one lockdep class for all. */
void wl_raw_lock_init(raw_spinlock_t *lock)
{
	static struct lock_class_key key;

	raw_spin_lock_init(lock);
	lockdep_set_class_and_name(lock, &key, "workloop_interrupt_lock");
}

unsigned long wl_raw_lock_irqsave(raw_spinlock_t *lock)
{
	unsigned long flags;

	raw_spin_lock_irqsave(lock, flags);
	return flags;
}

bool wl_raw_trylock_irqsave(raw_spinlock_t *lock, unsigned long *flags)
{
	return raw_spin_trylock_irqsave(lock, *flags);
}

void wl_raw_unlock_irqrestore(raw_spinlock_t *lock, unsigned long flags)
{
	raw_spin_unlock_irqrestore(lock, flags);
}

bool wl_irqs_disabled(void)
{
	return irqs_disabled();
}

/* CPU-latency QoS: the calls are inline no-ops without CONFIG_CPU_IDLE. */
bool wl_cpu_latency_supported(void)
{
	return IS_ENABLED(CONFIG_CPU_IDLE);
}

bool wl_cpu_latency_active(struct pm_qos_request *req)
{
	return cpu_latency_qos_request_active(req);
}

void wl_cpu_latency_add(struct pm_qos_request *req, s32 value)
{
	cpu_latency_qos_add_request(req, value);
}

void wl_cpu_latency_remove(struct pm_qos_request *req)
{
	cpu_latency_qos_remove_request(req);
}

/* NUMA nodes (NUMA_NO_NODE, -1, where unknown or without CONFIG_NUMA). */
int wl_dev_to_node(struct device *dev)
{
	return dev_to_node(dev);
}

int wl_cpu_to_node(unsigned int cpu)
{
	return cpu_to_node(cpu);
}

/* A context that may sleep: preemption and interrupts on (needs PREEMPT_COUNT,
 * which every preemptible kernel has; elsewhere, in_task() and interrupts on). */
bool wl_preemptible(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT))
		return preemptible();
	return in_task() && !irqs_disabled();
}
