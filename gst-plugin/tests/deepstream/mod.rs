//! NvDs mode and NVMM input against the test-only fake DeepStream library (`reid-fake-deepstream`): batch metas
//! as `nvstreammux ! nvinfer ! nvtracker` leave them, through `reidembed` and `reidpublish`; NVMM surfaces;
//! bad metadata and an unknown DeepStream version. Tested against the published structure layouts, not on a
//! Jetson.

mod embed;
pub(crate) mod fake;
mod nvinfer;
mod nvmm;
#[cfg(feature = "publish")]
mod publish;
mod version;

use std::sync::Mutex;

/// Tests that read the fake's global counters run one at a time.
pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

/// Holds [`SERIAL`] (a failed test does not poison the others).
pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
