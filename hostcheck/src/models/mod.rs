// SPDX-License-Identifier: GPL-2.0

//! The models: each is a small concurrent program over the library's own
//! code whose every interleaving (up to `LOOM_MAX_PREEMPTIONS` preemptions)
//! loom runs under `--features loom`; without it each runs a few times on
//! real threads (a smoke test of the shim and the models).
//!
//! A model checks its rule with assertions, with loom's deadlock detection
//! (a thread left waiting forever: a sleeper that is never woken, a stop that
//! never returns, a lost wake-up) and with loom's leak check (every `Arc`
//! freed when the model ends). Each is named `model_` + its rule; see
//! `Documentation/modelcheck.rst` for what each covers and the mutations that
//! make it fail.

mod irq_depth_balances;
mod no_sleeper_outlives_an_abort;
mod no_wakeup_is_lost;
mod remove_is_final;
mod stop_is_final;

use crate::workloop::{
    software::SoftwareAction, Gate, LoopOptions, SoftwareEventSource, SourceOptions, WorkLoop,
};
use kernel::{
    prelude::*,
    sync::{
        atomic::{Atomic, AtomicFlag, Relaxed},
        CondVar, Mutex,
    },
};

/// Runs `f` as a model: under loom, over every interleaving; otherwise a few
/// times on real threads.
pub(crate) fn model<F: Fn() + Sync + Send + 'static>(f: F) {
    #[cfg(feature = "loom")]
    {
        use std::sync::{
            atomic::{AtomicUsize, Ordering::Relaxed},
            Arc,
        };
        let mut b = loom::model::Builder::new();
        if b.preemption_bound.is_none() {
            b.preemption_bound = Some(2);
        }
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let start = std::time::Instant::now();
        b.check(move || {
            r.fetch_add(1, Relaxed);
            f()
        });
        report(runs.load(Relaxed), start.elapsed().as_secs_f64());
    }
    #[cfg(not(feature = "loom"))]
    for _ in 0..20 {
        f();
    }
}

/// Appends "<model> <interleavings> <seconds>" to the file named by
/// `MODELCHECK_REPORT` (scripts/modelcheck.sh reads it for its summary).
#[cfg(feature = "loom")]
fn report(runs: usize, secs: f64) {
    use std::io::Write;
    let name = std::thread::current().name().unwrap_or("?").to_owned();
    let name = name.rsplit("::").next().unwrap_or("?").to_owned();
    eprintln!("loom: {name}: {runs} interleavings in {secs:.2} s");
    if let Ok(path) = std::env::var("MODELCHECK_REPORT") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
        {
            let _ = writeln!(f, "{name} {runs} {secs:.2}");
        }
    }
}

/// A new loop (no debugfs, default thread).
pub(crate) fn new_loop() -> Pin<KBox<WorkLoop>> {
    // PANIC: host model code: a failed step is the model failing, which loom reports.
    WorkLoop::new(c"model", LoopOptions::default()).expect("WorkLoop::new")
}

/// Options for a model's software source: no timestamps (fewer atomics).
pub(crate) fn quiet() -> SourceOptions {
    SourceOptions {
        timestamps: false,
        ..SourceOptions::default()
    }
}

/// A software source with action `a`.
pub(crate) fn software<A: SoftwareAction>(a: A) -> SoftwareEventSource<A> {
    // PANIC: host model code: a failed step is the model failing, which loom reports.
    SoftwareEventSource::new(c"src", quiet(), a).expect("SoftwareEventSource::new")
}

/// A counter a model's threads wait on without spinning (loom forbids
/// busy-waiting): `add` and `wait_for` under a mutex and condition variable.
pub(crate) struct Tally {
    n: Mutex<u32>,
    cv: CondVar,
}

impl Tally {
    pub(crate) fn new() -> Self {
        Self {
            n: Mutex::new(0),
            cv: CondVar::new(),
        }
    }

    pub(crate) fn add(&self, v: u32) {
        *self.n.lock() += v;
        self.cv.notify_all();
    }

    pub(crate) fn get(&self) -> u32 {
        *self.n.lock()
    }

    /// Waits (uninterruptibly) until the count is at least `v`.
    pub(crate) fn wait_for(&self, v: u32) {
        let mut g = self.n.lock();
        while *g < v {
            self.cv.wait(&mut g);
        }
    }
}

/// A flag the models set and assert on (a backend atomic, so loom sees it).
pub(crate) struct Flag(AtomicFlag);

impl Flag {
    pub(crate) fn new() -> Self {
        Self(AtomicFlag::new(false))
    }
    pub(crate) fn set(&self, v: bool) {
        self.0.store(v, kernel::sync::atomic::Release);
    }
    pub(crate) fn get(&self) -> bool {
        self.0.load(kernel::sync::atomic::Acquire)
    }
}

/// A result slot: an errno, `0` for `Ok`/`Woken`, `1` for `TimedOut`.
pub(crate) struct Outcome(Atomic<i32>);

impl Outcome {
    pub(crate) const UNSET: i32 = i32::MIN;
    pub(crate) fn new() -> Self {
        Self(Atomic::new(Self::UNSET))
    }
    pub(crate) fn set(&self, v: i32) {
        self.0.store(v, kernel::sync::atomic::Release);
    }
    pub(crate) fn get(&self) -> i32 {
        self.0.load(kernel::sync::atomic::Acquire)
    }
}

/// Encodes a sleep's result for an [`Outcome`].
pub(crate) fn code(r: Result<crate::workloop::SleepResult>) -> i32 {
    match r {
        Ok(crate::workloop::SleepResult::Woken) => 0,
        Ok(crate::workloop::SleepResult::TimedOut) => 1,
        Err(e) => e.to_errno(),
    }
}

/// `-ENODEV`.
pub(crate) const NODEV: i32 = -19;

/// A source action that only counts its deliveries.
pub(crate) struct Count {
    pub(crate) tally: Tally,
}

impl SoftwareAction for Count {
    fn action(&self, _gate: &Gate<'_>, count: u32) {
        assert_ne!(count, 0, "an action was called with a zero count");
        self.tally.add(count);
    }
}

#[allow(dead_code)]
fn _unused(_: Relaxed) {}
