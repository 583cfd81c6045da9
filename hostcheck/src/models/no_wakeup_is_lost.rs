// SPDX-License-Identifier: GPL-2.0

//! No wake-up is lost:
//!
//! - every signal is delivered: signals from a "hard IRQ" producer and from a
//!   task, landing before, during and after a pass and around the loop
//!   thread's sleep, add up to the action counts (never called with zero);
//!   the hard-IRQ producer never blocks (the shim panics if it takes a mutex
//!   or waits) and is refused the gate;
//! - a one-thread wake-up (`Wake::First`) is never consumed by a sleeper whose
//!   timeout already fired: it wakes a sleeper that returns `Woken`.
//!
//! A lost wake-up leaves a waiter blocked forever: loom reports it.

use super::*;
use crate::workloop::{
    gate::{Entry, GateLock},
    Wake,
};
use kernel::{host, sync::Arc, time::Delta};

/// Three signals, two of them from hard IRQ, are all delivered.
#[test]
fn model_no_wakeup_is_lost() {
    model(|| {
        let lp = new_loop();
        let src = software(Count {
            tally: Tally::new(),
        });
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        lp.add_event_source(&src).expect("add");
        let sig = src.signaller();
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let lp = Arc::new(lp, GFP_KERNEL).expect("Arc::new");
        let l = lp.clone();
        let irq = host::spawn_hardirq(move || {
            sig.signal();
            sig.signal();
            assert_eq!(
                l.attempt_action(|_| ()).err(),
                Some(EPERM),
                "hard IRQ entered the gate"
            );
        });
        src.signal();
        src.handler().tally.wait_for(3);
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        irq.join().expect("producer");
        assert_eq!(src.handler().tally.get(), 3, "more deliveries than signals");
    });
}

/// Two gate sleepers on one event, the first with a timeout that fires before
/// a one-thread wake-up: the wake-up must reach a sleeper that reports it.
///
/// This is a property of the gate alone, so the model uses the library's
/// `GateLock` without a loop (a loop's idle thread only adds interleavings).
#[test]
fn model_no_wakeup_is_lost_wake_first() {
    model(|| {
        // SAFETY: The name is a static string.
        let gate = Arc::pin_init(unsafe { GateLock::new(c"gate".as_ptr()) }, GFP_KERNEL)
            // PANIC: host model code: a failed step is the model failing, which loom reports.
            .expect("GateLock");
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let listed = Arc::new(Tally::new(), GFP_KERNEL).expect("Arc::new");
        let timed = host::Task::new();
        let sleeper = |g: Arc<GateLock>, n: Arc<Tally>, timeout: Option<Delta>| {
            move || {
                let me = host::current().id();
                // PANIC: host model code: a failed step is the model failing, which loom reports.
                g.enter(me, Entry::Wait).expect("enter");
                n.add(1);
                let r = code(g.sleep(1, timeout, None, &|| false));
                g.leave();
                r
            }
        };
        let a = sleeper(gate.clone(), listed.clone(), Some(Delta::from_millis(10)));
        let t = timed.clone();
        let a = host::spawn(move || {
            host::Task::bind(&t);
            a()
        });
        let b = host::spawn(sleeper(gate.clone(), listed.clone(), None));
        // Both are listed once this thread gets the gate after they counted.
        listed.wait_for(2);
        timed.expire();
        let me = host::current().id();
        let wake = |whom| {
            // PANIC: host model code: a failed step is the model failing, which loom reports.
            gate.enter(me, Entry::Wait).expect("enter");
            gate.wakeup(1, whom);
            gate.leave();
        };
        wake(Wake::First);
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let ra = a.join().expect("timed sleeper");
        if ra == 0 {
            // The timed sleeper took the wake-up (it came before its timeout
            // was seen): the other still sleeps. Wake it to end the model.
            wake(Wake::All);
        } else {
            assert_eq!(ra, 1, "the timed sleeper ended with {ra}");
        }
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let rb = b.join().expect("sleeper");
        assert_eq!(rb, 0, "the untimed sleeper ended with {rb}, not Woken");
    });
}
