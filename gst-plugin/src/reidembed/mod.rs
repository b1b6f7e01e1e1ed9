//! `reidembed`: an in-place video filter that embeds every person box of each frame.
//!
//! For every `GstVideoRegionOfInterestMeta` whose type is `roi-type`, the box is clipped to the frame, boxes
//! smaller than `min-size` either way are skipped, the crop is converted to RGB (see [`crate::frame`]; YUV with the
//! matrix and range of the caps' colorimetry, see [`crate::colorimetry`]),
//! preprocessed by the runtime's one preprocessing for the model
//! ([`reid_runtime::engine::preprocess::preprocess_image`]: bilinear resize, scale, mean/std from the model's
//! metadata), run through the engine `batch-size` crops at a time, L2-normalised when
//! `normalize` is set and the model does not already, and attached to the ROI as a `reid-embedding` parameter
//! structure (see [`crate::params`]). The video data passes through untouched.
//!
//! **NvDs mode** (see [`crate::deepstream`]): when DeepStream's libraries load and the buffer carries its batch
//! meta, the boxes come from the `NvDsObjectMeta`s instead (`class-ids`, `min-confidence`; the tracker's
//! `object_id` per `source_id` is the track; each frame meta's `batch_id` selects its surface), and each
//! embedding goes back on its object as a `REID.EMBEDDING` user meta (`nvds.rs`). With the libraries loaded the
//! element also accepts `video/x-raw(memory:NVMM)` RGBA and NV12, mapping the `NvBufSurface` for the CPU.
//!
//! With `interval` N > 1, a tracked object (see [`crate::params::track_id`]) is re-embedded only every N frames;
//! in between, its last embedding is attached again with `age` > 0.
//!
//! The element measures its own cost: read-only `stats-*` properties (see [`STATS_PROPERTIES`]) accumulate,
//! since the element started, the frames and crops it handled and the nanoseconds spent in each stage, so the
//! cost of the element (colour conversion, crop, resize, normalisation, metas) can be compared with the engine's
//! in the same run.
//!
//! Files: `imp.rs` (the GObject: properties, state changes, caps, the per-frame driver), `properties.rs` and
//! `settings.rs` (what the properties say), `open.rs` (model and engine), then one file per step of a frame:
//! `plan.rs` (the candidate boxes of ROI metas; skip, embed or reuse each) -> `crop.rs` (crop, convert,
//! preprocess) -> `run.rs` (engine batches) -> `attach.rs` (track memory, parameter structures on the ROIs);
//! `nvds.rs` (NvDs mode: candidates from DeepStream objects, user metas on them); `stats.rs` (the `stats-*`
//! counters).

mod attach;
mod crop;
mod imp;
mod nvds;
mod open;
mod plan;
mod properties;
mod run;
mod settings;
mod stats;

pub use nvds::{NVDS_PROPERTIES, NvdsStats};
pub use stats::{STATS_PROPERTIES, Stats};

use crate::frame::{Colour, FrameView, PixelLayout};
use gst::glib;
use gst::prelude::*;
use gst_video::prelude::*;
use std::sync::LazyLock;

pub(crate) static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("reidembed", gst::DebugColorFlags::empty(), Some("ReID embedding of person boxes"))
});

/// Default `roi-type`.
pub const DEFAULT_ROI_TYPE: &str = "person";
/// Default `batch-size`.
pub const DEFAULT_BATCH_SIZE: u32 = 16;
/// Default `min-size` in pixels.
pub const DEFAULT_MIN_SIZE: u32 = 16;
/// Default `class-ids`: class 0, person in NVIDIA's PeopleNet (labels person, bag, face).
pub const DEFAULT_CLASS_IDS: &[i32] = &[0];
/// Default `min-confidence`: every object, tracker-only ones (confidence -0.1) included.
pub const DEFAULT_MIN_CONFIDENCE: f32 = -1.0;
/// `engine=nvinfer`: read the embeddings DeepStream's nvinfer computed (its output tensor metas on the objects)
/// instead of running a model.
pub const NVINFER_ENGINE: &str = "nvinfer";
/// Default `engine`.
pub const DEFAULT_ENGINE: &str = "auto";

/// The raw formats `reidembed` accepts.
pub const FORMATS: [gst_video::VideoFormat; 5] = [
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Nv12,
    gst_video::VideoFormat::I420,
];

/// The formats `reidembed` accepts in NVMM memory (`video/x-raw(memory:NVMM)`, offered only when DeepStream's
/// libraries load).
pub const NVMM_FORMATS: [gst_video::VideoFormat; 2] = [gst_video::VideoFormat::Rgba, gst_video::VideoFormat::Nv12];

/// The layout of a negotiated format, `None` for formats the element does not read.
pub fn layout_of(format: gst_video::VideoFormat) -> Option<PixelLayout> {
    match format {
        gst_video::VideoFormat::Rgb => Some(PixelLayout::Rgb),
        gst_video::VideoFormat::Rgba => Some(PixelLayout::Rgba),
        gst_video::VideoFormat::Bgrx => Some(PixelLayout::Bgrx),
        gst_video::VideoFormat::Nv12 => Some(PixelLayout::Nv12),
        gst_video::VideoFormat::I420 => Some(PixelLayout::I420),
        _ => None,
    }
}

/// The planes of a mapped GStreamer video frame as a [`FrameView`] whose YUV converts as `colour` (the caps'
/// colorimetry, resolved once per caps by [`crate::colorimetry::resolve_info`]).
pub fn frame_view<'a>(
    frame: &'a gst_video::VideoFrameRef<&'a gst::BufferRef>,
    layout: PixelLayout,
    colour: Colour,
) -> Result<FrameView<'a>, String> {
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    let mut strides = [0usize; 3];
    for plane in 0..layout.planes() {
        planes[plane] = frame.plane_data(plane as u32).map_err(|e| format!("plane {plane}: {e}"))?;
        strides[plane] =
            usize::try_from(frame.plane_stride()[plane]).map_err(|_| format!("plane {plane} has a negative stride"))?;
    }
    let view = FrameView { layout, width: frame.width(), height: frame.height(), planes, strides, colour };
    view.validate().map_err(|e| e.to_string())?;
    Ok(view)
}

glib::wrapper! {
    /// The `reidembed` element (see the module documentation).
    pub struct ReidEmbed(ObjectSubclass<imp::ReidEmbed>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `reidembed` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "reidembed", gst::Rank::NONE, ReidEmbed::static_type())
}
