//! Step 2: the model inputs of a batch of boxes: crop and convert each to RGB, then the runtime's one
//! preprocessing, in parallel.

use super::stats::{Stats, nanos_since};
use crate::frame::{FrameView, PixelBox};
use rayon::prelude::*;
use reid_runtime::engine::PreprocessConfig;
use reid_runtime::engine::preprocess::preprocess_image;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// The `[n, 3, h, w]` batch of `boxes` cut from `view`; the time spent goes to `stats`.
pub(super) fn batch_inputs(
    view: &FrameView<'_>,
    boxes: &[PixelBox],
    cfg: &PreprocessConfig,
    stats: &Stats,
) -> Vec<f32> {
    let started = Instant::now();
    let inputs: Vec<Vec<f32>> = boxes
        .par_iter()
        .map(|area| {
            let t0 = Instant::now();
            let crop = view.crop_rgb(*area);
            let t1 = Instant::now();
            let input = preprocess_image(&crop, cfg);
            let convert = u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX);
            stats.convert_ns.fetch_add(convert, Ordering::Relaxed);
            stats.resize_ns.fetch_add(nanos_since(t1), Ordering::Relaxed);
            input
        })
        .collect();
    let batch = inputs.concat();
    stats.prepare_ns.fetch_add(nanos_since(started), Ordering::Relaxed);
    batch
}
