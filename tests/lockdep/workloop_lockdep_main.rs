// SPDX-License-Identifier: GPL-2.0

//! The gate is a lock lockdep sees: loading this module takes a work loop's gate
//! and then a driver mutex in one task, and the mutex and then the gate in
//! another (one after the other, so nothing deadlocks). Lockdep must report the
//! inversion ("possible circular locking dependency") naming the gate. It runs
//! in a boot of its own (`wl.mode=lockdep`): the report turns lockdep off for the
//! rest of the boot, and the ordinary suite treats any report as a failure.

#[path = "../../src/workloop.rs"]
pub mod workloop;

use kernel::{
    new_mutex,
    prelude::*,
    sync::{Arc, Mutex},
};
use workloop::{spawn, LoopOptions, WorkLoop};

module! {
    type: WorkloopLockdep,
    name: "workloop_lockdep",
    authors: ["workloop"],
    description: "Shows that lockdep reports a lock inversion through a work loop's gate",
    license: "GPL v2",
}

struct WorkloopLockdep;

impl kernel::Module for WorkloopLockdep {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let lp = Arc::new(
            WorkLoop::new(c"wl-lockdep", LoopOptions::default())?,
            GFP_KERNEL,
        )?;
        let m: Arc<Mutex<u32>> = Arc::pin_init(new_mutex!(0), GFP_KERNEL)?;
        // Gate, then mutex: what an action that takes a driver lock does.
        lp.run_action(|_| *m.lock() += 1)?;
        pr_info!("workloop_lockdep: took gate -> mutex\n");
        // Mutex, then gate, in another task: a driver path that calls into the loop
        // with its lock held.
        let (lp2, m2) = (lp.clone(), m.clone());
        spawn(c"wl-lockdep-b", None, move || {
            let _g = m2.lock();
            let _ = lp2.run_action(|_| ());
        })?
        .join();
        pr_info!("workloop_lockdep: took mutex -> gate\n");
        Ok(Self)
    }
}
