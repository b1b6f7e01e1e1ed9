//! The properties of `reidembed`: their specs (names, ranges, defaults, blurbs), and reading and writing them on
//! [`Settings`].

use super::nvds::NVDS_PROPERTIES;
use super::settings::Settings;
use super::settings::parse_class_ids;
use super::{
    DEFAULT_BATCH_SIZE, DEFAULT_ENGINE, DEFAULT_MIN_CONFIDENCE, DEFAULT_MIN_SIZE, DEFAULT_ROI_TYPE, NVINFER_ENGINE,
    STATS_PROPERTIES,
};
use crate::deepstream::Cameras;
use gst::glib;
use gst::prelude::*;
use reid_runtime::engine::EngineKind;
use std::path::PathBuf;

/// Every property of the element: the settings, `engine-description` and the read-only `stats-*` counters.
pub(super) fn specs() -> Vec<glib::ParamSpec> {
    vec![
        glib::ParamSpecString::builder("model")
            .nick("Model")
            .blurb(
                "Path to the ReID ONNX model (input N x 3 x H x W, output N x D, reid.* preprocessing \
                 metadata); opened when the element starts",
            )
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("model-id")
            .nick("Model id")
            .blurb("Model id written into each embedding (default: the model's file name)")
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("engine")
            .nick("Engine")
            .blurb(
                "Inference engine: auto (ONNX Runtime CPU when its library is found, else tract), \
                 tract, ort-cpu, cuda, tensorrt (ONNX Runtime engines need a build with feature `ort`), or \
                 nvinfer (DeepStream: read the output tensor nvinfer attached to each object, configured with \
                 `reid deepstream config`; no model property needed)",
            )
            .default_value(Some(DEFAULT_ENGINE))
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("roi-type")
            .nick("ROI type")
            .blurb("Only region-of-interest metas of this type are embedded")
            .default_value(Some(DEFAULT_ROI_TYPE))
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("batch-size")
            .nick("Batch size")
            .blurb("Crops per engine call (a frame's crops run in batches of at most this many)")
            .minimum(1)
            .maximum(1024)
            .default_value(DEFAULT_BATCH_SIZE)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("min-size")
            .nick("Minimum size")
            .blurb(
                "Boxes narrower or lower than this many pixels (after clipping to the frame) are skipped",
            )
            .maximum(65_535)
            .default_value(DEFAULT_MIN_SIZE)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("interval")
            .nick("Interval")
            .blurb(
                "Re-embed a tracked object (ROI with a `tracking` param carrying `track-id`) only every \
                 N frames; in between its last embedding is attached again with age > 0",
            )
            .minimum(1)
            .maximum(100_000)
            .default_value(1)
            .mutable_playing()
            .build(),
        glib::ParamSpecBoolean::builder("normalize")
            .nick("Normalize")
            .blurb("L2-normalise the embeddings (unless the model's output already is)")
            .default_value(true)
            .mutable_playing()
            .build(),
        glib::ParamSpecBoolean::builder("roi-id-is-track")
            .nick("ROI id is the track id")
            .blurb(
                "Take the ROI meta's own `id` field as the track id when it has no `tracking` param \
                 (for trackers that write the id there)",
            )
            .default_value(false)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("input-width")
            .nick("Input width")
            .blurb(
                "Model input width for models without reid.* preprocessing metadata (0: from the model; \
                 set with input-height, it overrides the metadata)",
            )
            .maximum(8192)
            .default_value(0)
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("input-height")
            .nick("Input height")
            .blurb("Model input height (see input-width)")
            .maximum(8192)
            .default_value(0)
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("pixel-mean")
            .nick("Pixel mean")
            .blurb(
                "Per-channel mean of 0..1 pixels in the model's channel order, \"a,b,c\", with input-width/height (default ImageNet's \
                 0.485,0.456,0.406)",
            )
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("pixel-std")
            .nick("Pixel std")
            .blurb(
                "Per-channel standard deviation in the model's channel order, \"a,b,c\", with input-width/height (default ImageNet's \
                 0.229,0.224,0.225)",
            )
            .mutable_ready()
            .build(),
        glib::ParamSpecBoolean::builder("bgr")
            .nick("BGR model")
            .blurb("With input-width/height: the model takes blue, green, red channels")
            .default_value(false)
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("ort-library")
            .nick("ONNX Runtime library")
            .blurb("Path to libonnxruntime.so for the ONNX Runtime engines (default: searched)")
            .mutable_ready()
            .build(),
        glib::ParamSpecUInt::builder("device-id")
            .nick("GPU index")
            .blurb("GPU index for the cuda and tensorrt engines")
            .default_value(0)
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("class-ids")
            .nick("Class ids")
            .blurb(
                "NvDs mode: comma-separated detector class ids to embed (default 0: person in NVIDIA's PeopleNet, \
                 whose labels are person, bag, face)",
            )
            .default_value(Some("0"))
            .mutable_playing()
            .build(),
        glib::ParamSpecFloat::builder("min-confidence")
            .nick("Minimum confidence")
            .blurb(
                "NvDs mode: objects with a lower detector confidence are skipped (default -1 keeps all, \
                 including objects only the tracker reported, whose confidence DeepStream sets to -0.1)",
            )
            .minimum(-1.0)
            .maximum(f32::MAX)
            .default_value(DEFAULT_MIN_CONFIDENCE)
            .mutable_playing()
            .build(),
        glib::ParamSpecString::builder("cameras")
            .nick("Cameras")
            .blurb(
                "NvDs mode: camera names of DeepStream source ids, \"0=gate,1=lobby\" (default cam<source_id>), \
                 recorded in each REID.EMBEDDING user meta",
            )
            .mutable_playing()
            .build(),
        glib::ParamSpecInt::builder("sie-camera")
            .nick("SIE camera")
            .blurb(
                "Camera id fed to a model with a camera input (TransReID's side information embedding, \
                 0-based, below the model's reid.sie_cameras): -1 takes each frame's DeepStream source id \
                 in NvDs mode and 0 otherwise; models without a camera input ignore it",
            )
            .minimum(-1)
            .maximum(65_535)
            .default_value(-1)
            .mutable_playing()
            .build(),
        glib::ParamSpecUInt::builder("nvinfer-gie-id")
            .nick("nvinfer gie id")
            .blurb(
                "engine=nvinfer: read the tensor metas of the nvinfer instance with this gie-unique-id \
                 (0: the first tensor meta of any instance)",
            )
            .default_value(0)
            .mutable_ready()
            .build(),
        glib::ParamSpecString::builder("deepstream")
            .nick("DeepStream")
            .blurb("The DeepStream version and libraries found, or why NvDs mode and NVMM input are off")
            .read_only()
            .build(),
        glib::ParamSpecString::builder("engine-description")
            .nick("Engine description")
            .blurb("What runs the model (set once the element has started)")
            .read_only()
            .build(),
    ]
    .into_iter()
    .chain(NVDS_PROPERTIES.iter().map(|name| {
        let blurb = match *name {
            "nvds-objects" => "NvDs mode: objects of the chosen classes and confidence with a usable box",
            "nvds-skipped-boxes" => "NvDs mode: objects skipped for a zero, negative or non-finite box",
            "nvds-missing-tensors" => "engine=nvinfer: objects to embed that carried no nvinfer tensor meta",
            "nvds-bad-tensors" => "engine=nvinfer: nvinfer tensor metas refused (bad counts, type or pointers)",
            _ => "NvDs mode: frame metas skipped because their batch_id lies beyond the batch",
        };
        glib::ParamSpecUInt64::builder(name).nick(name).blurb(blurb).read_only().build()
    }))
    .chain(STATS_PROPERTIES.iter().map(|name| {
        let blurb = match *name {
            "stats-frames" => "Frames handled since the element started",
            "stats-crops" => "Crops embedded since the element started",
            "stats-total-ns" => "Wall nanoseconds in the element's per-frame work, engine included",
            "stats-engine-ns" => "Wall nanoseconds in the engine's batch calls",
            "stats-prepare-ns" => "Wall nanoseconds preparing the engine's batches (crops in parallel)",
            "stats-convert-ns" => "Nanoseconds cropping and converting to RGB (summed over threads)",
            _ => "Nanoseconds resizing and normalising crops (summed over threads)",
        };
        glib::ParamSpecUInt64::builder(name).nick(name).blurb(blurb).read_only().build()
    }))
    .collect()
}

