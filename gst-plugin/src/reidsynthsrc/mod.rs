//! `reidsynthsrc`: a (by default live) source of synthetic people walking through a camera's scene, drawn by
//! `reid-runtime`'s person renderer (the generator of `reid dataset synth`), with one `person`
//! `GstVideoRegionOfInterestMeta` per visible person carrying its ground truth (a `tracking` parameter
//! structure with `track-id` and `identity`, see [`crate::params`]; the ROI's `id` is the track id too).
//!
//! Identities come from `Identity::new(seed, pid)` and the camera's conditions from `Camera::new(seed, id)`, as
//! in `reid dataset synth --seed`: two sources with the same `seed` and `persons` but different `camera` show the
//! same people under another camera's lighting, background and viewpoints. Person `pid` (1..=`persons`) walks
//! through the scene again and again; each walk is a new track (`track-id = walk * persons + pid`).

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gst_video::prelude::*;
use image::RgbImage;
use std::sync::{LazyLock, Mutex};

use crate::frame::clamp_box;
use crate::params;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("reidsynthsrc", gst::DebugColorFlags::empty(), Some("Synthetic people source"))
});

/// Default frame width.
pub const DEFAULT_WIDTH: u32 = 640;
/// Default frame height.
pub const DEFAULT_HEIGHT: u32 = 360;
/// Default frames per second.
pub const DEFAULT_FPS: u32 = 15;
/// Default camera name.
pub const DEFAULT_CAMERA: &str = "cam1";
/// Default number of people.
pub const DEFAULT_PERSONS: u32 = 4;

glib::wrapper! {
    /// The `reidsynthsrc` element (see the module documentation).
    pub struct ReidSynthSrc(ObjectSubclass<imp::ReidSynthSrc>) @extends gst_base::PushSrc, gst_base::BaseSrc, gst::Element, gst::Object;
}

/// Registers `reidsynthsrc` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "reidsynthsrc", gst::Rank::NONE, ReidSynthSrc::static_type())
}

mod imp;
mod scene;

pub use scene::{Placement, Scene, camera_id};
