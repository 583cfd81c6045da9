// SPDX-License-Identifier: GPL-2.0

//! debugfs `edu_bench/`: `latency` and `throughput` (write N to measure, read
//! the result) and `irq`.

use super::*;

/// Most samples or interrupts one write asks for.
const MAX_SAMPLES: u32 = 100_000;

struct LatencyFile(Arc<Bench>);

impl fmt::Debug for LatencyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (total, wake) in self.0.latencies.lock().iter() {
            writeln!(f, "{total} {wake}")?;
        }
        Ok(())
    }
}

struct ThroughputFile(Arc<Bench>);

impl fmt::Debug for ThroughputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, ns, lost) = *self.0.throughput.lock();
        write!(f, "{n} {ns} {lost}")
    }
}

struct IrqFile(Arc<Bench>);

impl fmt::Debug for IrqFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.irq.load(Relaxed))
    }
}

/// Reads a write of one number, 1 to `MAX_SAMPLES`.
fn parse_count(reader: &mut UserSliceReader) -> Result<u32> {
    let mut buf = [0u8; 16];
    let len = reader.len();
    if len == 0 || len > buf.len() {
        return Err(EINVAL);
    }
    // PANIC: `len <= buf.len()`, checked above.
    let bytes = &mut buf[..len];
    reader.read_slice(bytes)?;
    let text = core::str::from_utf8(bytes).map_err(|_| EINVAL)?.trim();
    let n = text.parse::<u32>().map_err(|_| EINVAL)?;
    if n == 0 || n > MAX_SAMPLES {
        return Err(ERANGE);
    }
    Ok(n)
}

fn latency_write(file: &LatencyFile, reader: &mut UserSliceReader) -> Result {
    file.0.measure_latency(parse_count(reader)?)
}

fn throughput_write(file: &ThroughputFile, reader: &mut UserSliceReader) -> Result {
    file.0.measure_throughput(parse_count(reader)?)
}

/// The files; dropping them waits for a writer in flight.
pub(crate) struct Files {
    _latency: Pin<KBox<DebugfsFile<LatencyFile>>>,
    _throughput: Pin<KBox<DebugfsFile<ThroughputFile>>>,
    _irq: Pin<KBox<DebugfsFile<IrqFile>>>,
    _dir: Dir,
}

impl Files {
    /// Probe step: `edu_bench/{latency,throughput,irq}` in debugfs.
    pub(crate) fn new(bench: &Arc<Bench>) -> Result<Self> {
        let dir = Dir::new(c"edu_bench");
        Ok(Files {
            _latency: KBox::pin_init(
                dir.read_write_callback_file(
                    c"latency",
                    LatencyFile(bench.clone()),
                    &|file: &LatencyFile, f: &mut fmt::Formatter<'_>| fmt::Debug::fmt(file, f),
                    &latency_write,
                ),
                GFP_KERNEL,
            )?,
            _throughput: KBox::pin_init(
                dir.read_write_callback_file(
                    c"throughput",
                    ThroughputFile(bench.clone()),
                    &|file: &ThroughputFile, f: &mut fmt::Formatter<'_>| fmt::Debug::fmt(file, f),
                    &throughput_write,
                ),
                GFP_KERNEL,
            )?,
            _irq: KBox::pin_init(
                dir.read_only_file(c"irq", IrqFile(bench.clone())),
                GFP_KERNEL,
            )?,
            _dir: dir,
        })
    }
}
