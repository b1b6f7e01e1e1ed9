//! A test-only stand-in for DeepStream's `libnvds_meta.so`, `libnvdsgst_meta.so` and `libnvbufsurface.so`: it
//! exports the C functions `gst-reid` calls (and those a test needs to build realistic metadata, as an
//! `nvstreammux ! nvinfer ! nvtracker` pipeline would), over the structures of [`reid_deepstream_abi`], so the
//! harness tests push buffers carrying `NvDsBatchMeta` and NVMM surfaces through the elements without DeepStream.
//!
//! It is not DeepStream: pools are plain allocations, `NvBufSurfaceMap` points the mapped addresses at
//! `dataPtr + offset` (system memory stands in for device memory), and copying a buffer drops its batch meta
//! (`nvds_batch_meta_copy_func` copies nothing). What it checks and counts for the tests (`reid_fake_*`):
//! user metas added without the batch lock held, maps and unmaps, user metas released.
//!
//! The version it reports (`nvds_version`) is `REID_FAKE_DEEPSTREAM_VERSION` (`"X.Y"`, default `7.1`), so a
//! test can present an unknown version.
//!
//! Files: `meta.rs` (batch, frame, object and user metas, the lock), `gstmeta.rs` (the `NvDsMeta` GStreamer
//! meta), `surface.rs` (`NvBufSurface` map, sync, unmap).
#![allow(clippy::missing_safety_doc)]

mod gstmeta;
mod meta;
mod surface;

use std::ffi::c_uint;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the fake counts, read by the tests through [`reid_fake_counters`].
pub(crate) static COUNTERS: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
/// [`COUNTERS`] index: user metas added to an object while the batch lock was not held.
pub(crate) const UNLOCKED_ADDS: usize = 0;
/// [`COUNTERS`] index: `NvBufSurfaceMap` calls that succeeded.
pub(crate) const MAPS: usize = 1;
/// [`COUNTERS`] index: `NvBufSurfaceUnMap` calls.
pub(crate) const UNMAPS: usize = 2;
/// [`COUNTERS`] index: `NvBufSurfaceSyncForCpu` calls.
pub(crate) const SYNCS: usize = 3;
/// [`COUNTERS`] index: user metas whose release function ran when their batch was destroyed.
pub(crate) const RELEASED: usize = 4;
/// [`COUNTERS`] index: user metas added to objects.
pub(crate) const USER_ADDS: usize = 5;

/// Adds one to counter `i`.
pub(crate) fn count(i: usize) {
    COUNTERS[i].fetch_add(1, Ordering::SeqCst);
}

/// Test hook: copies the counters (unlocked adds, maps, unmaps, syncs, released user metas, user metas added)
/// into `out[0..6]`.
///
/// # Safety
/// `out` points to six writable `guint64`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn reid_fake_counters(out: *mut u64) {
    for (i, c) in COUNTERS.iter().enumerate() {
        // SAFETY: the caller provides six slots.
        unsafe { *out.add(i) = c.load(Ordering::SeqCst) };
    }
}

/// The version the fake reports: `REID_FAKE_DEEPSTREAM_VERSION` as `(major, minor)`, default 7.1.
fn reported_version() -> (u32, u32) {
    let text = std::env::var("REID_FAKE_DEEPSTREAM_VERSION").unwrap_or_default();
    let mut parts = text.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor),
        (Some(major), None) => (major, 0),
        _ => (7, 1),
    }
}

/// `nvds_version` (`nvds_version.h`): the DeepStream version.
///
/// # Safety
/// Both pointers are writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_version(major: *mut c_uint, minor: *mut c_uint) {
    let (ma, mi) = reported_version();
    // SAFETY: the caller passes writable pointers (nvds_version.h).
    unsafe {
        *major = ma;
        *minor = mi;
    }
}
