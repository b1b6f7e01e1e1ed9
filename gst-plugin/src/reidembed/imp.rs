//! The `reidembed` GObject: properties, state changes, caps, and the per-frame work (plan, crop, run, attach).

use super::attach::{Tag, attach_rois, forget, resolve};
use super::nvds::{self, NvdsStats};
use super::open::open;
use super::plan::{Track, TrackKey, fresh_boxes, plan, roi_candidates};
use super::run::{RunOptions, embed_boxes};
use super::settings::Settings;
use super::stats::{Stats, nanos_since};
use super::{CAT, FORMATS, NVMM_FORMATS, frame_view, layout_of, properties};
use crate::deepstream::{self, Batch, MappedSurface, NVMM_FEATURE};
use crate::frame::{Colour, PixelBox, PixelLayout};
use crate::lock::lock;
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use reid_runtime::engine::Engine;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

/// Everything the element holds between `start` and `stop`.
struct State {
    /// The engine; `None` with `engine=nvinfer` (DeepStream's nvinfer has run the model).
    engine: Option<Box<dyn Engine>>,
    description: String,
    model_id: String,
    /// The negotiated caps.
    video: Option<Video>,
    /// Frames seen since start.
    frame: u64,
    tracks: HashMap<TrackKey, Track>,
}

/// What the negotiated caps say.
#[derive(Clone)]
struct Video {
    info: gst_video::VideoInfo,
    layout: PixelLayout,
    /// `video/x-raw(memory:NVMM)`: the buffer's memory holds an `NvBufSurface`.
    nvmm: bool,
    /// How YUV converts to RGB (the caps' colorimetry, resolved once here).
    colour: Colour,
}

/// The element's instance data.
#[derive(Default)]
pub struct ReidEmbed {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    stats: Arc<Stats>,
    nvds: NvdsStats,
}

