// SPDX-License-Identifier: GPL-2.0

//! The hwrng registration (`hwrng.c`: kernel 7.2's Rust has no `struct
//! hwrng`), named `virtio_rng_rs.N` with the lowest free N, as Linux's C driver
//! names its own `virtio_rng.N`.

use super::*;

mod ffi {
    use super::*;

    extern "C" {
        pub(super) fn vrng_rs_hwrng_register(name: *const c_char, ctx: *mut c_void) -> *mut c_void;
        pub(super) fn vrng_rs_hwrng_unregister(h: *mut c_void);
    }
}

/// Instance numbers in use, a bit each.
static INSTANCES: Atomic<u32> = Atomic::new(0);

/// Frees instance number `n`.
fn put_instance(n: u32) {
    let mut used = INSTANCES.load(Relaxed);
    while let Err(now) = INSTANCES.cmpxchg(used, used & !(1 << n), Relaxed) {
        used = now;
    }
}

/// Takes the lowest free instance number.
fn take_instance() -> Result<u32> {
    let mut used = INSTANCES.load(Relaxed);
    loop {
        let n = (!used).trailing_zeros();
        if n >= 32 {
            return Err(EBUSY);
        }
        match INSTANCES.cmpxchg(used, used | (1 << n), Relaxed) {
            Ok(_) => return Ok(n),
            Err(now) => used = now,
        }
    }
}

/// A registered hwrng whose reads go to an [`Rng`].
///
/// # Invariants
///
/// `handle` is an hwrng registered by `vrng_rs_hwrng_register` with `ctx` as
/// its context, and `ctx` is an `Arc<Rng>` from [`Arc::into_raw`] that this
/// value owns; `instance` is this value's bit in `INSTANCES`.
pub(crate) struct Hwrng {
    handle: NonNull<c_void>,
    ctx: *const Rng,
    instance: u32,
}

// SAFETY: The handle and the context are only used by `drop`, from whichever
// thread drops the value; `Rng` is `Send + Sync`.
unsafe impl Send for Hwrng {}
// SAFETY: `&Hwrng` gives no access to either pointer.
unsafe impl Sync for Hwrng {}

impl Hwrng {
    /// Registers `virtio_rng_rs.N` reading from `rng`.
    pub(crate) fn register(rng: &Arc<Rng>) -> Result<Self> {
        let instance = take_instance()?;
        let name = match CString::try_from_fmt(fmt!("virtio_rng_rs.{instance}")) {
            Ok(name) => name,
            Err(e) => {
                put_instance(instance);
                return Err(e);
            }
        };
        let ctx = Arc::into_raw(rng.clone());
        let ctx_arg = ctx.cast_mut().cast();
        // SAFETY: `name` is a NUL-terminated string the C side copies; `ctx`
        // stays valid until `vrng_rs_hwrng_unregister` returns (see `drop`).
        let handle = unsafe { ffi::vrng_rs_hwrng_register(name.as_char_ptr(), ctx_arg) };
        match kernel::error::from_err_ptr(handle).map(NonNull::new) {
            Ok(Some(handle)) => Ok(Self {
                handle,
                ctx,
                instance,
            }),
            Ok(None) | Err(_) => {
                // SAFETY: Registration failed: the C side kept no copy of `ctx`.
                drop(unsafe { Arc::from_raw(ctx) });
                put_instance(instance);
                Err(kernel::error::from_err_ptr(handle).err().unwrap_or(ENOMEM))
            }
        }
    }
}

impl Hwrng {
    /// N of `virtio_rng_rs.N`.
    pub(crate) fn instance(&self) -> u32 {
        self.instance
    }
}

impl Drop for Hwrng {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `handle` is registered; unregistering
        // returns once no read is in progress, and none starts after.
        unsafe { ffi::vrng_rs_hwrng_unregister(self.handle.as_ptr()) };
        // SAFETY: By the type invariants `ctx` came from `Arc::into_raw` and is
        // owned here; the hwrng that used it is gone.
        drop(unsafe { Arc::from_raw(self.ctx) });
        put_instance(self.instance);
    }
}

/// The hwrng's read, called by `hwrng.c` for the core (process context, the
/// core's `reading_mutex` held): the bytes copied, or a negative errno.
///
/// # Safety
///
/// `ctx` is the context of a registered [`Hwrng`], and `buf` points to `max`
/// writable bytes for the call.
#[no_mangle]
unsafe extern "C" fn vrng_rs_read(
    ctx: *mut c_void,
    buf: *mut c_void,
    max: usize,
    wait: bool,
) -> c_int {
    // SAFETY: By the function's safety requirements `ctx` is the `Arc<Rng>` of
    // a registered hwrng, alive until it is unregistered, which waits for us.
    let rng = unsafe { &*ctx.cast::<Rng>() };
    // SAFETY: By the function's safety requirements `buf` has `max` bytes.
    let out = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), max) };
    match rng.read(out, wait) {
        // CAST: At most one 64-byte buffer is copied.
        Ok(n) => n as c_int,
        Err(e) => e.to_errno(),
    }
}
