// SPDX-License-Identifier: GPL-2.0

//! debugfs `virtio_rng_rs-<pci>/`: `stats` (the counts the tests and the
//! benchmark read) and `nowait`.

use super::*;

/// debugfs `virtio_rng_rs-<pci>/`: `stats`, and the loop's directory with its
/// sources'.
pub(crate) fn device_dir(pdev: &pci::Device<Bound>) -> Option<Dir> {
    let name = CString::try_from_fmt(fmt!("virtio_rng_rs-{}", pdev.as_ref().name())).ok()?;
    Some(Dir::new(&name))
}

/// `stats`: the hwrng's name, the counts of `rng::Stats`, and the bytes
/// harvested but not read.
struct StatsView(Arc<Rng>, u32);

impl fmt::Debug for StatsView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.0.stats;
        writeln!(f, "hwrng: virtio_rng_rs.{}", self.1)?;
        writeln!(f, "depth: {}", self.0.depth())?;
        writeln!(f, "hardirq: {}", u8::from(self.0.hardirq()))?;
        for (name, value) in [
            ("top", &s.top),
            ("not_mine", &s.not_mine),
            ("delivered", &s.delivered),
            ("rung", &s.rung),
            ("config", &s.config),
            ("posted", &s.posted),
            ("used", &s.used),
            ("bytes_used", &s.bytes_used),
            ("bytes_read", &s.bytes_read),
            ("polled", &s.polled),
            ("bad", &s.bad),
        ] {
            writeln!(f, "{name}: {}", value.load(Relaxed))?;
        }
        writeln!(f, "waiting: {}", s.waiting.load(Relaxed))?;
        writeln!(f, "cached: {}", self.0.cached())
    }
}

/// `nowait`: each read of the file is one hwrng read that may not wait (the
/// core's `wait=false`, which `O_NONBLOCK` readers of `/dev/hwrng` get): the
/// bytes it got, or its error.
struct NowaitView(Arc<Rng>);

impl fmt::Debug for NowaitView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; queue::BUF];
        match self.0.read(&mut buf, false) {
            Ok(n) => writeln!(f, "{n}"),
            Err(e) => writeln!(f, "{e:?}"),
        }
    }
}

/// The device's debugfs files.
pub(crate) struct Files {
    _stats: Pin<KBox<DebugfsFile<StatsView>>>,
    _nowait: Pin<KBox<DebugfsFile<NowaitView>>>,
    _dir: Dir,
}

impl Files {
    pub(crate) fn new(dir: Dir, rng: &Arc<Rng>, instance: u32) -> Option<Self> {
        let stats = KBox::pin_init(
            dir.read_only_file(c"stats", StatsView(rng.clone(), instance)),
            GFP_KERNEL,
        )
        .ok()?;
        let nowait = KBox::pin_init(
            dir.read_only_file(c"nowait", NowaitView(rng.clone())),
            GFP_KERNEL,
        )
        .ok()?;
        Some(Self {
            _stats: stats,
            _nowait: nowait,
            _dir: dir,
        })
    }
}
