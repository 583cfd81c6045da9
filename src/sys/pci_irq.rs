// SPDX-License-Identifier: GPL-2.0

//! Raw PCI interrupt vectors and the library's own `request_irq`.
//!
//! Kernel 7.2's `kernel::pci` allocates vectors but hands out only the first and
//! the last of a range (`IrqVector::index` and `IrqRequest::new` are private), and
//! does not say which kind it granted. A set of N vectors needs the C calls
//! themselves: `pci_alloc_irq_vectors`, `pci_irq_vector`, `pci_free_irq_vectors`,
//! and a registration of a handler on a line that `kernel::irq` cannot name
//! ([`IrqAction`], the same shape as `kernel::irq::Registration`).

use core::{ffi::c_void, marker::PhantomPinned};
use kernel::{
    bindings,
    device::{Bound, Device},
    devres::{self, Devres},
    error::to_result,
    ffi::{c_int, c_uint},
    irq,
    pci,
    prelude::*,
    str::CStr,
    sync::aref::ARef, //
};

/// The C `struct pci_dev` of `pdev`.
fn pci_dev_ptr(pdev: &pci::Device<Bound>) -> *mut bindings::pci_dev {
    // CAST: `pci::Device` is `#[repr(transparent)]` over `Opaque<pci_dev>` (and a
    // zero-sized marker), so its address is that of the C `struct pci_dev`.
    core::ptr::from_ref(pdev).cast_mut().cast()
}

/// One kind of PCI vector, as `pci_alloc_irq_vectors` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VectorFlag {
    MsiX,
    Msi,
    Intx,
}

impl VectorFlag {
    fn raw(self) -> c_uint {
        match self {
            Self::MsiX => bindings::PCI_IRQ_MSIX,
            Self::Msi => bindings::PCI_IRQ_MSI,
            Self::Intx => bindings::PCI_IRQ_INTX,
        }
    }
}

/// Whether `pdev` has MSI or MSI-X enabled already (its vectors are allocated).
pub(crate) fn vectors_allocated(pdev: &pci::Device<Bound>) -> bool {
    // SAFETY: `pdev` is a live `struct pci_dev`; the bits change only under the
    // device lock, which a bound device's driver callbacks hold.
    let dev = unsafe { &*pci_dev_ptr(pdev) };
    dev.msi_enabled() != 0 || dev.msix_enabled() != 0
}

/// Frees a device's vectors (`pci_free_irq_vectors`) when dropped: kept by
/// devres, so that it runs at unbind, after the driver data (and with it every
/// line requested on the vectors) was dropped, or at once if the allocation's
/// bookkeeping fails.
///
/// Linux frees a message's IRQ descriptor with the vectors even while a handler
/// is still registered on it, silently; the drop reports that instead (a bug:
/// an [`IrqAction`] outlived its devres order).
///
/// # Invariants
///
/// `pdev` has vectors allocated by [`alloc_irq_vectors`]; `messages` are the
/// IRQs of those that are MSI or MSI-X messages (none for the INTx line, which
/// stays).
struct VectorsRelease {
    pdev: ARef<pci::Device>,
    messages: KVec<u32>,
}

impl Drop for VectorsRelease {
    fn drop(&mut self) {
        for &irq in self.messages.iter() {
            // SAFETY: `irq` is an allocated vector (type invariant); the function
            // only looks the descriptor up.
            if unsafe { bindings::irq_has_action(irq) } {
                pr_err!(
                    "workloop: IRQ {} is still requested when its PCI vectors are freed\n",
                    irq
                );
            }
        }
        let dev: &pci::Device = &self.pdev;
        // CAST: As in `pci_dev_ptr`.
        let raw: *mut bindings::pci_dev = core::ptr::from_ref(dev).cast_mut().cast();
        // SAFETY: `raw` is a live `struct pci_dev` (the reference is held) with
        // vectors allocated (type invariant); no line on them is requested any
        // more (devres order, see the type's documentation).
        unsafe { bindings::pci_free_irq_vectors(raw) };
    }
}

/// Allocates exactly `n` vectors of kind `flag` for `pdev`, freed at unbind;
/// returns the count (`n`).
///
/// # Errors
///
/// The error of `pci_alloc_irq_vectors` (`ENOSPC`: fewer are available,
/// `EINVAL`: the kind is not supported), or `ENOMEM`.
pub(crate) fn alloc_irq_vectors(
    pdev: &pci::Device<Bound>,
    n: u32,
    flag: VectorFlag,
) -> Result<u32> {
    // SAFETY: `pdev` is a live, bound `struct pci_dev`; the function checks its
    // other arguments.
    let ret = unsafe { bindings::pci_alloc_irq_vectors(pci_dev_ptr(pdev), n, n, flag.raw()) };
    to_result(ret)?;
    // CAST: Non-negative: `to_result` accepted it.
    let count = ret as u32;
    // INVARIANT: The allocation above succeeded; `messages` is filled below.
    // From here on every failure drops the release, which frees the vectors.
    let mut release = VectorsRelease {
        pdev: pdev.into(),
        messages: KVec::new(),
    };
    if flag != VectorFlag::Intx {
        for index in 0..count {
            release
                .messages
                .push(irq_vector(pdev, index)?, GFP_KERNEL)?;
        }
    }
    devres::register(pdev.as_ref(), release, GFP_KERNEL)?;
    Ok(count)
}

