// SPDX-License-Identifier: GPL-2.0

//! Module parameters (declared in `module!`): each is checked once at module
//! init, so that `insmod` fails saying what to use instead of a probe failing
//! later.

use super::*;

/// Fewest DMA address bits a mask may have: the 16 MiB `ZONE_DMA` of x86 is the
/// lowest memory the kernel can hand out for DMA.
const DMA_BITS_MIN: u32 = 24;

/// How the device's interrupt vector is allocated (`irq_mode` parameter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IrqMode {
    Auto,
    Intx,
    Msi,
    /// MSI on even device slots, INTx on odd ones (the demo shows both).
    Mixed,
}

impl TryFrom<u32> for IrqMode {
    type Error = Error;

    fn try_from(value: u32) -> Result<Self> {
        match value {
            0 => Ok(Self::Auto),
            1 => Ok(Self::Intx),
            2 => Ok(Self::Msi),
            3 => Ok(Self::Mixed),
            _ => Err(EINVAL),
        }
    }
}

/// Refuses a module parameter outside what it accepts, saying what to use.
fn check_param(name: &str, value: u32, ok: bool, hint: &str) -> Result {
    if !ok {
        pr_err!("edu: {}={} is invalid: use {}\n", name, value, hint);
        return Err(EINVAL);
    }
    Ok(())
}

/// Module init step: every parameter is in range, or `insmod` fails saying why.
pub(crate) fn check_params() -> Result {
    let mode = *module_parameters::irq_mode.value();
    let ok = IrqMode::try_from(mode).is_ok();
    check_param(
        "irq_mode",
        mode,
        ok,
        "0 (auto), 1 (INTx), 2 (MSI) or 3 (alternating)",
    )?;
    let filter = *module_parameters::filter.value();
    check_param("filter", filter, filter <= 1, "1 (filter) or 0 (plain)")?;
    let dma_bits = *module_parameters::dma_bits.value();
    // The hint names `DMA_BITS_MIN`, 24 (checked at build time).
    const _: () = assert!(DMA_BITS_MIN == 24);
    check_param(
        "dma_bits",
        dma_bits,
        (DMA_BITS_MIN..=64).contains(&dma_bits),
        "the number of address bits the device's DMA engine decodes, 24..=64 \
         (QEMU's edu: 28, or its dma_mask property)",
    )?;
    let knobs = *module_parameters::test_knobs.value();
    check_param("test_knobs", knobs, knobs <= 1, "0 or 1")?;
    let storm = *module_parameters::storm_per_sec.value();
    check_param(
        "storm_per_sec",
        storm,
        storm <= 10_000_000,
        "0 (off) or up to 10000000",
    )?;
    let exclusive = *module_parameters::intx_exclusive.value();
    check_param(
        "intx_exclusive",
        exclusive,
        exclusive <= 1,
        "0 (shared) or 1 (exclusive)",
    )?;
    let timeout = *module_parameters::fact_timeout_ms.value();
    check_param(
        "fact_timeout_ms",
        timeout,
        (1..=10_000).contains(&timeout),
        "1..=10000",
    )
}
