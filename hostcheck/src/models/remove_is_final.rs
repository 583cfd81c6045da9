// SPDX-License-Identifier: GPL-2.0

//! Remove is final: when a source's drop (or `remove_event_source`)
//! returns, its action is neither running nor asleep in the gate, and it
//! never runs again, also when a signal comes later, and concurrently with
//! `stop`.

use super::*;
use crate::workloop::Gate;
use kernel::{host, sync::Arc};

/// What the action and the model share.
struct Shared {
    running: Flag,
    removed: Flag,
}

/// The action: sleeps in the gate until the removal aborts it.
struct Sleepy(Arc<Shared>);

impl SoftwareAction for Sleepy {
    fn action(&self, gate: &Gate<'_>, _count: u32) {
        assert!(
            !self.0.removed.get(),
            "an action ran after its remove returned"
        );
        self.0.running.set(true);
        let _ = gate.sleep(1, None);
        self.0.running.set(false);
    }
}

fn run(with_stop: bool) {
    model(move || {
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let lp = Arc::new(new_loop(), GFP_KERNEL).expect("Arc::new");
        let sh = Arc::new(
            Shared {
                running: Flag::new(),
                removed: Flag::new(),
            },
            GFP_KERNEL,
        )
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        .expect("Arc::new");
        let src = software(Sleepy(sh.clone()));
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        lp.add_event_source(&src).expect("add");
        let sig = src.signaller();
        src.signal();
        let stopper = with_stop.then(|| {
            let l = lp.clone();
            // PANIC: host model code: a failed step is the model failing, which loom reports.
            host::spawn(move || l.stop().expect("stop"))
        });
        drop(src);
        assert!(
            !sh.running.get(),
            "the drop returned with the action running or asleep"
        );
        sh.removed.set(true);
        // A late signal must not run the action (checked without the stop:
        // the stop's own passes only add interleavings).
        if !with_stop {
            sig.signal();
        }
        if let Some(t) = stopper {
            // PANIC: host model code: a failed step is the model failing, which loom reports.
            t.join().expect("stopper");
        }
        drop(sig);
    });
}

/// A source dropped while its action sleeps in the gate.
#[test]
fn model_remove_is_final() {
    run(false);
}

/// The same, with the loop stopping at the same time.
#[test]
fn model_remove_is_final_with_stop() {
    run(true);
}
