//! Step 4: the embedding of each plan (fresh or reused), the track memory, and attaching: to ROI metas as a
//! `reid-embedding` parameter structure here, to DeepStream objects as a user meta in `nvds.rs`.

use super::plan::{Plan, Track, TrackKey};
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

impl Tag<'_> {
    /// The embedding of `vector`, computed `age` frames ago.
    pub(super) fn embedding(&self, vector: Vec<f32>, age: u32) -> Embedding {
        Embedding { vector, model: self.model.to_owned(), normalized: self.normalized, age }
    }
}

/// The embedding of each plan (`None` for skipped ones), given the `fresh` embeddings in the order of the
/// `Fresh` plans (`None` where the frame could not be read), on frame `frame_no` with re-embedding `interval`;
/// fresh embeddings of tracked objects are remembered.
pub(super) fn resolve(
    plans: Vec<Plan>,
    fresh: Vec<Option<Vec<f32>>>,
    tracks: &mut HashMap<TrackKey, Track>,
    (frame_no, interval): (u64, u64),
) -> Vec<Option<(Vec<f32>, u32)>> {
    let mut fresh = fresh.into_iter();
    plans
        .into_iter()
        .map(|plan| match plan {
            Plan::Skip => None,
            Plan::Reuse { vector, age } => Some((vector, age)),
            Plan::Fresh(candidate) => {
                let vector = fresh.next().flatten()?;
                if let Some(t) = candidate.track.filter(|_| interval > 1) {
                    tracks.insert(t, Track { last_seen: frame_no, computed_at: frame_no, vector: vector.clone() });
                }
                Some((vector, 0))
            }
        })
        .collect()
}

/// Forgets objects not seen for a while (they left, or the tracker dropped them).
pub(super) fn forget(tracks: &mut HashMap<TrackKey, Track>, (frame_no, interval): (u64, u64)) {
    let keep = (2 * interval).max(30);
    tracks.retain(|_, t| frame_no - t.last_seen <= keep);
}

/// Attaches the `resolved` embeddings (one per ROI meta of `buf`, in meta order) as parameter structures.
pub(super) fn attach_rois(buf: &mut gst::BufferRef, resolved: Vec<Option<(Vec<f32>, u32)>>, tag: &Tag<'_>) {
    let mut resolved = resolved.into_iter();
    for mut roi in buf.iter_meta_mut::<VideoRegionOfInterestMeta>() {
        let Some(entry) = resolved.next() else { break };
        if let Some((vector, age)) = entry {
            roi.add_param(tag.embedding(vector, age).to_structure());
        }
    }
}
