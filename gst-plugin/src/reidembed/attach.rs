//! Step 4: attach each planned embedding to its ROI meta as a `reid-embedding` parameter structure, remember
//! tracked objects' fresh embeddings, and forget objects not seen for a while.

use super::plan::{Plan, Track};
use crate::params::Embedding;
use gst_video::VideoRegionOfInterestMeta;
use std::collections::HashMap;

/// What every attached embedding says about itself.
pub(super) struct Tag<'a> {
    /// The model id.
    pub(super) model: &'a str,
    /// Whether the vectors are L2-normalised.
    pub(super) normalized: bool,
}

/// Walks the ROI metas of `buf` with their `plans` (same order) and the `fresh` embeddings (in the order of the
/// `Fresh` plans), on frame `frame_no` with re-embedding `interval`.
pub(super) fn attach(
    buf: &mut gst::BufferRef,
    plans: Vec<Plan>,
    fresh: Vec<Vec<f32>>,
    tracks: &mut HashMap<u64, Track>,
    (frame_no, interval): (u64, u64),
    tag: &Tag<'_>,
) {
    let mut fresh = fresh.into_iter();
    let mut plans = plans.into_iter();
    for mut roi in buf.iter_meta_mut::<VideoRegionOfInterestMeta>() {
        let Some(plan) = plans.next() else { break };
        let (vector, age) = match plan {
            Plan::Skip => continue,
            Plan::Reuse { vector, age } => (vector, age),
            Plan::Fresh { track, .. } => {
                let Some(vector) = fresh.next() else { break };
                if let Some(t) = track.filter(|_| interval > 1) {
                    tracks.insert(t, Track { last_seen: frame_no, computed_at: frame_no, vector: vector.clone() });
                }
                (vector, 0)
            }
        };
        let embedding = Embedding { vector, model: tag.model.to_owned(), normalized: tag.normalized, age };
        roi.add_param(embedding.to_structure());
    }
    // Forget objects not seen for a while (they left, or the tracker dropped them).
    let keep = (2 * interval).max(30);
    tracks.retain(|_, t| frame_no - t.last_seen <= keep);
}
