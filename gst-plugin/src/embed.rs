//! `reidembed`: an in-place video filter that embeds every person box of each frame.
//!
//! For every `GstVideoRegionOfInterestMeta` whose type is `roi-type`, the box is clipped to the frame, boxes
//! smaller than `min-size` either way are skipped, the crop is converted to RGB (see [`crate::frame`]),
//! preprocessed by the runtime's one preprocessing for the model
//! ([`reid_runtime::engine::preprocess::preprocess_image`]: bilinear resize, scale, mean/std from the model's
//! metadata), run through the engine `batch-size` crops at a time, L2-normalised when
//! `normalize` is set and the model does not already, and attached to the ROI as a `reid-embedding` parameter
//! structure (see [`crate::params`]). The video data passes through untouched.
//!
//! With `interval` N > 1, a tracked object (see [`crate::params::track_id`]) is re-embedded only every N frames;
//! in between, its last embedding is attached again with `age` > 0.
//!
//! The element measures its own cost: read-only `stats-*` properties (see [`STATS_PROPERTIES`]) accumulate,
//! since the element started, the frames and crops it handled and the nanoseconds spent in each stage, so the
//! cost of the element (colour conversion, crop, resize, normalisation, metas) can be compared with the engine's
//! in the same run.

use crate::frame::{FrameView, PixelBox, PixelLayout, clamp_box};
use crate::params::{self, Embedding};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gst_video::prelude::*;
use rayon::prelude::*;
use reid_runtime::engine::ort::{BatchProfile, OrtOptions, TensorRtOptions};
use reid_runtime::engine::{ColorOrder, Engine, EngineError, EngineKind, PreprocessConfig, open_engine};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("reidembed", gst::DebugColorFlags::empty(), Some("ReID embedding of person boxes"))
});

/// Default `roi-type`.
pub const DEFAULT_ROI_TYPE: &str = "person";
/// Default `batch-size`.
pub const DEFAULT_BATCH_SIZE: u32 = 16;
/// Default `min-size` in pixels.
pub const DEFAULT_MIN_SIZE: u32 = 16;
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

/// The planes of a mapped GStreamer video frame as a [`FrameView`].
pub fn frame_view<'a>(
    frame: &'a gst_video::VideoFrameRef<&'a gst::BufferRef>,
    layout: PixelLayout,
) -> Result<FrameView<'a>, String> {
    let mut planes: [&[u8]; 3] = [&[], &[], &[]];
    let mut strides = [0usize; 3];
    for plane in 0..layout.planes() {
        planes[plane] = frame.plane_data(plane as u32).map_err(|e| format!("plane {plane}: {e}"))?;
        strides[plane] =
            usize::try_from(frame.plane_stride()[plane]).map_err(|_| format!("plane {plane} has a negative stride"))?;
    }
    let view = FrameView { layout, width: frame.width(), height: frame.height(), planes, strides };
    view.validate().map_err(|e| e.to_string())?;
    Ok(view)
}

/// The read-only statistics properties of `reidembed`: counters, then nanoseconds accumulated since the element
/// last started (all `guint64`).
///
/// | property | what it counts |
/// | --- | --- |
/// | `stats-frames` | frames handled |
/// | `stats-crops` | crops embedded (a reused embedding is not a crop) |
/// | `stats-total-ns` | wall time inside the element's per-frame function, everything included |
/// | `stats-engine-ns` | wall time inside the engine's batch calls |
/// | `stats-prepare-ns` | wall time preparing the engine's batches (crops prepared in parallel, then joined) |
/// | `stats-convert-ns` | time cropping and converting to RGB, summed over the worker threads |
/// | `stats-resize-ns` | time resizing, scaling and normalising the crops, summed over the worker threads |
///
/// The element's own cost is `stats-total-ns - stats-engine-ns` (wall time: crops are prepared in parallel, so
/// the two summed CPU times may add up to more).
pub const STATS_PROPERTIES: [&str; 7] = [
    "stats-frames",
    "stats-crops",
    "stats-total-ns",
    "stats-engine-ns",
    "stats-prepare-ns",
    "stats-convert-ns",
    "stats-resize-ns",
];

/// The per-stage counters behind the `stats-*` properties.
#[derive(Debug, Default)]
pub struct Stats {
    /// Frames handled.
    pub frames: AtomicU64,
    /// Crops embedded.
    pub crops: AtomicU64,
    /// Wall nanoseconds in the per-frame function.
    pub total_ns: AtomicU64,
    /// Wall nanoseconds in engine calls.
    pub engine_ns: AtomicU64,
    /// Wall nanoseconds preparing batches.
    pub prepare_ns: AtomicU64,
    /// Nanoseconds cropping and converting, summed over threads.
    pub convert_ns: AtomicU64,
    /// Nanoseconds resizing and normalising, summed over threads.
    pub resize_ns: AtomicU64,
}