/// The Linux IRQ number of vector `index` of `pdev` (`pci_irq_vector`).
///
/// # Errors
///
/// `EINVAL` if `pdev` has no such vector.
pub(crate) fn irq_vector(pdev: &pci::Device<Bound>, index: u32) -> Result<u32> {
    // SAFETY: `pdev` is a live `struct pci_dev`; any index is checked.
    let irq = unsafe { bindings::pci_irq_vector(pci_dev_ptr(pdev), index) };
    to_result(irq)?;
    // CAST: Non-negative: `to_result` accepted it.
    Ok(irq as u32)
}

/// A hard-IRQ handler registered on one line with `request_irq`, freed with
/// `free_irq` when dropped; the cookie is the action itself.
///
/// # Invariants
///
/// - `irq` is an interrupt of `dev`, requested with `self`'s address as the cookie
///   and [`handle_irq`] as the handler, until `drop` frees it;
/// - `self` is pinned: the address stays valid while the line is requested.
#[pin_data(PinnedDrop)]
pub(crate) struct IrqAction<H: irq::Handler> {
    irq: u32,
    dev: ARef<Device>,
    handler: H,
    #[pin]
    _pin: PhantomPinned,
}

impl<H: irq::Handler + Send> IrqAction<H> {
    /// Requests line `irq` of `dev` for `handler` (`IRQF_SHARED` if `shared`,
    /// else `IRQF_NO_AUTOEN`: the line starts disabled), kept in devres so that
    /// the line is freed at the latest when `dev` unbinds. With `passive`,
    /// `handler` runs in the line's interrupt thread (`request_threaded_irq`
    /// with `IRQF_ONESHOT`: the line stays masked until it returned) instead of
    /// in hard IRQ. Process context.
    ///
    /// # Safety
    ///
    /// `irq` must be an interrupt of `dev` (a vector allocated for it, or its INTx
    /// line) that stays allocated until the returned action is dropped or `dev`
    /// unbinds (the devres order: allocated before this call).
    pub(crate) unsafe fn request(
        dev: &Device<Bound>,
        irq: u32,
        shared: bool,
        passive: bool,
        name: &'static CStr,
        handler: H,
    ) -> Result<Devres<Self>> {
        let mut flags = if shared {
            bindings::IRQF_SHARED
        } else {
            bindings::IRQF_NO_AUTOEN
        };
        // The hard half only wakes the thread, which runs the handler.
        let (hard, thread): (bindings::irq_handler_t, bindings::irq_handler_t) = if passive {
            flags |= bindings::IRQF_ONESHOT;
            (Some(wake_thread), Some(handle_irq::<H>))
        } else {
            (Some(handle_irq::<H>), None)
        };
        let line = irq;
        let action = try_pin_init!(&this in Self {
            irq,
            dev: dev.into(),
            handler,
            _pin: PhantomPinned,
            _: {
                // SAFETY: `irq` is an interrupt of `dev` (the caller); every field
                // `handle_irq` reads is initialized; `this` is pinned and stays
                // valid until `drop` freed the line (type invariant).
                to_result(unsafe {
                    bindings::request_threaded_irq(
                        line,
                        hard,
                        thread,
                        // CAST: `IRQF_*` flags fit `unsigned long`.
                        flags as kernel::ffi::c_ulong,
                        name.as_char_ptr(),
                        this.as_ptr().cast::<c_void>(),
                    )
                })?;
            },
        }? Error);
        Devres::new(dev, action)
    }
}

#[pinned_drop]
impl<H: irq::Handler> PinnedDrop for IrqAction<H> {
    fn drop(self: Pin<&mut Self>) {
        let irq = self.irq;
        // SAFETY: Pinned, so this is the address the line was requested with (type
        // invariant); the handle is only used as the cookie.
        let cookie = core::ptr::from_mut::<Self>(unsafe { self.get_unchecked_mut() });
        // SAFETY: `irq` is requested with `cookie` (type invariant); `free_irq`
        // waits for a running handler, which uses `self` until it returns.
        unsafe { bindings::free_irq(irq, cookie.cast()) };
    }
}

/// The hard half of a passive [`IrqAction`]: the thread runs the handler.
extern "C" fn wake_thread(_irq: c_int, _ptr: *mut c_void) -> c_uint {
    bindings::irqreturn_IRQ_WAKE_THREAD
}

/// The C handler of an [`IrqAction`] (the thread's, for a passive one).
///
/// # Safety
///
/// Only registered by [`IrqAction::request`], with the action as `ptr`.
unsafe extern "C" fn handle_irq<H: irq::Handler>(_irq: c_int, ptr: *mut c_void) -> c_uint {
    // SAFETY: `ptr` is the pinned action, alive while its line is requested.
    let action = unsafe { &*ptr.cast::<IrqAction<H>>() };
    // SAFETY: The line is freed (in `drop`, or by devres) before `dev` unbinds,
    // so the device is bound while its handler runs.
    let dev = unsafe { action.dev.as_bound() };
    action.handler.handle(dev) as c_uint
}
