// SPDX-License-Identifier: GPL-2.0

//! No sleeper outlives an abort: gate sleepers, command-gate sleepers (with
//! `command_sleep` or a plain `Gate::sleep` in the closure) and callers
//! waiting for a disabled command gate, started before, during or after
//! `stop` / `CommandGate::close`, always return (with `ENODEV` here, since
//! nothing else wakes them; `ENOTCONN` for a caller that comes after `close`
//! detached the command gate), and `stop` / `close` always return. The oracle
//! is loom's deadlock detection: a sleeper left behind blocks its thread and
//! the join, or the `stop` / `close` that waits for it.

use super::*;
use crate::workloop::CommandGate;
use kernel::{host, sync::Arc};

/// A `run_action` caller sleeping in the gate, against `stop`.
#[test]
fn model_no_sleeper_outlives_an_abort() {
    model(|| {
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        let lp = Arc::new(new_loop(), GFP_KERNEL).expect("Arc::new");
        let l = lp.clone();
        let t = host::spawn(move || {
            let r = l.run_action(|g| code(g.sleep(1, None)));
            assert!(
                matches!(r, Err(ENODEV) | Ok(NODEV)),
                "a gate sleeper ended with {r:?}, not ENODEV"
            );
        });
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        lp.stop().expect("stop");
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        t.join().expect("sleeper");
    });
}

/// Whether `r` is `ENOTCONN`: a caller that came after `close` detached the
/// command gate.
fn refused(r: Result<i32>) -> bool {
    r.is_err_and(|e| e.to_errno() == -107)
}

/// A command gate wrapped for sharing between the model's threads.
fn command_gate(lp: &WorkLoop) -> Arc<CommandGate> {
    // PANIC: host model code: a failed step is the model failing, which loom reports.
    let cg = CommandGate::new(c"cg").expect("CommandGate::new");
    // PANIC: host model code: a failed step is the model failing, which loom reports.
    lp.add_event_source(&cg).expect("add");
    // PANIC: host model code: a failed step is the model failing, which loom reports.
    Arc::new(cg, GFP_KERNEL).expect("Arc::new")
}

/// A closure asleep with `command_sleep` (`tagged`) or with a plain
/// `Gate::sleep`, against `close`.
fn close_model(tagged: bool) {
    model(move || {
        let lp = new_loop();
        let cg = command_gate(&lp);
        let c = cg.clone();
        let sleeper = host::spawn(move || {
            let r = c.run_action(|g| {
                if tagged {
                    code(c.command_sleep(g, 1, None))
                } else {
                    code(g.sleep(2, None))
                }
            });
            assert!(
                matches!(r, Err(ENODEV) | Ok(NODEV)) || refused(r),
                "a sleeper in a command gate (tagged: {tagged}) ended with {r:?}, not ENODEV"
            );
        });
        cg.close();
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        sleeper.join().expect("sleeper");
    });
}

/// A closure asleep with `command_sleep`, against `close`.
#[test]
fn model_no_sleeper_outlives_an_abort_close() {
    close_model(true);
}

/// A closure asleep with a plain `Gate::sleep`, against `close` (D18).
#[test]
fn model_no_sleeper_outlives_an_abort_close_untagged() {
    close_model(false);
}

/// A caller waiting for a disabled command gate, against `close`.
#[test]
fn model_no_sleeper_outlives_an_abort_disabled() {
    model(|| {
        let lp = new_loop();
        let cg = command_gate(&lp);
        cg.disable();
        let c = cg.clone();
        let waiter = host::spawn(move || {
            let r = c.run_action(|_| 0);
            assert!(
                r == Err(ENODEV) || refused(r),
                "a disabled-gate waiter ended with {r:?}"
            );
        });
        cg.close();
        // PANIC: host model code: a failed step is the model failing, which loom reports.
        waiter.join().expect("waiter");
    });
}
