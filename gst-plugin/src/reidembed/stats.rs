//! What the element measures of itself: the `stats-*` properties and the counters behind them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The read-only statistics properties of `reidembed`: counters, then nanoseconds accumulated since the element
/// last started (all `guint64`).
///
/// | property | what it counts |
/// | --- | --- |
/// | `stats-frames` | frames handled |
/// | `stats-crops` | crops embedded (a reused embedding is not a crop) |
/// | `stats-total-ns` | wall time inside the element's per-frame function, everything included |
/// | `stats-engine-ns` | wall time inside the engine's batch calls |
/// | `stats-prepare-ns` | wall time preparing the engine's batches (crops prepared in parallel, then joined) |
/// | `stats-convert-ns` | time cropping and converting to RGB, summed over the worker threads |
/// | `stats-resize-ns` | time resizing, scaling and normalising the crops, summed over the worker threads |
/// | `stats-camera-skipped` | crops not embedded because their camera id lies beyond the model's SIE table |
///
/// The element's own cost is `stats-total-ns - stats-engine-ns` (wall time: crops are prepared in parallel, so
/// the two summed CPU times may add up to more).
pub const STATS_PROPERTIES: [&str; 8] = [
    "stats-frames",
    "stats-crops",
    "stats-total-ns",
    "stats-engine-ns",
    "stats-prepare-ns",
    "stats-convert-ns",
    "stats-resize-ns",
    "stats-camera-skipped",
];

/// The per-stage counters behind the `stats-*` properties.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames handled.
    pub frames: AtomicU64,
    /// Crops embedded.
    pub crops: AtomicU64,
    /// Wall nanoseconds in the per-frame function.
    pub total_ns: AtomicU64,
    /// Wall nanoseconds in engine calls.
    pub engine_ns: AtomicU64,
    /// Wall nanoseconds preparing batches.
    pub prepare_ns: AtomicU64,
    /// Nanoseconds cropping and converting, summed over threads.
    pub convert_ns: AtomicU64,
    /// Nanoseconds resizing and normalising, summed over threads.
    pub resize_ns: AtomicU64,
    /// Crops whose camera id lies beyond the SIE table.
    pub camera_skipped: AtomicU64,
}

impl Stats {
    /// Sets every counter to zero.
    pub fn reset(&self) {
        for c in self.counters() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The counters in the order of [`STATS_PROPERTIES`].
    fn counters(&self) -> [&AtomicU64; 8] {
        [
            &self.frames,
            &self.crops,
            &self.total_ns,
            &self.engine_ns,
            &self.prepare_ns,
            &self.convert_ns,
            &self.resize_ns,
            &self.camera_skipped,
        ]
    }

    /// The value of the `stats-*` property `name`, `None` for another name.
    pub fn get(&self, name: &str) -> Option<u64> {
        let i = STATS_PROPERTIES.iter().position(|p| *p == name)?;
        Some(self.counters()[i].load(Ordering::Relaxed))
    }
}

/// Nanoseconds since `start`, saturating.
pub(super) fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}
