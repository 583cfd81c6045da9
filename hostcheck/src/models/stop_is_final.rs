// SPDX-License-Identifier: GPL-2.0

//! Stop is final: with one or two concurrent `stop` callers, an action asleep
//! in the gate and a racing `run_action`, when a `stop` returns the loop's
//! thread has been reaped, the source is detached, no action is running and
//! none starts afterwards, the action's sleep ended with `ENODEV`, and (loom's
//! leak check) nothing is leaked once the loop and the source are dropped.

use super::*;
use crate::workloop::{EventSource, Gate};
use kernel::{host, sync::Arc};

/// What the action and the model's threads share.
struct Shared {
    running: Flag,
    stopped: Flag,
    slept: Outcome,
}

/// The source's action: sleeps in the gate until the stop aborts it.
struct Sleepy(Arc<Shared>);

impl SoftwareAction for Sleepy {
    fn action(&self, gate: &Gate<'_>, _count: u32) {
        assert!(
            !self.0.stopped.get(),
            "an action started after stop returned"
        );
        self.0.running.set(true);
        self.0.slept.set(code(gate.sleep(1, None)));
        self.0.running.set(false);
    }
}

fn run(stoppers: usize, racer: bool) {
    model(move || {
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let lp = Arc::new(new_loop(), GFP_KERNEL).expect("Arc::new");
        let sh = Arc::new(
            Shared {
                running: Flag::new(),
                stopped: Flag::new(),
                slept: Outcome::new(),
            },
            GFP_KERNEL,
        )
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        .expect("Arc::new");
        let src = software(Sleepy(sh.clone()));
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        lp.add_event_source(&src).expect("add");
        src.signal();
        let core = src.core.clone();
        let check = {
            let (lp, core, sh) = (lp.clone(), core.clone(), sh.clone());
            move || {
                // PANIC: host model code: a failed step is the model failing, which loom reports.
                lp.stop().expect("stop");
                assert_eq!(
                    lp.inner().thread_task_id(),
                    0,
                    "stop returned before the thread was reaped"
                );
                assert!(
                    !core.base().is_attached(),
                    "stop returned with the source attached"
                );
                assert!(!sh.running.get(), "stop returned with the action running");
                let slept = sh.slept.get();
                assert!(
                    slept == Outcome::UNSET || slept == NODEV,
                    "the action's sleep ended with {slept}, not ENODEV"
                );
                sh.stopped.set(true);
                assert_eq!(lp.run_action(|_| ()).err(), Some(ENODEV));
            }
        };
        let mut threads = Vec::new();
        for _ in 1..stoppers {
            threads.push(host::spawn(check.clone()));
        }
        if racer {
            let (lp, sh) = (lp.clone(), sh.clone());
            threads.push(host::spawn(move || {
                let _ = lp.run_action(|_| {
                    assert!(!sh.stopped.get(), "run_action ran after stop returned")
                });
            }));
        }
        check();
        for t in threads {
            // PANIC: host model code: a failed step is the model failing, which loom reports.
            t.join().expect("thread");
        }
        drop(src);
        drop(core);
    });
}

/// One stopper, an action asleep in the gate, a racing `run_action`.
#[test]
fn model_stop_is_final() {
    run(1, true);
}

/// Two concurrent stoppers and an action asleep in the gate: the second
/// stopper returns only once the loop has stopped too.
#[test]
fn model_stop_is_final_two_stoppers() {
    run(2, false);
}