#[glib::object_subclass]
impl ObjectSubclass for ReidEmbed {
    const NAME: &'static str = "GstReidEmbed";
    type Type = super::ReidEmbed;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ReidEmbed {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(properties::specs);
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        if let Err(warning) = properties::set(&mut lock(&self.settings), pspec.name(), value) {
            gst::warning!(CAT, imp = self, "{warning}");
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if pspec.name() == "engine-description" {
            return lock(&self.state).as_ref().map(|s| s.description.clone()).to_value();
        }
        if pspec.name() == "deepstream" {
            return deepstream::status().to_value();
        }
        if let Some(v) = self.nvds.get(pspec.name()) {
            return v.to_value();
        }
        if let Some(v) = self.stats.get(pspec.name()) {
            return v.to_value();
        }
        properties::get(&lock(&self.settings), pspec.name())
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
            let mut caps = gst_video::VideoCapsBuilder::new().format_list(FORMATS).build();
            // NVMM input only where DeepStream's libraries load (decided once, at class initialisation).
            if deepstream::library().is_ok() {
                let nvmm =
                    gst_video::VideoCapsBuilder::new().features([NVMM_FEATURE]).format_list(NVMM_FORMATS).build();
                caps.merge(nvmm);
            }
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

impl BaseTransformImpl for ReidEmbed {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let settings = lock(&self.settings).clone();
        let opened = open(&self.obj(), &settings)?;
        let state = State {
            engine: opened.engine,
            description: opened.description,
            model_id: opened.model_id,
            video: None,
            frame: 0,
            tracks: HashMap::new(),
        };
        *lock(&self.state) = Some(state);
        self.stats.reset();
        self.nvds.reset();
        match deepstream::library() {
            Ok(_) => gst::info!(CAT, imp = self, "{}", deepstream::status()),
            Err(e) => gst::debug!(CAT, imp = self, "NvDs mode not available: {e}"),
        }
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
        let nvmm = incaps.features(0).is_some_and(|f| f.contains(NVMM_FEATURE));
        gst::debug!(CAT, imp = self, "caps {incaps}");
        let resolved = crate::colorimetry::resolve_info(&info);
        if matches!(layout, PixelLayout::Nv12 | PixelLayout::I420) {
            if let Some(fallback) = &resolved.fallback {
                gst::warning!(CAT, imp = self, "{fallback}");
            }
            gst::info!(CAT, imp = self, "YUV to RGB as {}", resolved.colour);
        }
        match lock(&self.state).as_mut() {
            Some(state) => {
                state.video = Some(Video { info, layout, nvmm, colour: resolved.colour });
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
    /// Posts a stream error and returns the flow error for it.
    fn stream_error(&self, message: String) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::Failed, ("reidembed: {message}"));
        gst::FlowError::Error
    }

    /// The frame sizes of `buf` by batch index: the surfaces of an NVMM batch, else the caps' one frame.
    fn frame_sizes(&self, buf: &gst::BufferRef, video: &Video) -> Result<Vec<(u32, u32)>, gst::FlowError> {
        if !video.nvmm {
            return Ok(vec![(video.info.width(), video.info.height())]);
        }
        let ds =
            deepstream::library().map_err(|e| self.stream_error(format!("NVMM buffer without DeepStream: {e}")))?;
        let map = buf.map_readable().map_err(|e| self.stream_error(format!("cannot map the NVMM memory: {e}")))?;
        match deepstream::surface_info(ds, map.as_slice()) {
            Ok(info) => Ok(info.dims),
            Err(e) => {
                gst::element_imp_warning!(self, gst::StreamError::Decode, ("reidembed: {e}: frame skipped"));
                Ok(Vec::new())
            }
        }
    }

    /// The embeddings of the `fresh` boxes (surface, box), in order; `None` for boxes of a surface that could
    /// not be read (an NVMM surface refused with a warning).
    fn run_fresh(
        &self,
        buf: &gst::BufferRef,
        fresh: &[(usize, PixelBox)],
        engine: &dyn Engine,
        video: &Video,
        settings: &Settings,
        batch_meta: Option<&Batch>,
    ) -> Result<Vec<Option<Vec<f32>>>, gst::FlowError> {
        let mut out = vec![None; fresh.len()];
        let mut surfaces: Vec<usize> = fresh.iter().map(|f| f.0).collect();
        surfaces.sort_unstable();
        surfaces.dedup();
        let batch = settings.batch_size as usize;
        // NvDs mode: the source id of each surface (batch_id), for the camera input.
        let sources: Vec<(usize, u32)> = batch_meta
            .map(|b| {
                b.frames().into_iter().map(|f| b.frame_ids(f)).map(|(id, source, _)| (id as usize, source)).collect()
            })
            .unwrap_or_default();
        // NVMM: the library and the buffer's memory (the NvBufSurface), once for every surface of the batch.
        let nvmm = if video.nvmm {
            let ds = deepstream::library().map_err(|e| self.stream_error(e.to_owned()))?;
            let map = buf.map_readable().map_err(|e| self.stream_error(format!("cannot map the NVMM memory: {e}")))?;
            Some((ds, map))
        } else {
            None
        };
        for surface in surfaces {
            let (slots, boxes): (Vec<usize>, Vec<PixelBox>) =
                fresh.iter().enumerate().filter(|(_, f)| f.0 == surface).map(|(i, f)| (i, f.1)).unzip();
            let source = sources.iter().find(|(id, _)| *id == surface).map(|s| s.1);
            let camera = settings.camera_of(source);
            if let Some(input) = &engine.info().camera
                && camera as u64 >= input.count as u64
            {
                self.stats.camera_skipped.fetch_add(boxes.len() as u64, Ordering::Relaxed);
                gst::warning!(
                    CAT,
                    imp = self,
                    "camera id {camera} (source {source:?}, property sie-camera {}) is beyond the model's {} SIE \
                     cameras: {} crops not embedded",
                    settings.sie_camera,
                    input.count,
                    boxes.len()
                );
                continue;
            }
            let run = RunOptions { batch_size: batch, normalize: settings.normalize, camera };
            let vectors = if let Some((ds, map)) = &nvmm {
                match MappedSurface::map(ds, map.as_slice(), surface, video.layout, video.colour) {
                    Ok(mapped) => embed_boxes(engine, &mapped.view(), &boxes, run, &self.stats)
                        .map_err(|e| self.stream_error(e))?,
                    Err(e) => {
                        self.nvds.skipped_frames.fetch_add(1, Ordering::Relaxed);
                        gst::element_imp_warning!(
                            self,
                            gst::StreamError::Decode,
                            ("reidembed: {e}: its boxes skipped")
                        );
                        continue;
                    }
                }
            } else {
                let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &video.info)
                    .map_err(|e| self.stream_error(format!("cannot map the video frame: {e}")))?;
                let view = frame_view(&frame, video.layout, video.colour)
                    .map_err(|e| self.stream_error(format!("bad video frame: {e}")))?;
                embed_boxes(engine, &view, &boxes, run, &self.stats).map_err(|e| self.stream_error(e))?
            };
            for (slot, vector) in slots.into_iter().zip(vectors) {
                out[slot] = Some(vector);
            }
        }
        Ok(out)
    }

    /// The per-frame work of `transform_ip`: candidates (DeepStream objects when the buffer carries a batch
    /// meta, else ROI metas), plan, crop and run, attach.
    fn embed_frame(&self, buf: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = lock(&self.settings).clone();
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            return Err(self.stream_error("buffer before the element started".to_owned()));
        };
        let Some(video) = state.video.clone() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ("reidembed: buffer before caps"));
            return Err(gst::FlowError::NotNegotiated);
        };
        state.frame += 1;
        let frame_no = state.frame;
        let interval = u64::from(settings.interval.max(1));

