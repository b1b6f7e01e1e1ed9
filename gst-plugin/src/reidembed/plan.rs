//! Step 1 of a frame: the candidate boxes of the frame's source (ROI metas here, DeepStream objects in
//! `nvds.rs`), then, box by box, whether to skip it, embed it now or attach a tracked object's recent embedding
//! again. Both sources feed the same plans, so cropping, running and the track memory are shared.

use super::CAT;
use super::settings::Settings;
use crate::frame::{PixelBox, clamp_box};
use crate::params;
use gst_video::VideoRegionOfInterestMeta;
use std::collections::HashMap;

/// A tracked object: `(source, track id)` (source 0 for ROI metas, the DeepStream `source_id` otherwise).
pub(super) type TrackKey = (u32, u64);

/// The last embedding of a tracked object.
pub(super) struct Track {
    /// Frame it was last seen on.
    pub(super) last_seen: u64,
    /// Frame its embedding was computed on.
    pub(super) computed_at: u64,
    /// The embedding.
    pub(super) vector: Vec<f32>,
}

/// A box of a source that may be embedded.
#[derive(Clone, Copy, Debug)]
pub(super) struct Candidate {
    /// The box, clipped to its frame.
    pub(super) area: PixelBox,
    /// Its track, when tracked.
    pub(super) track: Option<TrackKey>,
    /// The frame (surface of the batch) it lies in: 0 but for DeepStream batches.
    pub(super) surface: usize,
}

/// What happens to one candidate.
pub(super) enum Plan {
    /// Not ours, too small or outside the frame.
    Skip,
    /// Embed the box now.
    Fresh(Candidate),
    /// Attach a tracked object's recent embedding again.
    Reuse {
        /// The embedding.
        vector: Vec<f32>,
        /// Frames since it was computed.
        age: u32,
    },
}

/// One candidate per ROI meta of `buf` (in meta order; `None` for ROIs of another type or outside the
/// `width x height` frame).
pub(super) fn roi_candidates(
    buf: &gst::BufferRef,
    (width, height): (u32, u32),
    settings: &Settings,
) -> Vec<Option<Candidate>> {
    buf.iter_meta::<VideoRegionOfInterestMeta>()
        .map(|roi| {
            if roi.roi_type() != settings.roi_type {
                return None;
            }
            let Some(area) = clamp_box(roi.rect(), width, height) else {
                gst::trace!(CAT, "ROI {:?} is outside the frame or empty", roi.rect());
                return None;
            };
            let track = params::track_id(&roi, settings.roi_id_is_track).map(|t| (0, t));
            Some(Candidate { area, track, surface: 0 })
        })
        .collect()
}

/// The plan for `candidate` on frame `frame_no`: boxes smaller than `min-size` are skipped, a tracked object
/// embedded less than `interval` frames ago reuses its embedding (and is marked seen).
pub(super) fn plan(
    candidate: Option<Candidate>,
    settings: &Settings,
    tracks: &mut HashMap<TrackKey, Track>,
    frame_no: u64,
) -> Plan {
    let Some(candidate) = candidate else { return Plan::Skip };
    let area = candidate.area;
    if area.width < settings.min_size || area.height < settings.min_size {
        gst::trace!(CAT, "box {area:?} is smaller than min-size");
        return Plan::Skip;
    }
    let interval = u64::from(settings.interval.max(1));
    let reuse = candidate.track.filter(|_| interval > 1).and_then(|t| tracks.get_mut(&t)).and_then(|entry| {
        entry.last_seen = frame_no;
        let age = frame_no - entry.computed_at;
        (age < interval)
            .then(|| Plan::Reuse { vector: entry.vector.clone(), age: u32::try_from(age).unwrap_or(u32::MAX) })
    });
    reuse.unwrap_or(Plan::Fresh(candidate))
}

/// The boxes to embed now with their surfaces, in plan order.
pub(super) fn fresh_boxes(plans: &[Plan]) -> Vec<(usize, PixelBox)> {
    plans
        .iter()
        .filter_map(|p| match p {
            Plan::Fresh(c) => Some((c.surface, c.area)),
            _ => None,
        })
        .collect()
}