impl Stats {
    /// Sets every counter to zero.
    pub fn reset(&self) {
        for c in self.counters() {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// The counters in the order of [`STATS_PROPERTIES`].
    fn counters(&self) -> [&AtomicU64; 7] {
        [
            &self.frames,
            &self.crops,
            &self.total_ns,
            &self.engine_ns,
            &self.prepare_ns,
            &self.convert_ns,
            &self.resize_ns,
        ]
    }

    /// The value of the `stats-*` property `name`, `None` for another name.
    pub fn get(&self, name: &str) -> Option<u64> {
        let i = STATS_PROPERTIES.iter().position(|p| *p == name)?;
        Some(self.counters()[i].load(Ordering::Relaxed))
    }
}

/// Nanoseconds since `start`, saturating.
fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

glib::wrapper! {
    /// The `reidembed` element (see the module documentation).
    pub struct ReidEmbed(ObjectSubclass<imp::ReidEmbed>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

/// Registers `reidembed` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "reidembed", gst::Rank::NONE, ReidEmbed::static_type())
}

mod imp {
    use super::*;

    #[derive(Clone, Debug)]
    struct Settings {
        model: Option<PathBuf>,
        model_id: Option<String>,
        engine: String,
        roi_type: String,
        batch_size: u32,
        min_size: u32,
        interval: u32,
        normalize: bool,
        roi_id_is_track: bool,
        input_width: u32,
        input_height: u32,
        pixel_mean: Option<String>,
        pixel_std: Option<String>,
        bgr: bool,
        ort_library: Option<PathBuf>,
        device_id: u32,
    }

    impl Default for Settings {
        fn default() -> Self {
            Settings {
                model: None,
                model_id: None,
                engine: DEFAULT_ENGINE.to_owned(),
                roi_type: DEFAULT_ROI_TYPE.to_owned(),
                batch_size: DEFAULT_BATCH_SIZE,
                min_size: DEFAULT_MIN_SIZE,
                interval: 1,
                normalize: true,
                roi_id_is_track: false,
                input_width: 0,
                input_height: 0,
                pixel_mean: None,
                pixel_std: None,
                bgr: false,
                ort_library: None,
                device_id: 0,
            }
        }
    }

    /// The last embedding of a tracked object.
    struct Track {
        /// Frame it was last seen on.
        last_seen: u64,
        /// Frame its embedding was computed on.
        computed_at: u64,
        /// The embedding.
        vector: Vec<f32>,
    }

    struct State {
        engine: Box<dyn Engine>,
        description: String,
        model_id: String,
        /// Video info and layout of the negotiated caps.
        video: Option<(gst_video::VideoInfo, PixelLayout)>,
        /// Frames seen since start.
        frame: u64,
        tracks: HashMap<u64, Track>,
    }

    /// What happens to one ROI meta of a frame.
    enum Plan {
        /// Not ours, too small or outside the frame.
        Skip,
        /// Embed the box now.
        Fresh { area: PixelBox, track: Option<u64> },
        /// Attach a tracked object's recent embedding again.
        Reuse { vector: Vec<f32>, age: u32 },
    }

    #[derive(Default)]
    pub struct ReidEmbed {
        settings: Mutex<Settings>,
        state: Mutex<Option<State>>,
        stats: Arc<Stats>,
    }

    /// Locks a mutex, recovering the data of a poisoned one (a panic elsewhere must not stop the stream).
    fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ReidEmbed {
        const NAME: &'static str = "GstReidEmbed";
        type Type = super::ReidEmbed;
        type ParentType = gst_base::BaseTransform;
    }

    impl ObjectImpl for ReidEmbed {
        fn properties() -> &'static [glib::ParamSpec] {
            static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
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
                             tract, ort-cpu, cuda, tensorrt (ONNX Runtime engines need a build with feature `ort`)",
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
                    glib::ParamSpecString::builder("engine-description")
                        .nick("Engine description")
                        .blurb("What runs the model (set once the element has started)")
                        .read_only()
                        .build(),
                ]
                .into_iter()
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
            });
            PROPERTIES.as_ref()
        }

        fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
            let mut s = lock(&self.settings);
            let string = || value.get::<Option<String>>().ok().flatten().filter(|v| !v.is_empty());
            match pspec.name() {
                "model" => s.model = string().map(PathBuf::from),
                "model-id" => s.model_id = string(),
                "engine" => {
                    let engine = string().unwrap_or_else(|| DEFAULT_ENGINE.to_owned());
                    if let Err(e) = engine.parse::<EngineKind>() {
                        gst::warning!(CAT, imp = self, "{e}; the element will not start");
                    }
                    s.engine = engine;
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
                other => gst::warning!(CAT, imp = self, "unknown property {other}"),
            }
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            if pspec.name() == "engine-description" {
                return lock(&self.state).as_ref().map(|s| s.description.clone()).to_value();
            }
            if let Some(v) = self.stats.get(pspec.name()) {
                return v.to_value();
            }
            let s = lock(&self.settings);
            match pspec.name() {
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
                _ => None::<String>.to_value(),
            }
        }
    }

    impl GstObjectImpl for ReidEmbed {}

    impl ElementImpl for ReidEmbed {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
                gst::subclass::ElementMetadata::new(
                    "ReID embedder",
                    "Filter/Analyzer/Video",
                    "Crops every person region-of-interest of a frame, runs the crops through a person \
                     re-identification model and attaches the embedding to the ROI meta as a `reid-embedding` \
                     parameter structure",
                    "reid project",
                )
            });
            Some(&*METADATA)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
                let caps = gst_video::VideoCapsBuilder::new().format_list(FORMATS).build();
                [gst::PadDirection::Src, gst::PadDirection::Sink]
                    .into_iter()
                    .map(|direction| {
                        let name = if direction == gst::PadDirection::Src { "src" } else { "sink" };
                        gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps)
                            .expect("static pad template")
                    })
                    .collect()
            });
            TEMPLATES.as_ref()
        }
    }

    /// The GStreamer error for an engine that cannot open.
    fn open_error(e: &EngineError) -> gst::ErrorMessage {
        match e {
            EngineError::Read { .. } => gst::error_msg!(gst::ResourceError::OpenRead, ("reidembed: {e}")),
            EngineError::Library { .. } | EngineError::ProviderUnavailable { .. } | EngineError::Options { .. } => {
                gst::error_msg!(gst::LibraryError::Init, ("reidembed: {e}"))
            }
            EngineError::MissingPreprocess { path, missing } => gst::error_msg!(
                gst::LibraryError::Settings,
                (
                    "reidembed: {} carries no preprocessing metadata (missing `{missing}`): set the input-width and \
                  input-height properties (and pixel-mean, pixel-std unless ImageNet's), or export the model with \
                  `reid export`, which writes the reid.* metadata",
                    path.display()
                )
            ),
            _ => gst::error_msg!(gst::ResourceError::Failed, ("reidembed: {e}")),
        }
    }

    /// Parses `"a,b,c"` into three finite values (positive ones with `positive`).
    fn triple(name: &str, text: &str, positive: bool) -> Result<[f32; 3], String> {
        let values: Vec<f32> = text
            .split(',')
            .map(|v| v.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("property `{name}` = `{text}`: {e}"))?;
        let values: [f32; 3] = values
            .try_into()
            .map_err(|v: Vec<f32>| format!("property `{name}` = `{text}`: {} values, expected 3", v.len()))?;
        if values.iter().any(|v| !v.is_finite() || (positive && *v <= 0.0)) {
            return Err(format!(
                "property `{name}` = `{text}`: values must be finite{}",
                if positive { " and positive" } else { "" }
            ));
        }
        Ok(values)
    }

    /// The preprocessing the properties give, `None` to read it from the model's metadata.
    fn explicit_preprocess(s: &Settings) -> Result<Option<PreprocessConfig>, String> {
        match (s.input_width, s.input_height) {
            (0, 0) => {
                if s.pixel_mean.is_some() || s.pixel_std.is_some() || s.bgr {
                    return Err("pixel-mean, pixel-std and bgr need input-width and input-height".to_owned());
                }
                Ok(None)
            }
            (0, _) | (_, 0) => Err("set both input-width and input-height, or neither".to_owned()),
            (w, h) => {
                let mut cfg = PreprocessConfig::imagenet(h, w);
                if s.bgr {
                    // The mean and std are in the model's channel order: ImageNet's defaults reversed.
                    cfg.color = ColorOrder::Bgr;
                    cfg.mean.reverse();
                    cfg.std.reverse();
                }
                if let Some(mean) = &s.pixel_mean {
                    cfg.mean = triple("pixel-mean", mean, false)?;
                }
                if let Some(std) = &s.pixel_std {
                    cfg.std = triple("pixel-std", std, true)?;
                }
                Ok(Some(cfg))
            }
        }
    }

    impl ReidEmbed {
        /// Opens the engine the settings describe.
        fn open(&self, s: &Settings) -> Result<State, gst::ErrorMessage> {
            let Some(model) = s.model.clone() else {
                return Err(gst::error_msg!(
                    gst::LibraryError::Settings,
                    ("reidembed: no model: set the `model` property to the path of a ReID ONNX model")
                ));
            };
            if !model.is_file() {
                return Err(gst::error_msg!(
                    gst::ResourceError::NotFound,
                    ("reidembed: model file {} does not exist (property `model`)", model.display())
                ));
            }
            let kind: EngineKind = s.engine.parse().map_err(|e: String| {
                gst::error_msg!(gst::LibraryError::Settings, ("reidembed: property `engine`: {e}"))
            })?;
            let ort = OrtOptions {
                device_id: s.device_id,
                library: s.ort_library.clone(),
                tensorrt: TensorRtOptions {
                    profile: BatchProfile::up_to(s.batch_size as usize),
                    ..TensorRtOptions::default()
                },
                ..OrtOptions::default()
            };
            let explicit =
                explicit_preprocess(s).map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("reidembed: {e}")))?;
            let opened = open_engine(kind, &model, explicit.as_ref(), &ort).map_err(|e| open_error(&e))?;
            let model_id = s.model_id.clone().unwrap_or_else(|| {
                model
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| model.display().to_string())
            });
            let info = opened.engine.info();
            gst::info!(
                CAT,
                imp = self,
                "model {} ({}x{} input, {} output) on {}",
                model.display(),
                info.preprocess.width,
                info.preprocess.height,
                info.output_dim.map_or_else(|| "unknown".to_owned(), |d| d.to_string()),
                opened.description
            );
            Ok(State {
                engine: opened.engine,
                description: opened.description,
                model_id,
                video: None,
                frame: 0,
                tracks: HashMap::new(),
            })
        }

        /// Posts a stream error and returns the flow error for it.
        fn stream_error(&self, message: String) -> gst::FlowError {
            gst::element_imp_error!(self, gst::StreamError::Failed, ("reidembed: {message}"));
            gst::FlowError::Error
        }
    }

    impl BaseTransformImpl for ReidEmbed {
        const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
        const PASSTHROUGH_ON_SAME_CAPS: bool = false;
        const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

        fn start(&self) -> Result<(), gst::ErrorMessage> {
            let settings = lock(&self.settings).clone();
            let state = self.open(&settings)?;
            *lock(&self.state) = Some(state);
            self.stats.reset();
            Ok(())
        }

        fn stop(&self) -> Result<(), gst::ErrorMessage> {
            *lock(&self.state) = None;
            Ok(())
        }

        fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
            let info = gst_video::VideoInfo::from_caps(incaps)
                .map_err(|_| gst::loggable_error!(CAT, "cannot parse caps {incaps}"))?;
            let layout = layout_of(info.format())
                .ok_or_else(|| gst::loggable_error!(CAT, "unsupported format {:?}", info.format()))?;
            gst::debug!(CAT, imp = self, "caps {incaps}");
            match lock(&self.state).as_mut() {
                Some(state) => {
                    state.video = Some((info, layout));
                    Ok(())
                }
                None => Err(gst::loggable_error!(CAT, "caps set before the element started")),
            }
        }

        fn transform_ip(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
            let started = Instant::now();
            let result = self.embed_frame(buf);
            self.stats.frames.fetch_add(1, Ordering::Relaxed);
            self.stats.total_ns.fetch_add(nanos_since(started), Ordering::Relaxed);
            result
        }
    }

    impl ReidEmbed {
        /// The per-frame work of `transform_ip`: plan, crop, embed, attach.
        fn embed_frame(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
            let settings = lock(&self.settings).clone();
            let mut guard = lock(&self.state);
            let Some(state) = guard.as_mut() else {
                return Err(self.stream_error("buffer before the element started".to_owned()));
            };
            let Some((info, layout)) = state.video.clone() else {
                gst::element_imp_error!(self, gst::CoreError::Negotiation, ("reidembed: buffer before caps"));
                return Err(gst::FlowError::NotNegotiated);
            };
            state.frame += 1;
            let frame_no = state.frame;
            let interval = u64::from(settings.interval.max(1));

            let mut plans = Vec::new();
            for roi in buf.iter_meta::<VideoRegionOfInterestMeta>() {
                if roi.roi_type() != settings.roi_type {
                    plans.push(Plan::Skip);
                    continue;
                }
                let Some(area) = clamp_box(roi.rect(), info.width(), info.height()) else {
                    gst::trace!(CAT, imp = self, "ROI {:?} is outside the frame or empty", roi.rect());
                    plans.push(Plan::Skip);
                    continue;
                };
                if area.width < settings.min_size || area.height < settings.min_size {
                    gst::trace!(CAT, imp = self, "ROI {area:?} is smaller than min-size");
                    plans.push(Plan::Skip);
                    continue;
                }
                let track = params::track_id(&roi, settings.roi_id_is_track);
                let reuse = track.filter(|_| interval > 1).and_then(|t| state.tracks.get_mut(&t)).and_then(|entry| {
                    entry.last_seen = frame_no;
                    let age = frame_no - entry.computed_at;
                    (age < interval).then(|| Plan::Reuse {
                        vector: entry.vector.clone(),
                        age: u32::try_from(age).unwrap_or(u32::MAX),
                    })
                });
                plans.push(reuse.unwrap_or(Plan::Fresh { area, track }));
            }

            let fresh: Vec<PixelBox> = plans
                .iter()
                .filter_map(|p| match p {
                    Plan::Fresh { area, .. } => Some(*area),
                    _ => None,
                })
                .collect();
            let normalized = state.engine.info().l2_normalized || settings.normalize;
            let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(fresh.len());
            if !fresh.is_empty() {
                let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &info)
                    .map_err(|e| self.stream_error(format!("cannot map the video frame: {e}")))?;
                let view =
                    frame_view(&frame, layout).map_err(|e| self.stream_error(format!("bad video frame: {e}")))?;
                let engine = state.engine.as_ref();
                let cfg = &engine.info().preprocess;
                let stats = self.stats.as_ref();
                for chunk in fresh.chunks(settings.batch_size.max(1) as usize) {
                    let t_prepare = Instant::now();
                    let inputs: Vec<Vec<f32>> = chunk
                        .par_iter()
                        .map(|area| {
                            let t0 = Instant::now();
                            let crop = view.crop_rgb(*area);
                            let t1 = Instant::now();
                            let input = reid_runtime::engine::preprocess::preprocess_image(&crop, cfg);
                            let convert = u64::try_from((t1 - t0).as_nanos()).unwrap_or(u64::MAX);
                            stats.convert_ns.fetch_add(convert, Ordering::Relaxed);
                            stats.resize_ns.fetch_add(nanos_since(t1), Ordering::Relaxed);
                            input
                        })
                        .collect();
                    let batch = inputs.concat();
                    stats.prepare_ns.fetch_add(nanos_since(t_prepare), Ordering::Relaxed);
                    let t_engine = Instant::now();
                    let out = engine.embed_batch(&batch, chunk.len());
                    stats.engine_ns.fetch_add(nanos_since(t_engine), Ordering::Relaxed);
                    let out =
                        out.map_err(|e| self.stream_error(format!("embedding {} crops failed: {e}", chunk.len())))?;
                    stats.crops.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    let dim = out.len() / chunk.len();
                    for row in out.chunks_exact(dim.max(1)) {
                        let mut v = row.to_vec();
                        if settings.normalize && !engine.info().l2_normalized {
                            reid_eval::distance::l2_normalize(&mut v);
                        }
                        vectors.push(v);
                    }
                }
                gst::trace!(CAT, imp = self, "frame {frame_no}: {} crops embedded", fresh.len());
            }

            let mut vectors = vectors.into_iter();
            let mut plans = plans.into_iter();
            for mut roi in buf.iter_meta_mut::<VideoRegionOfInterestMeta>() {
                let Some(plan) = plans.next() else { break };
                let (vector, age) = match plan {
                    Plan::Skip => continue,
                    Plan::Reuse { vector, age } => (vector, age),
                    Plan::Fresh { track, .. } => {
                        let Some(vector) = vectors.next() else { break };
                        if let Some(t) = track.filter(|_| interval > 1) {
                            state.tracks.insert(
                                t,
                                Track { last_seen: frame_no, computed_at: frame_no, vector: vector.clone() },
                            );
                        }
                        (vector, 0)
                    }
                };
                let embedding = Embedding { vector, model: state.model_id.clone(), normalized, age };
                roi.add_param(embedding.to_structure());
            }
            // Forget objects not seen for a while (they left, or the tracker dropped them).
            let keep = (2 * interval).max(30);
            state.tracks.retain(|_, t| frame_no - t.last_seen <= keep);
            Ok(gst::FlowSuccess::Ok)
        }
    }
}
