//! Step 3: run the boxes through the engine `batch_size` at a time (with the frame's camera id for a model with
//! a camera input) and L2-normalise the embeddings when asked (and the model does not already).

use super::crop::batch_inputs;
use super::stats::{Stats, nanos_since};
use crate::frame::{FrameView, PixelBox};
use reid_runtime::engine::Engine;
use std::sync::atomic::Ordering;
use std::time::Instant;

/// What [`embed_boxes`] does with each batch.
#[derive(Clone, Copy, Debug)]
pub(super) struct RunOptions {
    /// Crops per engine call.
    pub(super) batch_size: usize,
    /// L2-normalise the embeddings (unless the model's output already is).
    pub(super) normalize: bool,
    /// The camera id of every box (fed to a model with a camera input, checked against its table by the caller).
    pub(super) camera: i64,
}

/// One embedding per box, in order; `Err` names how many crops failed and why.
pub(super) fn embed_boxes(
    engine: &dyn Engine,
    view: &FrameView<'_>,
    boxes: &[PixelBox],
    options: RunOptions,
    stats: &Stats,
) -> Result<Vec<Vec<f32>>, String> {
    let RunOptions { batch_size, normalize, camera } = options;
    let cfg = &engine.info().preprocess;
    let normalize = normalize && !engine.info().l2_normalized;
    let mut vectors = Vec::with_capacity(boxes.len());
    for chunk in boxes.chunks(batch_size.max(1)) {
        let batch = batch_inputs(view, chunk, cfg, stats);
        let started = Instant::now();
        let cameras = vec![camera; chunk.len()];
        let out = engine.embed_batch_cameras(&batch, chunk.len(), Some(&cameras));
        stats.engine_ns.fetch_add(nanos_since(started), Ordering::Relaxed);
        let out = out.map_err(|e| format!("embedding {} crops failed: {e}", chunk.len()))?;
        stats.crops.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        let dim = out.len() / chunk.len();
        for row in out.chunks_exact(dim.max(1)) {
            let mut v = row.to_vec();
            if normalize {
                reid_eval::distance::l2_normalize(&mut v);
            }
            vectors.push(v);
        }
    }
    Ok(vectors)
}
