/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line wrappers of kernel static inlines and macros that kernel 7.2's
 * Rust bindings lack, linked into every module that compiles the library
 * (like the kernel's own rust/helpers/). No logic lives here.
 */
#ifndef WORKLOOP_HELPERS_H
#define WORKLOOP_HELPERS_H

#include <linux/lockdep_types.h>
#include <linux/types.h>

struct cpumask;

void wl_set_current_state_interruptible(void);
void wl_set_current_state_interruptible_freezable(void);
void wl_set_freezable(void);
bool wl_try_to_freeze(void);
void wl_set_current_state_running(void);
bool wl_in_task(void);
void wl_gate_lockdep_init(struct lockdep_map *map, struct lock_class_key *key,
			  const char *name);
void wl_gate_lockdep_acquire(struct lockdep_map *map, int trylock, unsigned long ip);
void wl_gate_lockdep_release(struct lockdep_map *map, unsigned long ip);
bool wl_irq_msi_info(unsigned int irq, bool *is_msix, unsigned int *index);
bool wl_irq_effective_affinity(unsigned int irq, struct cpumask *out);
struct raw_spinlock;
void wl_raw_lock_init(struct raw_spinlock *lock);
unsigned long wl_raw_lock_irqsave(struct raw_spinlock *lock);
bool wl_raw_trylock_irqsave(struct raw_spinlock *lock, unsigned long *flags);
void wl_raw_unlock_irqrestore(struct raw_spinlock *lock, unsigned long flags);
bool wl_irqs_disabled(void);
bool wl_preemptible(void);
struct pm_qos_request;
bool wl_cpu_latency_supported(void);
struct device;
int wl_dev_to_node(struct device *dev);
int wl_cpu_to_node(unsigned int cpu);
bool wl_cpu_latency_active(struct pm_qos_request *req);
void wl_cpu_latency_add(struct pm_qos_request *req, s32 value);
void wl_cpu_latency_remove(struct pm_qos_request *req);

#endif