/// Writes property `name`; `Err` carries a warning for the log (an unknown property, an engine name that will
/// not start).
pub(super) fn set(s: &mut Settings, name: &str, value: &glib::Value) -> Result<(), String> {
    let string = || value.get::<Option<String>>().ok().flatten().filter(|v| !v.is_empty());
    match name {
        "model" => s.model = string().map(PathBuf::from),
        "model-id" => s.model_id = string(),
        "engine" => {
            let engine = string().unwrap_or_else(|| DEFAULT_ENGINE.to_owned());
            let parsed = if engine == NVINFER_ENGINE { Ok(()) } else { engine.parse::<EngineKind>().map(drop) };
            s.engine = engine;
            parsed.map_err(|e| format!("{e}; the element will not start"))?;
        }
        "roi-type" => s.roi_type = string().unwrap_or_else(|| DEFAULT_ROI_TYPE.to_owned()),
        "batch-size" => s.batch_size = value.get().unwrap_or(DEFAULT_BATCH_SIZE),
        "min-size" => s.min_size = value.get().unwrap_or(DEFAULT_MIN_SIZE),
        "interval" => s.interval = value.get().unwrap_or(1),
        "normalize" => s.normalize = value.get().unwrap_or(true),
        "roi-id-is-track" => s.roi_id_is_track = value.get().unwrap_or(false),
        "input-width" => s.input_width = value.get().unwrap_or(0),
        "input-height" => s.input_height = value.get().unwrap_or(0),
        "pixel-mean" => s.pixel_mean = string(),
        "pixel-std" => s.pixel_std = string(),
        "bgr" => s.bgr = value.get().unwrap_or(false),
        "ort-library" => s.ort_library = string().map(PathBuf::from),
        "device-id" => s.device_id = value.get().unwrap_or(0),
        "class-ids" => s.class_ids = parse_class_ids(&string().unwrap_or_else(|| "0".to_owned()))?,
        "min-confidence" => s.min_confidence = value.get().unwrap_or(DEFAULT_MIN_CONFIDENCE),
        "cameras" => s.cameras = Cameras::parse(&string().unwrap_or_default())?,
        "nvinfer-gie-id" => s.nvinfer_gie_id = value.get().unwrap_or(0),
        "sie-camera" => s.sie_camera = value.get().unwrap_or(-1),
        other => return Err(format!("unknown property {other}")),
    }
    Ok(())
}

