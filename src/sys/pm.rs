// SPDX-License-Identifier: GPL-2.0

//! System sleep callbacks for a Rust PCI driver: kernel 7.2's `pci::Driver`
//! has none, and its `pci::Adapter` registers a `struct pci_driver` without a
//! `dev_pm_ops`. [`PmAdapter`] is that registration plus one, calling the
//! driver's [`PciPower`] methods.
//!
//! A module registers `driver::Registration<PmAdapter<MyDriver>>` where it
//! would register `driver::Registration<pci::Adapter<MyDriver>>`.

use core::marker::PhantomData;
use kernel::{
    bindings, driver,
    error::from_result,
    ffi::c_int,
    pci,
    prelude::*,
    str::CStr,
    types::{ForeignOwnable, Opaque},
    ThisModule,
};

/// A PCI driver's system sleep callbacks: suspend to RAM or to idle, and
/// hibernation's freeze, thaw, power-off and restore, in pairs.
///
/// The PM core calls them in process context holding the device's lock (so no
/// probe or remove runs meanwhile), after it froze user space and every
/// freezable kernel thread: they must not wait for a frozen work loop's thread
/// (`WorkLoop::suspend` does not; it uses the gate).
pub trait PciPower: pci::Driver {
    /// The system is going to sleep: stop the device's work. An error aborts
    /// the transition.
    fn suspend(data: Pin<&Self::Data<'_>>) -> Result;

    /// The system is back: undo [`PciPower::suspend`].
    fn resume(data: Pin<&Self::Data<'_>>) -> Result;
}

/// `pci::Adapter<T>` with `T`'s [`PciPower`] callbacks as the driver's
/// `dev_pm_ops`.
pub struct PmAdapter<T: PciPower>(PhantomData<T>);

// SAFETY: The layout is `pci::Adapter`'s: `bindings::pci_driver` is `repr(C)`,
// `T::Data` is the driver's device private data (stored by `pci::Adapter`'s
// probe), and the offset is that of the embedded `struct device_driver`.
unsafe impl<T: PciPower> driver::DriverLayout for PmAdapter<T> {
    type DriverType = bindings::pci_driver;
    type DriverData<'bound> = T::Data<'bound>;
    const DEVICE_DRIVER_OFFSET: usize = core::mem::offset_of!(bindings::pci_driver, driver);
}

// SAFETY: `register` and `unregister` are `pci::Adapter<T>`'s, which keep its
// contract, after `register` set one more field of the not yet registered driver.
unsafe impl<T: PciPower + 'static> driver::RegistrationOps for PmAdapter<T> {
    unsafe fn register(
        pdrv: &Opaque<bindings::pci_driver>,
        name: &'static CStr,
        module: &'static ThisModule,
    ) -> Result {
        // SAFETY: The driver is being initialized and not yet registered, so its
        // fields may be set; `PM_OPS` is a promoted constant, valid for ever.
        unsafe { (*pdrv.get()).driver.pm = &Self::PM_OPS };
        // SAFETY: By the caller, `pdrv` stays pinned and valid until `unregister`.
        unsafe { <pci::Adapter<T> as driver::RegistrationOps>::register(pdrv, name, module) }
    }

    unsafe fn unregister(pdrv: &Opaque<bindings::pci_driver>) {
        // SAFETY: By the caller, `register` succeeded for `pdrv`.
        unsafe { <pci::Adapter<T> as driver::RegistrationOps>::unregister(pdrv) }
    }
}

impl<T: PciPower> PmAdapter<T> {
    const PM_OPS: bindings::dev_pm_ops = bindings::dev_pm_ops {
        suspend: Some(Self::suspend_callback),
        resume: Some(Self::resume_callback),
        freeze: Some(Self::suspend_callback),
        thaw: Some(Self::resume_callback),
        poweroff: Some(Self::suspend_callback),
        restore: Some(Self::resume_callback),
        // SAFETY: Every other field is an optional function pointer, for which
        // all-zero is `None`.
        ..unsafe { core::mem::zeroed() }
    };

    /// The driver data of `dev`.
    ///
    /// # Safety
    ///
    /// `dev` is a PCI device bound to this driver, whose lock the caller (the
    /// PM core) holds for the returned lifetime, so remove cannot free the data.
    unsafe fn data<'a>(dev: *mut bindings::device) -> Result<Pin<&'a T::Data<'a>>> {
        // SAFETY: `dev` is a valid device (by the caller).
        let ptr = unsafe { bindings::dev_get_drvdata(dev) };
        if ptr.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: A bound device's driver data is the `Pin<KBox<T::Data>>`
        // `pci::Adapter`'s probe stored with `into_foreign`; it stays until
        // remove, which the device lock excludes.
        Ok(unsafe { Pin::<KBox<T::Data<'a>>>::borrow(ptr.cast()) })
    }

    extern "C" fn suspend_callback(dev: *mut bindings::device) -> c_int {
        from_result(|| {
            // SAFETY: The PM core calls this for a device bound to this driver,
            // holding its lock.
            T::suspend(unsafe { Self::data(dev) }?)?;
            Ok(0)
        })
    }

    extern "C" fn resume_callback(dev: *mut bindings::device) -> c_int {
        from_result(|| {
            // SAFETY: As in `suspend_callback`.
            T::resume(unsafe { Self::data(dev) }?)?;
            Ok(0)
        })
    }
}
