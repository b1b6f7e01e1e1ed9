//! Step 1 of a frame: decide, ROI by ROI, whether to skip it, embed it now or attach a tracked object's recent
//! embedding again.

use super::CAT;
use super::settings::Settings;
use crate::frame::{PixelBox, clamp_box};
use crate::params;
use gst_video::VideoRegionOfInterestMeta;
use std::collections::HashMap;

/// The last embedding of a tracked object.
pub(super) struct Track {
    /// Frame it was last seen on.
    pub(super) last_seen: u64,
    /// Frame its embedding was computed on.
    pub(super) computed_at: u64,
    /// The embedding.
    pub(super) vector: Vec<f32>,
}

/// What happens to one ROI meta of a frame.
pub(super) enum Plan {
    /// Not ours, too small or outside the frame.
    Skip,
    /// Embed the box now.
    Fresh {
        /// The box, clipped to the frame.
        area: PixelBox,
        /// Its track id, when tracked.
        track: Option<u64>,
    },
    /// Attach a tracked object's recent embedding again.
    Reuse {
        /// The embedding.
        vector: Vec<f32>,
        /// Frames since it was computed.
        age: u32,
    },
}

/// One plan per ROI meta of `buf`, in meta order, for frame `frame_no` of a `width x height` stream. Tracks that
/// are reused are marked seen.
pub(super) fn plan_frame(
    buf: &gst::BufferRef,
    (width, height): (u32, u32),
    settings: &Settings,
    tracks: &mut HashMap<u64, Track>,
    frame_no: u64,
) -> Vec<Plan> {
    let interval = u64::from(settings.interval.max(1));
    let mut plans = Vec::new();
    for roi in buf.iter_meta::<VideoRegionOfInterestMeta>() {
        if roi.roi_type() != settings.roi_type {
            plans.push(Plan::Skip);
            continue;
        }
        let Some(area) = clamp_box(roi.rect(), width, height) else {
            gst::trace!(CAT, "ROI {:?} is outside the frame or empty", roi.rect());
            plans.push(Plan::Skip);
            continue;
        };
        if area.width < settings.min_size || area.height < settings.min_size {
            gst::trace!(CAT, "ROI {area:?} is smaller than min-size");
            plans.push(Plan::Skip);
            continue;
        }
        let track = params::track_id(&roi, settings.roi_id_is_track);
        let reuse = track.filter(|_| interval > 1).and_then(|t| tracks.get_mut(&t)).and_then(|entry| {
            entry.last_seen = frame_no;
            let age = frame_no - entry.computed_at;
            (age < interval)
                .then(|| Plan::Reuse { vector: entry.vector.clone(), age: u32::try_from(age).unwrap_or(u32::MAX) })
        });
        plans.push(reuse.unwrap_or(Plan::Fresh { area, track }));
    }
    plans
}

/// The boxes to embed now, in plan order.
pub(super) fn fresh_boxes(plans: &[Plan]) -> Vec<PixelBox> {
    plans
        .iter()
        .filter_map(|p| match p {
            Plan::Fresh { area, .. } => Some(*area),
            _ => None,
        })
        .collect()
}
