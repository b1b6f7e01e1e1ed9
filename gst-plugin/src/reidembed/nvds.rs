//! NvDs mode: the candidates of a DeepStream batch (objects of the chosen classes and confidence, boxes from
//! `rect_params` clipped to their frame, the tracker's `object_id` per source as the track) and the embeddings
//! written back on the objects as `REID.EMBEDDING` user metas under the batch lock.

use super::CAT;
use super::attach::Tag;
use super::plan::{Candidate, Plan};
use super::settings::Settings;
use crate::deepstream::abi::osd::NvOSD_RectParams;
use crate::deepstream::{Batch, ObjectRef, attach_embedding, object_embedding};
use crate::frame::PixelBox;
use gst::subclass::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// The read-only NvDs counters of `reidembed` (`guint64`, since the element started):
///
/// | property | what it counts |
/// | --- | --- |
/// | `nvds-objects` | objects of the chosen classes and confidence with a usable box (candidates) |
/// | `nvds-skipped-boxes` | objects skipped for a zero, negative or non-finite box (each logged as a warning) |
/// | `nvds-skipped-frames` | frame metas skipped because their `batch_id` lies beyond the batch (warning) |
/// | `nvds-missing-tensors` | `engine=nvinfer`: objects to embed without an nvinfer tensor meta (not embedded) |
/// | `nvds-bad-tensors` | `engine=nvinfer`: tensor metas refused (counts, data type, pointers; warning) |
pub const NVDS_PROPERTIES: [&str; 5] =
    ["nvds-objects", "nvds-skipped-boxes", "nvds-skipped-frames", "nvds-missing-tensors", "nvds-bad-tensors"];

/// The counters behind [`NVDS_PROPERTIES`].
#[derive(Debug, Default)]
pub struct NvdsStats {
    /// Candidates.
    pub objects: AtomicU64,
    /// Objects with an unusable box.
    pub skipped_boxes: AtomicU64,
    /// Frames with a `batch_id` beyond the batch.
    pub skipped_frames: AtomicU64,
    /// `engine=nvinfer`: objects without a tensor meta.
    pub missing_tensors: AtomicU64,
    /// `engine=nvinfer`: tensor metas refused.
    pub bad_tensors: AtomicU64,
}

impl NvdsStats {
    /// The value of property `name`, `None` for another name.
    pub fn get(&self, name: &str) -> Option<u64> {
        let counter = match name {
            "nvds-objects" => &self.objects,
            "nvds-skipped-boxes" => &self.skipped_boxes,
            "nvds-skipped-frames" => &self.skipped_frames,
            "nvds-missing-tensors" => &self.missing_tensors,
            "nvds-bad-tensors" => &self.bad_tensors,
            _ => return None,
        };
        Some(counter.load(Ordering::Relaxed))
    }

