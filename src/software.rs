// SPDX-License-Identifier: GPL-2.0

//! A software event source: counted events with no IRQ line.
//!
//! Any context, hard IRQ included, calls [`SoftwareEventSource::signal`] (or a
//! [`SoftwareSignal`] clone); the action runs later on the loop with the number
//! of signals since it last ran, under exactly the counting and delivery rules
//! of an interrupt source: never called with zero, signals that arrive during
//! the action are delivered on the next pass, none is lost. Use it to bridge
//! another producer (a completion callback, a notifier, a test thread) into a
//! work loop.

use super::{
    counting::{count_event, deliver_counted, in_u32_pieces, Counter, Timestamps},
    event_source::{EventSource, Initially, Source, SourceBase},
    work_loop::Gate,
    SourceOptions,
};
use kernel::{prelude::*, str::CStr, sync::Arc};

/// The action of a [`SoftwareEventSource`].
pub trait SoftwareAction: Send + Sync + 'static {
    /// Runs on the loop thread holding the gate; may sleep. `count` is the number of
    /// signals since the previous call, never zero.
    fn action(&self, gate: &Gate<'_>, count: u32);
}

/// The state of a [`SoftwareEventSource`]; drivers use it through that handle.
#[pin_data]
pub struct SoftwareCore<T: SoftwareAction> {
    #[pin]
    base: SourceBase,
    counter: Counter,
    timestamps: Timestamps,
    #[pin]
    handler: T,
}

impl<T: SoftwareAction> SoftwareCore<T> {
    fn signal(&self) {
        let _ = count_event(&self.base, &self.counter, &self.timestamps);
        self.base.signal_work_available();
    }
}

impl<T: SoftwareAction> EventSource for SoftwareCore<T> {
    fn base(&self) -> &SourceBase {
        &self.base
    }

    fn check_for_work(&self, gate: &Gate<'_>) -> bool {
        deliver_counted(
            gate,
            &self.base,
            &self.counter,
            &self.timestamps,
            || (),
            |count, _| in_u32_pieces(count, |piece| self.handler.action(gate, piece)),
        );
        false
    }
}

/// A software event source (created enabled).
///
/// Dropping it detaches it from its loop first; when the drop returns its action
/// is not running and never runs again.
pub type SoftwareEventSource<T> = Source<SoftwareCore<T>>;

/// A cloneable handle that signals a [`SoftwareEventSource`] from any context.
pub struct SoftwareSignal<T: SoftwareAction>(Arc<SoftwareCore<T>>);

impl<T: SoftwareAction> Clone for SoftwareSignal<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: SoftwareAction> SoftwareSignal<T> {
    /// Counts one event and wakes the loop. Any context; never sleeps.
    #[inline]
    pub fn signal(&self) {
        self.0.signal()
    }
}

impl<T: SoftwareAction> Source<SoftwareCore<T>> {
    /// Creates a source named `name` (the name of its debugfs directory).
    pub fn new<E>(name: &CStr, options: SourceOptions, handler: impl PinInit<T, E>) -> Result<Self>
    where
        Error: From<E>,
    {
        let core = Arc::pin_init::<Error>(
            try_pin_init!(SoftwareCore {
                base <- SourceBase::new(name, Initially::Enabled)?,
                counter: Counter::new(options.counter_start),
                timestamps: Timestamps::new(options.timestamps),
                handler <- handler,
            }? Error),
            GFP_KERNEL,
        )?;
        Ok(Self::from_core(core))
    }

    /// Counts one event and wakes the loop. Any context; never sleeps.
    #[inline]
    pub fn signal(&self) {
        self.core.signal()
    }

    /// A handle for signalling from elsewhere (other threads, IRQ handlers).
    pub fn signaller(&self) -> SoftwareSignal<T> {
        SoftwareSignal(self.core.clone())
    }

    /// The action object.
    pub fn handler(&self) -> &T {
        &self.core.handler
    }

    /// Lets the action run again; pending signals are delivered.
    pub fn enable(&self) {
        // The default `EventSource::enable` cannot fail.
        let _ = EventSource::enable(&*self.core);
    }

    /// Holds the action: signals keep being counted and are delivered on enable.
    /// Called inside the gate, no action runs after it returns until enabled.
    pub fn disable(&self) {
        // The default `EventSource::disable` cannot fail.
        let _ = EventSource::disable(&*self.core);
    }

    /// Signals not yet delivered.
    pub fn pending(&self) -> u64 {
        self.core.counter.pending()
    }
}
