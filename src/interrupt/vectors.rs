// SPDX-License-Identifier: GPL-2.0

//! One interrupt source per message: the vectors of a PCI device.
//!
//! A device with MSI-X (or multi-message MSI) signals each of its interrupt
//! causes with a message of its own, and each message is a Linux IRQ of its own.
//! WDF gives a driver one interrupt object per message, and its PnP manager
//! grants all the messages a device asks for or exactly one; a driver must
//! therefore work with either. This file is that model:
//!
//! - [`PciVectors::alloc`] asks for `want` vectors: MSI-X, then MSI, then exactly
//!   one (MSI, then INTx). It reports what was granted: the count (`want` or 1),
//!   the kind, and each vector's IRQ.
//! - [`InterruptEventSource::new_vector`] makes the source of one vector; the
//!   sources of all vectors attach to one loop, so their actions never run
//!   concurrently. Each is an [`InterruptEventSource`] with its lifecycle:
//!   created disabled, the same disable depth rules, the same teardown; its
//!   filter learns its vector from [`FilterContext::message`]. An MSI or MSI-X
//!   vector is requested exclusive (messages are never shared), an INTx line
//!   shared (and auto-disabled while its action is due, being level).
//! - [`InterruptEventSource::new_all_vectors`] makes one source fed by every
//!   vector (KMDF's interrupt objects sharing one spin lock): its filter reads
//!   [`FilterContext::message`] to tell them apart, its action gets the count of
//!   all of them. Enabling and disabling it unmasks and masks every vector. Its
//!   top halves, which the IRQ core runs concurrently on different vectors, are
//!   serialized by the source's interrupt lock (always on for such a source), as
//!   the IRQ core serializes the top halves of one line: what the library keeps
//!   per source (its counts, statistics) has one writer at a time.
//!
//! When one vector is granted, its source (index 0) serves every cause, as in
//! WDF.
//!
//! Kernel 7.2's `pci::Device::alloc_irq_vectors` reaches only the first and last
//! vector of a range and does not say which kind it granted, so the set is
//! allocated and its lines requested with the C calls (`sys::pci_irq`); the
//! vectors are freed by devres after the driver data, and with it every source,
//! is gone.
//!
//! # Examples
//!
//! ```ignore
//! let vectors = PciVectors::alloc(pdev, 3)?;
//! dev_info!(pdev, "{} of 3 vectors ({:?})\n", vectors.count(), vectors.kind());
//! // In the driver's `try_pin_init!`, one field per vector (or a `KVec` of
//! // `Pin<KBox<..>>`):
//! rx <- InterruptEventSource::new_vector(&vectors, 0, c"rx", opts, Ok::<_, Error>(Rx)),
//! ```
//!
//! [`FilterContext::message`]: super::FilterContext::message

use super::{
    super::{event_source::Source, info::InterruptKind, sys, SourceOptions},
    InterruptCore, InterruptEventSource, InterruptHandler, Sharing, TopHalf,
};
use core::marker::PhantomData;
use kernel::{
    device::Bound,
    devres::Devres,
    pci,
    prelude::*,
    str::CStr,
    sync::Arc, //
};

/// The interrupt vectors granted to one bound PCI device.
///
/// Allocated by [`PciVectors::alloc`]; they stay allocated until the device
/// unbinds (devres), so this value is only a description and may be dropped
/// once the sources exist.
pub struct PciVectors<'a> {
    pdev: &'a pci::Device<Bound>,
    kind: InterruptKind,
    wanted: u32,
    /// The Linux IRQ of each vector, by index.
    irqs: KVec<u32>,
}

impl<'a> PciVectors<'a> {
    /// Allocates `want` vectors for `pdev`, all or one: `want` MSI-X vectors,
    /// else `want` MSI vectors, else one MSI vector, else the INTx line. Process
    /// context (probe).
    ///
    /// # Errors
    ///
    /// `EINVAL` if `want` is 0, `EBUSY` if the device has vectors already, or the
    /// error of the last attempt (`ENOSPC`, `EINVAL`: not even one is possible).
    pub fn alloc(pdev: &'a pci::Device<Bound>, want: u32) -> Result<Self> {
        let all = [InterruptKind::MsiX, InterruptKind::Msi, InterruptKind::Line];
        Self::alloc_kinds(pdev, want, &all)
    }