    /// Sets every counter to zero.
    pub fn reset(&self) {
        for c in [&self.objects, &self.skipped_boxes, &self.skipped_frames, &self.missing_tensors, &self.bad_tensors] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// The part of `rect` inside a `width x height` frame, edges rounded to the nearest pixel: `Ok(None)` when
/// nothing is left, `Err` for a box that is no box (zero, negative or non-finite size or position).
pub(super) fn clip_rect(rect: &NvOSD_RectParams, width: u32, height: u32) -> Result<Option<PixelBox>, String> {
    let (l, t, w, h) = (f64::from(rect.left), f64::from(rect.top), f64::from(rect.width), f64::from(rect.height));
    if ![l, t, w, h].iter().all(|v| v.is_finite()) || w <= 0.0 || h <= 0.0 {
        return Err(format!("box left {l} top {t} width {w} height {h}"));
    }
    let clip = |v: f64, max: u32| v.round().clamp(0.0, f64::from(max)) as u32;
    let (x0, x1) = (clip(l, width), clip(l + w, width));
    let (y0, y1) = (clip(t, height), clip(t + h, height));
    if x1 <= x0 || y1 <= y0 {
        return Ok(None);
    }
    Ok(Some(PixelBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }))
}

/// The objects of `batch` to plan, with their candidates; `dims` are the frame sizes by `batch_id`.
pub(super) fn candidates(
    element: &super::imp::ReidEmbed,
    batch: &Batch,
    dims: &[(u32, u32)],
    settings: &Settings,
    stats: &NvdsStats,
) -> (Vec<ObjectRef>, Vec<Option<Candidate>>) {
    let (mut objects, mut candidates) = (Vec::new(), Vec::new());
    for frame in batch.frames() {
        let (batch_id, source_id, frame_num) = batch.frame_ids(frame);
        let Some(&(width, height)) = dims.get(batch_id as usize) else {
            stats.skipped_frames.fetch_add(1, Ordering::Relaxed);
            gst::warning!(
                CAT,
                imp = element,
                "frame {frame_num} of source {source_id} has batch_id {batch_id}, but the batch holds {} frames: \
                 skipped",
                dims.len()
            );
            continue;
        };
        for object in batch.objects(frame) {
            if !settings.class_ids.contains(&object.class_id()) || object.confidence() < settings.min_confidence {
                continue;
            }
            let area = match clip_rect(&object.rect(), width, height) {
                Ok(Some(area)) => area,
                Ok(None) => {
                    gst::trace!(CAT, imp = element, "object outside frame {frame_num} of source {source_id}");
                    continue;
                }
                Err(e) => {
                    stats.skipped_boxes.fetch_add(1, Ordering::Relaxed);
                    gst::warning!(
                        CAT,
                        imp = element,
                        "object {:?} of class {} in frame {frame_num} of source {source_id}: {e}: skipped",
                        object.track_id(),
                        object.class_id()
                    );
                    continue;
                }
            };
            stats.objects.fetch_add(1, Ordering::Relaxed);
            let track = object.track_id().map(|t| (source_id, t));
            objects.push(object);
            candidates.push(Some(Candidate { area, track, surface: batch_id as usize }));
        }
    }
    (objects, candidates)
}

/// `engine=nvinfer`: the embeddings of the `Fresh` plans (in their order), read from the nvinfer tensor meta of
/// their objects (`objects` and `plans` are parallel) and L2-normalised with `normalize`; `None` for an object
/// without one (counted) or with a malformed one (counted, warned).
pub(super) fn nvinfer_vectors(
    element: &super::imp::ReidEmbed,
    objects: &[ObjectRef],
    plans: &[Plan],
    settings: &Settings,
    stats: &NvdsStats,
) -> Vec<Option<Vec<f32>>> {
    objects
        .iter()
        .zip(plans)
        .filter(|(_, plan)| matches!(plan, Plan::Fresh(_)))
        .map(|(object, _)| match object_embedding(object, settings.nvinfer_gie_id) {
            Ok(Some(mut vector)) => {
                if settings.normalize {
                    reid_eval::distance::l2_normalize(&mut vector);
                }
                Some(vector)
            }
            Ok(None) => {
                stats.missing_tensors.fetch_add(1, Ordering::Relaxed);
                gst::debug!(CAT, imp = element, "object {:?} carries no nvinfer tensor meta", object.track_id());
                None
            }
            Err(e) => {
                stats.bad_tensors.fetch_add(1, Ordering::Relaxed);
                gst::warning!(CAT, imp = element, "object {:?}: {e}: not embedded", object.track_id());
                None
            }
        })
        .collect()
}

/// Attaches the `resolved` embeddings to their `objects` under the batch lock; returns how many were attached.
pub(super) fn attach_objects(
    batch: &Batch,
    objects: &[ObjectRef],
    resolved: Vec<Option<(Vec<f32>, u32)>>,
    tag: &Tag<'_>,
    settings: &Settings,
) -> usize {
    let lock = batch.lock();
    let mut attached = 0;
    for (object, entry) in objects.iter().zip(resolved) {
        if let Some((vector, age)) = entry {
            let camera = settings.cameras.name(object.source_id());
            attached += usize::from(attach_embedding(batch, &lock, object, &tag.embedding(vector, age), &camera));
        }
    }
    attached
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(left: f32, top: f32, width: f32, height: f32) -> NvOSD_RectParams {
        NvOSD_RectParams { left, top, width, height, ..Default::default() }
    }

    #[test]
    fn boxes_are_clipped_rounded_or_refused() {
        let b = |x, y, width, height| Ok(Some(PixelBox { x, y, width, height }));
        assert_eq!(clip_rect(&rect(10.0, 20.0, 30.0, 40.0), 100, 100), b(10, 20, 30, 40));
        assert_eq!(clip_rect(&rect(-5.0, 4.0, 20.0, 30.0), 100, 100), b(0, 4, 15, 30));
        assert_eq!(clip_rect(&rect(90.4, 80.6, 20.0, 30.0), 100, 100), b(90, 81, 10, 19));
        assert_eq!(clip_rect(&rect(200.0, 0.0, 20.0, 30.0), 100, 100), Ok(None));
        for bad in [
            rect(1.0, 1.0, 0.0, 5.0),
            rect(1.0, 1.0, 5.0, -3.0),
            rect(f32::NAN, 1.0, 5.0, 5.0),
            rect(1.0, f32::INFINITY, 5.0, 5.0),
        ] {
            assert!(clip_rect(&bad, 100, 100).is_err(), "{bad:?}");
        }
    }
}
