// SPDX-License-Identifier: GPL-2.0

//! IRQ depth balances: whatever the interleaving of top halves on a level
//! line, actions, the driver's disable and enable, remove, stop and drop, the
//! line's disable depth is the source's hold (on an exclusive line: one while
//! the driver disabled it, its loop stopped or it is on no loop) plus the top
//! half's auto-mask while the source lives, and back to its value after
//! `request_irq` when the line is freed; no enable is ever unbalanced.
//!
//! The line is the shim's host IRQ core (`kernel::irq::host`), which fails the
//! model itself on an enable at depth 0 ("Unbalanced enable for IRQ n"), on a
//! depth above the bound the model sets (the hold and the auto-mask: 2 on an
//! exclusive line, 1 on a shared one, whose hold never masks), on a line
//! operation after `free_irq`, and on a `free_irq` with the depth not back to
//! its value after `request_irq`. The model checks the depth itself where it is
//! exact (after a `disable`, `remove` or `stop` returned: the hold, no
//! auto-mask) and where it must settle (everything delivered: the bottom half
//! gives the auto-mask back; loom reports a deadlock if it never does).
//!
//! The device raises its interrupts from a hard-IRQ thread; a raise waits
//! while the line is masked, as a level line stays asserted until the CPU
//! takes it, and is dropped if the line is freed first.

use super::*;
use crate::workloop::{
    interrupt::{InterruptEventSource, InterruptHandler, Sharing},
    Gate,
};
use kernel::{
    device::BOUND,
    host,
    irq::{host::Line, IrqRequest},
    sync::Arc,
};

/// The driver: its action counts deliveries.
struct Drv(Arc<Tally>);

impl InterruptHandler for Drv {
    fn action(&self, _gate: &Gate<'_>, count: u32) {
        assert_ne!(count, 0, "an action was called with a zero count");
        self.0.add(count);
    }
}

/// What the driver does while the device raises its interrupts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Nested disables and enables, then every interrupt is delivered.
    DisableEnable,
    /// The source is removed from its loop.
    Remove,
    /// The loop stops.
    Stop,
    /// The source is dropped with interrupts in flight.
    Drop,
}

/// The line's number (one per model: the smoke tests run models in parallel).
fn irq_number(step: Step, shared: bool) -> u32 {
    let n = match step {
        Step::DisableEnable => 1,
        Step::Remove => 2,
        Step::Stop => 3,
        Step::Drop => 4,
    };
    if shared {
        n + 10
    } else {
        n
    }
}

fn run(step: Step, shared: bool, raises: u32) {
    model(move || {
        let number = irq_number(step, shared);
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let line = Arc::new(Line::new(number, true), GFP_KERNEL).expect("Arc::new");
        // The hold (exclusive lines only) and the auto-mask, nothing else: the
        // driver's nesting disables count once, the storm throttle is off.
        let hold = u32::from(!shared);
        line.set_max_depth(hold + 1);
        let lp = new_loop();
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let tally = Arc::new(Tally::new(), GFP_KERNEL).expect("Arc::new");
        let options = SourceOptions {
            timestamps: false,
            storm_per_sec: 0,
            ..SourceOptions::default()
        };
        let sharing = if shared {
            Sharing::Shared
        } else {
            Sharing::Exclusive
        };
        // SAFETY: `number` is a line of this model, requested by the source.
        let request = unsafe { IrqRequest::new(&BOUND, number) };
        let src = KBox::pin_init(
            InterruptEventSource::<Drv>::new(
                request,
                c"irq",
                sharing,
                options,
                Ok::<_, Error>(Drv(tally.clone())),
            ),
            GFP_KERNEL,
        )
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        .expect("InterruptEventSource::new");
        // Created disabled and on no loop: held.
        assert_eq!(line.depth(), hold, "a new source's line");
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        lp.add_event_source(&*src).expect("add");
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        src.enable().expect("enable");
        assert_eq!(src.disable_depth(), 0);

        let l = line.clone();
        let mut device = Some(host::spawn_hardirq(move || {
            for _ in 0..raises {
                let _ = l.fire();
            }
        }));
        let mut join = || {
            if let Some(d) = device.take() {
                // PANIC: host model code: a failed step is the model failing, which loom reports.
                d.join().expect("device");
            }
        };
        match step {
            Step::DisableEnable => {
                // While the driver holds the source, an exclusive line is
                // masked once, whatever the count: the depth settles at the
                // hold (a bottom half may still be giving an auto-mask back
                // when `disable` returns, and no top half runs on the masked
                // line to take another). A shared line's hold masks nothing,
                // but a top half's "schedule" answer masks it until the
                // source runs again: 0 or 1, the bound.
                let settled = || {
                    if !shared {
                        line.wait_depth(hold);
                    }
                };
                src.disable();
                settled();
                src.disable();
                assert_eq!(src.disable_depth(), 2);
                settled();
                // PANIC: host model code: a failed step is the model failing, which loom reports.
                src.enable().expect("enable");
                assert_eq!(src.disable_depth(), 1);
                settled();
                // PANIC: host model code: a failed step is the model failing, which loom reports.
                src.enable().expect("enable");
                assert_eq!(src.enable(), Err(EINVAL), "an unbalanced enable");
                // Everything raised is delivered, and the bottom half gives
                // the last auto-mask back.
                tally.wait_for(raises);
                join();
                line.wait_depth(0);
                assert_eq!(tally.get(), raises);
            }
            Step::Remove | Step::Stop => {
                if step == Step::Remove {
                    // PANIC: host model code: a failed step is the model failing, which loom reports.
                    lp.remove_event_source(&*src).expect("remove");
                } else {
                    // PANIC: host model code: a failed step is the model failing, which loom reports.
                    lp.stop().expect("stop");
                }
                // Held, the driver's count unchanged; on the exclusive line
                // exactly the hold: remove and stop exclude the bottom half,
                // and any auto-mask was given back.
                if !shared {
                    assert_eq!(line.depth(), hold, "after remove or stop");
                }
                assert_eq!(src.disable_depth(), 0);
            }
            Step::Drop => {}
        }
        // Teardown: `free_irq` checks the depth is back to its value after
        // `request_irq`; a raise still waiting is dropped.
        drop(src);
        join();
        drop(lp);
        assert!(line.delivered() <= raises);
    });
}

/// Exclusive level line: top halves race actions and nested disables and
/// enables; everything is delivered and the depth settles at 0.
#[test]
fn model_irq_depth_balances() {
    run(Step::DisableEnable, false, 2);
}

/// The same on a shared line (a logical disable: only the auto-mask masks).
#[test]
fn model_irq_depth_balances_shared() {
    run(Step::DisableEnable, true, 2);
}

/// Exclusive level line: top halves race a remove, then the drop.
#[test]
fn model_irq_depth_balances_remove() {
    run(Step::Remove, false, 2);
}

/// Exclusive level line: top halves race the loop's stop, then the drop.
#[test]
fn model_irq_depth_balances_stop() {
    run(Step::Stop, false, 2);
}

/// Exclusive level line: the source is dropped with top halves in flight
/// (an auto-mask in force at teardown must be given back).
#[test]
fn model_irq_depth_balances_drop() {
    run(Step::Drop, false, 2);
}

/// Shared level line dropped with top halves in flight.
#[test]
fn model_irq_depth_balances_drop_shared() {
    run(Step::Drop, true, 2);
}
