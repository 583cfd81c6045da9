// SPDX-License-Identifier: GPL-2.0

//! The library's debugfs views: `<root>/<loop>/stats` and, for each attached
//! source, `<root>/<loop>/<source>/{stats,histogram}`.
//!
//! A view is text made on each read from live counters; it holds a reference
//! to what it shows, so a file that outlives a loop or a source shows its last
//! values. Files are best effort: a failure to create one fails nothing else.

use super::{stats::SourceStats, work_loop::LoopInner};
use core::fmt;
use kernel::{
    debugfs::{Dir, File},
    prelude::*,
    str::CStr,
    sync::{atomic::Relaxed, Arc},
};

/// Something with a text form for debugfs.
pub(crate) trait Text {
    /// Writes the text of one read.
    fn write_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A read-only debugfs file's contents: the text of `T` at each read.
pub(crate) struct TextView<T: ?Sized>(pub(crate) Arc<T>);

impl<T: Text + ?Sized> fmt::Debug for TextView<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.write_text(f)
    }
}

/// `<root>/<loop>/stats`.
impl Text for LoopInner {
    fn write_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "name: {}", self.name().to_str().unwrap_or("?"))?;
        writeln!(f, "sources: {}", self.source_count.load(Relaxed))?;
        write!(f, "{}", &self.stats)
    }
}

impl Text for SourceStats {
    fn write_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self)
    }
}

/// The latency histogram of a source's statistics.
pub(crate) struct Histogram(Arc<SourceStats>);

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.latency.write_histogram(f)
    }
}

/// The debugfs entries of an attached source. Field order: files before their
/// directory.
pub(crate) struct SourceFiles {
    _stats: Pin<KBox<File<TextView<SourceStats>>>>,
    _histogram: Pin<KBox<File<Histogram>>>,
    _dir: Dir,
}

impl SourceFiles {
    /// `parent/name/{stats,histogram}` for `stats`; `None` if a file could not be
    /// made.
    pub(crate) fn new(parent: &Dir, name: &CStr, stats: &Arc<SourceStats>) -> Option<Self> {
        let dir = parent.subdir(name);
        let stats_file = KBox::pin_init(
            dir.read_only_file(c"stats", TextView(stats.clone())),
            GFP_KERNEL,
        );
        let histogram = KBox::pin_init(
            dir.read_only_file(c"histogram", Histogram(stats.clone())),
            GFP_KERNEL,
        );
        match (stats_file, histogram) {
            (Ok(s), Ok(h)) => Some(Self {
                _stats: s,
                _histogram: h,
                _dir: dir,
            }),
            _ => None,
        }
    }
}
