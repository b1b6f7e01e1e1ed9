//! GStreamer plugin `reid`: person re-identification on live video.
//!
//! One folder per element, as gst-plugins-rs lays them out (`mod.rs`: the public type, defaults and helpers;
//! `imp.rs`: the GObject implementation; further files for the element's own steps):
//!
//! - `reidembed` ([`reidembed`]): crops each person region-of-interest of a frame, batches the crops through a ReID
//!   engine (tract, or ONNX Runtime CPU/CUDA/TensorRT with feature `ort`) and attaches the embedding to the ROI
//!   meta.
//! - `reidsynthsrc` ([`reidsynthsrc`]): a live source of synthetic people walking through a scene, with a
//!   ground-truth person ROI (track id and identity) per visible person: pipelines run without a detector.
//! - `reidpublish` ([`reidpublish`], feature `publish`): publishes each frame's embeddings as JSON over Zenoh to
//!   `<prefix>/embeddings/<camera>`, where the gallery ingests them.
//!
//! DeepStream ([`deepstream`]): with NVIDIA's libraries present at run time, `reidembed` reads boxes from and
//! writes embeddings to DeepStream's batch metadata and reads NVMM frames; `reidpublish` publishes from it.
//!
//! Shared by the elements: [`frame`] crops and converts frames (the runtime's `preprocess_image` turns crops into
//! model inputs), [`colorimetry`] the YUV matrix and range a stream's caps give, [`params`] the ROI parameter structures (`reid-embedding`, `tracking`) that the elements and
//! downstream code share, `lock` the mutex helper. Requires GStreamer 1.14 or newer (`GstVideoRegionOfInterestMeta` parameters).

pub mod colorimetry;
pub mod deepstream;
pub mod frame;
mod lock;
pub mod params;
pub mod reidembed;
#[cfg(feature = "publish")]
pub mod reidpublish;
pub mod reidsynthsrc;

use gst::glib;

/// Registers every element of the plugin.
pub fn register_elements(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    reidembed::register(plugin)?;
    reidsynthsrc::register(plugin)?;
    #[cfg(feature = "publish")]
    reidpublish::register(plugin)?;
    Ok(())
}

/// Registers the plugin statically (without loading the shared library), as tests and applications that link
/// the crate do: `gst::init()` first, then this.
pub fn register_static() -> Result<(), glib::BoolError> {
    plugin::plugin_register_static()
}

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    register_elements(plugin)
}

/// The plugin descriptor (`gst_plugin_reid_get_desc`, exported from the shared library).
mod plugin {
    use super::plugin_init;

    gst::plugin_define!(
        reid,
        env!("CARGO_PKG_DESCRIPTION"),
        plugin_init,
        env!("CARGO_PKG_VERSION"),
        "Apache-2.0",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_REPOSITORY")
    );
}