/// Reads the settings property `name` (`engine-description` and `stats-*` are the element's own).
pub(super) fn get(s: &Settings, name: &str) -> glib::Value {
    match name {
        "model" => s.model.as_ref().map(|p| p.display().to_string()).to_value(),
        "model-id" => s.model_id.to_value(),
        "engine" => s.engine.to_value(),
        "roi-type" => s.roi_type.to_value(),
        "batch-size" => s.batch_size.to_value(),
        "min-size" => s.min_size.to_value(),
        "interval" => s.interval.to_value(),
        "normalize" => s.normalize.to_value(),
        "roi-id-is-track" => s.roi_id_is_track.to_value(),
        "input-width" => s.input_width.to_value(),
        "input-height" => s.input_height.to_value(),
        "pixel-mean" => s.pixel_mean.to_value(),
        "pixel-std" => s.pixel_std.to_value(),
        "bgr" => s.bgr.to_value(),
        "ort-library" => s.ort_library.as_ref().map(|p| p.display().to_string()).to_value(),
        "device-id" => s.device_id.to_value(),
        "class-ids" => s.class_ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",").to_value(),
        "min-confidence" => s.min_confidence.to_value(),
        "cameras" => s.cameras.to_text().to_value(),
        "nvinfer-gie-id" => s.nvinfer_gie_id.to_value(),
        "sie-camera" => s.sie_camera.to_value(),
        _ => None::<String>.to_value(),
    }
}
