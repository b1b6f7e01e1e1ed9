//! ONNX export written from the burn module tree and its weights (one writer for every backbone family):
//! input `input` (`N x C x H x W`, float32, symbolic `N`), for a ViT with an SIE camera table a second input
//! `camera` (`N`, int64, 0-based camera ids), output `embedding` (`N x D`), and metadata properties carrying
//! everything a consumer needs to preprocess the same way (and to feed the camera input).

mod layers;
mod params;
mod resnet;
mod swin;
mod vit;

use crate::backbone::Backbone;
use crate::config::{NeckFeat, ReidConfig};
use crate::error::ModelError;
use crate::reid::ReidModel;
use prost::Message;
use reid_runtime::onnx_graph::{Attr, Graph, int64_value_info, value_info};
use std::path::Path;

/// Metadata keys written into every exported model (`metadata_props`).
pub mod meta {
    /// Format version of these properties.
    pub const FORMAT: &str = "reid.format";
    /// Backbone name as in the spec (`resnet_50`, `swin_tiny_patch4_window7_224`).
    pub const BACKBONE: &str = "reid.backbone";
    /// Input height in pixels.
    pub const INPUT_HEIGHT: &str = "reid.input_height";
    /// Input width in pixels.
    pub const INPUT_WIDTH: &str = "reid.input_width";
    /// Input channels.
    pub const INPUT_CHANNELS: &str = "reid.input_channels";
    /// Channel order of the input (`RGB`).
    pub const COLOR: &str = "reid.color";
    /// Factor applied to 8-bit pixel values before mean/std (`0.00392156862745098` = 1/255).
    pub const PIXEL_SCALE: &str = "reid.pixel_scale";
    /// Per-channel mean subtracted after scaling, comma-separated.
    pub const PIXEL_MEAN: &str = "reid.pixel_mean";
    /// Per-channel standard deviation divided by after subtracting the mean, comma-separated.
    pub const PIXEL_STD: &str = "reid.pixel_std";
    /// Embedding size.
    pub const FEAT_DIM: &str = "reid.feat_dim";
    /// `before` or `after` the BNNeck.
    pub const NECK_FEAT: &str = "reid.neck_feat";
    /// `true` when the output is already L2-normalised.
    pub const L2_NORMALIZED: &str = "reid.l2_normalized";
    /// Resize interpolation expected by the model (`bilinear`).
    pub const RESIZE: &str = "reid.resize";
    /// Name of the camera input (int64 `[N]`, `camera`); written only for models with an SIE camera table.
    pub const CAMERA_INPUT: &str = "reid.camera_input";
    /// Cameras of the SIE table (ids `0..count`); written only for models with an SIE camera table.
    pub const SIE_CAMERAS: &str = "reid.sie_cameras";
}

/// What the exported model declares beyond its weights.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportOptions {
    /// Backbone name for the metadata.
    pub backbone_name: String,
    /// Per-channel mean (after scaling pixels to [0, 1]).
    pub pixel_mean: [f32; 3],
    /// Per-channel standard deviation.
    pub pixel_std: [f32; 3],
    /// Append an L2 normalisation to the graph.
    pub l2_normalize: bool,
}

/// The ONNX model of `model` at the configured input size, serialised.
pub fn to_onnx_bytes(model: &ReidModel, config: &ReidConfig, opts: &ExportOptions) -> Result<Vec<u8>, ModelError> {
    config.validate()?;
    let (h, w, c) = (config.input_height, config.input_width, config.input_channels);
    let mut g = Graph::default();
    let input = "input";
    let cameras = model.sie_cameras();
    let camera = (cameras > 0).then_some(vit::CAMERA_INPUT);
    let (feature, local) = match &model.base {
        Backbone::Resnet(net) => (resnet::emit(&mut g, net, input), Vec::new()),
        Backbone::Swin(net) => (swin::emit(&mut g, net, input, h, w), Vec::new()),
        Backbone::Vit(net) => {
            let eps = config.vit().map_or(1e-6, |v| v.layer_norm_eps);
            vit::emit(&mut g, net, model.jpm.as_ref(), input, camera, eps)
        }
    };
    let mut y = feature;
    if let Some(fc) = &model.fcneck {
        let ((wd, wv), _) = params::linear(fc);
        y = g.linear(&y, "fcneck", (&wd, &wv), None);
    }
    let after = model.neck_feat == NeckFeat::After;
    if after && let Some(bn) = &model.bottleneck {
        y = layers::batch_norm(&mut g, &y, bn, "bottleneck");
    }
    if let Some(jpm) = &model.jpm {
        y = vit::jpm_concat(&mut g, &y, &local, jpm, after);
    }
    if opts.l2_normalize {
        let sq = g.op("Mul", &[&y, &y], vec![]);
        let axes = g.ints("axes", &[1]);
        let sum = g.op("ReduceSum", &[&sq, &axes], vec![("keepdims", Attr::Int(1))]);
        let norm = g.op("Sqrt", &[&sum], vec![]);
        let eps = g.scalar("eps", 1e-12);
        let norm = g.op("Max", &[&norm, &eps], vec![]);
        y = g.op("Div", &[&y, &norm], vec![]);
    }
    g.op_into("Identity", &[&y], "embedding", vec![]);
    let feat_dim = config.embedding_dim();
    let join = |v: &[f32; 3]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
    let mut metadata = vec![
        (meta::FORMAT.into(), "1".into()),
        (meta::BACKBONE.into(), opts.backbone_name.clone()),
        (meta::INPUT_HEIGHT.into(), h.to_string()),
        (meta::INPUT_WIDTH.into(), w.to_string()),
        (meta::INPUT_CHANNELS.into(), c.to_string()),
        (meta::COLOR.into(), "RGB".into()),
        (meta::PIXEL_SCALE.into(), (1.0f64 / 255.0).to_string()),
        (meta::PIXEL_MEAN.into(), join(&opts.pixel_mean)),
        (meta::PIXEL_STD.into(), join(&opts.pixel_std)),
        (meta::FEAT_DIM.into(), feat_dim.to_string()),
        (meta::NECK_FEAT.into(), if model.neck_feat == NeckFeat::After { "after" } else { "before" }.into()),
        (meta::L2_NORMALIZED.into(), opts.l2_normalize.to_string()),
        (meta::RESIZE.into(), "bilinear".into()),
    ];
    let mut inputs = vec![value_info(input, &[None, Some(c), Some(h), Some(w)])];
    if let Some(camera) = camera {
        metadata.push((meta::CAMERA_INPUT.into(), camera.into()));
        metadata.push((meta::SIE_CAMERAS.into(), cameras.to_string()));
        inputs.push(int64_value_info(camera, &[None]));
    }
    let proto = g.model(inputs, vec![value_info("embedding", &[None, Some(feat_dim)])], metadata);
    Ok(proto.encode_to_vec())
}

/// Writes the ONNX model to `path` (atomically: a temporary file renamed into place).
pub fn export_onnx(
    model: &ReidModel,
    config: &ReidConfig,
    opts: &ExportOptions,
    path: &Path,
) -> Result<(), ModelError> {
    let bytes = to_onnx_bytes(model, config, opts)?;
    let err = |e: std::io::Error| ModelError::Write { path: path.to_owned(), message: e.to_string() };
    let tmp = path.with_extension("onnx.partial");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
