//! The `reidembed` GObject: properties, state changes, caps, and the per-frame work (plan, crop, run, attach).

use super::attach::{Tag, attach};
use super::open::open;
use super::plan::{Track, fresh_boxes, plan_frame};
use super::run::embed_boxes;
use super::settings::Settings;
use super::stats::{Stats, nanos_since};
use super::{CAT, FORMATS, frame_view, layout_of, properties};
use crate::frame::PixelLayout;
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
    engine: Box<dyn Engine>,
    description: String,
    model_id: String,
    /// Video info and layout of the negotiated caps.
    video: Option<(gst_video::VideoInfo, PixelLayout)>,
    /// Frames seen since start.
    frame: u64,
    tracks: HashMap<u64, Track>,
}

/// The element's instance data.
#[derive(Default)]
pub struct ReidEmbed {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    stats: Arc<Stats>,
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
        if matches!(layout, PixelLayout::Nv12 | PixelLayout::I420) {
            let colour = crate::colorimetry::resolve_info(&info);
            if let Some(fallback) = &colour.fallback {
                gst::warning!(CAT, imp = self, "{fallback}");
            }
            gst::info!(CAT, imp = self, "YUV to RGB as {}", colour.colour);
        }
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
    /// Posts a stream error and returns the flow error for it.
    fn stream_error(&self, message: String) -> gst::FlowError {
        gst::element_imp_error!(self, gst::StreamError::Failed, ("reidembed: {message}"));
        gst::FlowError::Error
    }

    /// The per-frame work of `transform_ip`: plan, crop and run, attach.
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

        let plans = plan_frame(buf, (info.width(), info.height()), &settings, &mut state.tracks, frame_no);
        let boxes = fresh_boxes(&plans);
        let vectors = if boxes.is_empty() {
            Vec::new()
        } else {
            let frame = gst_video::VideoFrameRef::from_buffer_ref_readable(buf, &info)
                .map_err(|e| self.stream_error(format!("cannot map the video frame: {e}")))?;
            let view = frame_view(&frame, layout).map_err(|e| self.stream_error(format!("bad video frame: {e}")))?;
            let batch = settings.batch_size as usize;
            let vectors = embed_boxes(state.engine.as_ref(), &view, &boxes, batch, settings.normalize, &self.stats)
                .map_err(|e| self.stream_error(e))?;
            gst::trace!(CAT, imp = self, "frame {frame_no}: {} crops embedded", boxes.len());
            vectors
        };

        let normalized = state.engine.info().l2_normalized || settings.normalize;
        let tag = Tag { model: &state.model_id, normalized };
        attach(buf, plans, vectors, &mut state.tracks, (frame_no, interval), &tag);
        Ok(gst::FlowSuccess::Ok)
    }
}
