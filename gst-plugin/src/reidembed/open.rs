//! Opening the model the settings name on the engine they choose, with GStreamer errors that say which property
//! to fix.

use super::settings::{Settings, explicit_preprocess};
use super::{CAT, NVINFER_ENGINE};
use reid_runtime::engine::ort::{BatchProfile, OrtOptions, TensorRtOptions};
use reid_runtime::engine::{Engine, EngineError, EngineKind, open_engine};

/// An opened model.
pub(super) struct Opened {
    /// The engine running it; `None` for `engine=nvinfer`.
    pub(super) engine: Option<Box<dyn Engine>>,
    /// What runs it (engine and provider), for `engine-description`.
    pub(super) description: String,
    /// The id written into each embedding.
    pub(super) model_id: String,
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

/// Opens the engine the settings describe; `element` is named in the log.
pub(super) fn open(element: &super::ReidEmbed, s: &Settings) -> Result<Opened, gst::ErrorMessage> {
    if s.engine == NVINFER_ENGINE {
        return open_nvinfer(element, s);
    }
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
    let kind: EngineKind = s
        .engine
        .parse()
        .map_err(|e: String| gst::error_msg!(gst::LibraryError::Settings, ("reidembed: property `engine`: {e}")))?;
    let ort = OrtOptions {
        device_id: s.device_id,
        library: s.ort_library.clone(),
        tensorrt: TensorRtOptions { profile: BatchProfile::up_to(s.batch_size as usize), ..TensorRtOptions::default() },
        ..OrtOptions::default()
    };
    let explicit =
        explicit_preprocess(s).map_err(|e| gst::error_msg!(gst::LibraryError::Settings, ("reidembed: {e}")))?;
    let opened = open_engine(kind, &model, explicit.as_ref(), &ort).map_err(|e| open_error(&e))?;
    let model_id = s.model_id.clone().unwrap_or_else(|| {
        model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| model.display().to_string())
    });
    let info = opened.engine.info();
    match (&info.camera, s.sie_camera) {
        (Some(input), c) if c >= 0 && c as u64 >= input.count as u64 => {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                (
                    "reidembed: property `sie-camera` = {c}, but {} has {} SIE cameras (ids 0..{})",
                    model.display(),
                    input.count,
                    input.count
                )
            ));
        }
        (Some(input), c) => {
            let from = if c >= 0 { format!("camera {c}") } else { "the DeepStream source id (else 0)".to_owned() };
            gst::info!(CAT, obj = element, "camera input `{}` ({} cameras) gets {from}", input.name, input.count);
        }
        (None, c) if c >= 0 => {
            gst::info!(CAT, obj = element, "{} has no camera input: sie-camera {c} is not used", model.display())
        }
        (None, _) => {}
    }
    gst::info!(
        CAT,
        obj = element,
        "model {} ({}x{} input, {} output) on {}",
        model.display(),
        info.preprocess.width,
        info.preprocess.height,
        info.output_dim.map_or_else(|| "unknown".to_owned(), |d| d.to_string()),
        opened.description
    );
    Ok(Opened { engine: Some(opened.engine), description: opened.description, model_id })
}

/// `engine=nvinfer`: no model of our own; DeepStream's libraries must load (the embeddings come from nvinfer's
/// tensor metas on the objects of the batch meta).
fn open_nvinfer(element: &super::ReidEmbed, s: &Settings) -> Result<Opened, gst::ErrorMessage> {
    if let Err(e) = crate::deepstream::library() {
        return Err(gst::error_msg!(
            gst::LibraryError::Init,
            ("reidembed: engine=nvinfer reads nvinfer's output tensors from DeepStream metadata, but DeepStream \
                 is not available: {e}")
        ));
    }
    let gie = if s.nvinfer_gie_id == 0 { "any".to_owned() } else { s.nvinfer_gie_id.to_string() };
    let description = format!("nvinfer (the output tensor of gie-unique-id {gie}, DeepStream's TensorRT)");
    gst::info!(CAT, obj = element, "engine {description}");
    let model_id = s.model_id.clone().unwrap_or_else(|| NVINFER_ENGINE.to_owned());
    Ok(Opened { engine: None, description, model_id })
}