    /// [`PciVectors::alloc`] limited to the kinds in `kinds` (in the same order
    /// of preference, whatever their order in `kinds`): `&[InterruptKind::Line]`
    /// asks for the INTx line only.
    pub fn alloc_kinds(
        pdev: &'a pci::Device<Bound>,
        want: u32,
        kinds: &[InterruptKind],
    ) -> Result<Self> {
        if want == 0 {
            return Err(EINVAL);
        }
        if sys::vectors_allocated(pdev) {
            return Err(EBUSY);
        }
        let allowed = |kind| kinds.contains(&kind);
        let mut steps = [
            (InterruptKind::MsiX, want),
            (InterruptKind::Msi, want),
            (InterruptKind::Msi, 1),
            (InterruptKind::Line, 1),
        ];
        // Asking for one, "MSI, then one MSI" is one step.
        if want == 1 {
            steps[2].1 = 0;
        }
        let mut err = ENOSPC;
        for (kind, n) in steps {
            if n == 0 || !allowed(kind) {
                continue;
            }
            match sys::alloc_irq_vectors(pdev, n, Self::flag(kind)) {
                Ok(count) => return Self::collect(pdev, kind, want, count),
                Err(e) => err = e,
            }
        }
        Err(err)
    }

    fn flag(kind: InterruptKind) -> sys::VectorFlag {
        match kind {
            InterruptKind::MsiX => sys::VectorFlag::MsiX,
            InterruptKind::Msi => sys::VectorFlag::Msi,
            InterruptKind::Line => sys::VectorFlag::Intx,
        }
    }

    /// The description of `count` allocated vectors of `kind`.
    fn collect(
        pdev: &'a pci::Device<Bound>,
        kind: InterruptKind,
        wanted: u32,
        count: u32,
    ) -> Result<Self> {
        // CAST: `u32` fits `usize`.
        let mut irqs = KVec::with_capacity(count as usize, GFP_KERNEL)?;
        for index in 0..count {
            irqs.push(sys::irq_vector(pdev, index)?, GFP_KERNEL)?;
        }
        Ok(Self {
            pdev,
            kind,
            wanted,
            irqs,
        })
    }

    /// How many vectors were granted: what was asked for, or 1.
    pub fn count(&self) -> u32 {
        // CAST: At most the `u32` count `collect` was given.
        self.irqs.len() as u32
    }

    /// How many vectors were asked for.
    pub fn wanted(&self) -> u32 {
        self.wanted
    }

    /// The kind granted: MSI-X, MSI, or the INTx line.
    pub fn kind(&self) -> InterruptKind {
        self.kind
    }

    /// The Linux IRQ of vector `index`, if granted.
    pub fn irq(&self, index: u32) -> Option<u32> {
        // CAST: `u32` fits `usize`.
        self.irqs.get(index as usize).copied()
    }

    /// The device.
    pub fn device(&self) -> &'a pci::Device<Bound> {
        self.pdev
    }

    /// The vectors `indices` as (message, IRQ) pairs; `EINVAL` for one not granted.
    fn pick(&self, indices: core::ops::Range<u32>) -> Result<KVec<(u32, u32)>> {
        let mut picked = KVec::new();
        for index in indices {
            picked.push((index, self.irq(index).ok_or(EINVAL)?), GFP_KERNEL)?;
        }
        Ok(picked)
    }
}

/// The lines of a source made from [`PciVectors`]: one `request_irq` per vector
/// it serves, each freed (`free_irq`) when this is dropped, or by devres at unbind
/// at the latest.
pub struct VectorLines<T: InterruptHandler> {
    _actions: KVec<Devres<sys::IrqAction<TopHalf<T>>>>,
}

/// An interrupt source on vectors of a [`PciVectors`] set.
pub type VectorEventSource<'a, T> = InterruptEventSource<'a, T, VectorLines<T>>;

impl<'a, T: InterruptHandler> InterruptEventSource<'a, T, VectorLines<T>> {
    /// Requests vector `index` of `vectors` and creates a disabled source named
    /// `name` on it; its filter sees `index` as [`FilterContext::message`].
    /// Exclusive for an MSI or MSI-X vector, shared for the INTx line. Process
    /// context.
    ///
    /// # Errors
    ///
    /// `EINVAL` if `index` was not granted, or the error of `request_irq`.
    ///
    /// [`FilterContext::message`]: super::FilterContext::message
    pub fn new_vector<E: 'a>(
        vectors: &PciVectors<'a>,
        index: u32,
        name: &'static CStr,
        options: SourceOptions,
        handler: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        Error: From<E>,
    {
        let picked = vectors.pick(index..index.saturating_add(1));
        Self::on_vectors(vectors.pdev, vectors.kind, picked, name, options, handler)
    }

