//! Progress reporting without a UI dependency: long operations call a [`Progress`] sink.

/// Receives progress of a long operation; binaries implement it with progress bars.
pub trait Progress: Sync {
    /// A new stage begins with `total` units of work (0 when unknown).
    fn stage(&self, name: &str, total: u64);
    /// `n` more units of the current stage are done.
    fn advance(&self, n: u64);
    /// The current stage is finished.
    fn finish_stage(&self) {}
}

/// A sink that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn stage(&self, _name: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
}