        let sizes = self.frame_sizes(buf, &video)?;
        let batch = deepstream::library().ok().and_then(|ds| Batch::of(ds, buf));
        let (objects, candidates) = match &batch {
            Some(batch) => nvds::candidates(self, batch, &sizes, &settings, &self.nvds),
            None => (Vec::new(), roi_candidates(buf, sizes.first().copied().unwrap_or((0, 0)), &settings)),
        };
        let plans: Vec<_> = candidates.into_iter().map(|c| plan(c, &settings, &mut state.tracks, frame_no)).collect();
        let fresh = fresh_boxes(&plans);
        let vectors = if fresh.is_empty() {
            Vec::new()
        } else {
            let vectors = match (&state.engine, &batch) {
                (Some(engine), meta) => {
                    self.run_fresh(buf, &fresh, engine.as_ref(), &video, &settings, meta.as_ref())?
                }
                (None, Some(_)) => nvds::nvinfer_vectors(self, &objects, &plans, &settings, &self.nvds),
                (None, None) => {
                    self.nvds.missing_tensors.fetch_add(fresh.len() as u64, Ordering::Relaxed);
                    gst::warning!(
                        CAT,
                        imp = self,
                        "engine=nvinfer: a buffer without DeepStream batch meta: its ROIs are not embedded"
                    );
                    vec![None; fresh.len()]
                }
            };
            gst::trace!(CAT, imp = self, "frame {frame_no}: {} crops embedded", fresh.len());
            vectors
        };

        let normalized = state.engine.as_ref().is_some_and(|e| e.info().l2_normalized) || settings.normalize;
        let tag = Tag { model: &state.model_id, normalized };
        let resolved = resolve(plans, vectors, &mut state.tracks, (frame_no, interval));
        match &batch {
            Some(batch) => {
                nvds::attach_objects(batch, &objects, resolved, &tag, &settings);
            }
            None => attach_rois(buf, resolved, &tag),
        }
        forget(&mut state.tracks, (frame_no, interval));
        Ok(gst::FlowSuccess::Ok)
    }
}