    /// Requests every vector of `vectors` and creates one disabled source named
    /// `name` on all of them; its filter sees which one fired as
    /// [`FilterContext::message`]. The source always has the interrupt lock
    /// ([`SourceOptions::interrupt_lock`]), which serializes its top halves.
    /// Enabling, disabling, cancelling and dropping it apply to every vector;
    /// `irq`, `info` and `set_affinity` concern its first. Process context.
    ///
    /// # Errors
    ///
    /// The error of `request_irq`.
    ///
    /// [`FilterContext::message`]: super::FilterContext::message
    pub fn new_all_vectors<E: 'a>(
        vectors: &PciVectors<'a>,
        name: &'static CStr,
        options: SourceOptions,
        handler: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        Error: From<E>,
    {
        let picked = vectors.pick(0..vectors.count());
        let options = SourceOptions {
            interrupt_lock: true,
            ..options
        };
        Self::on_vectors(vectors.pdev, vectors.kind, picked, name, options, handler)
    }

    /// One source on the `picked` (message, IRQ) vectors of `pdev`.
    fn on_vectors<E: 'a>(
        pdev: &'a pci::Device<Bound>,
        kind: InterruptKind,
        picked: Result<KVec<(u32, u32)>>,
        name: &'static CStr,
        options: SourceOptions,
        handler: impl PinInit<T, E> + 'a,
    ) -> impl PinInit<Self, Error> + 'a
    where
        Error: From<E>,
    {
        pin_init::pin_init_scope(move || {
            let picked = picked?;
            let (&(index, first), rest) = picked.split_first().ok_or(EINVAL)?;
            let mut more = KVec::with_capacity(rest.len(), GFP_KERNEL)?;
            for &(_, irq) in rest {
                more.push(irq, GFP_KERNEL)?;
            }
            let sharing = match kind {
                InterruptKind::Line => Sharing::Shared,
                InterruptKind::Msi | InterruptKind::MsiX => Sharing::Exclusive,
            };
            // SAFETY: Each line is requested below before the core can use it (no
            // top half runs before `request_irq`, the bottom half only after the
            // driver enabled the source); dropping `source` stops every use before
            // `reg` frees them; the source cannot outlive the binding (`'a`), and
            // the vectors are freed by devres only after unbind.
            let line = unsafe { sys::IrqLine::new_set(first, more) };
            let core = Arc::pin_init::<Error>(
                InterruptCore::new(
                    line,
                    (Some(pdev.as_ref().into()), index),
                    name,
                    sharing,
                    options,
                    handler,
                )?,
                GFP_KERNEL,
            )?;
            let mut actions = KVec::with_capacity(picked.len(), GFP_KERNEL)?;
            for &(message, irq) in picked.iter() {
                // SAFETY: `irq` is a vector of the bound `pdev`, allocated before
                // this call (`PciVectors`), freed by devres after unbind.
                unsafe { sys::prepare_level_line(irq) };
                let top = TopHalf {
                    core: core.clone(),
                    message,
                };
                // SAFETY: As above: `irq` is an interrupt of `pdev` that stays
                // allocated while the binding lasts, and the action is dropped
                // or revoked before unbind ends.
                let action = unsafe {
                    sys::IrqAction::request(
                        pdev.as_ref(),
                        irq,
                        sharing == Sharing::Shared,
                        options.passive,
                        name,
                        top,
                    )
                }?;
                actions.push(action, GFP_KERNEL)?;
            }
            // INVARIANT: `core.line` is the set of lines the actions requested.
            // The lines are requested first: if a request fails, the core is only
            // released, never torn down as a source.
            Ok(try_pin_init!(Self {
                reg: VectorLines { _actions: actions },
                source: Source::from_core(core),
                _bound: PhantomData,
                _: {
                    let core = &source.core;
                    if core.is_level() {
                        // As in `InterruptEventSource::new`.
                        core.line.set_disable_unlazy();
                    }
                },
            }? Error))
        })
    }
}
