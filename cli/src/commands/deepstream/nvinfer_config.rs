//! The text of an nvinfer secondary-GIE config file (GLib key file, group `[property]`) for a ReID model.
//!
//! Key names and values as DeepStream's Gst-nvinfer parses them: the "Gst-nvinfer File Configuration
//! Specifications" table of the developer guide
//! (<https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/DS_plugin_gst-nvinfer.html>) and
//! `sources/gst-plugins/gst-nvinfer/gstnvinfer_property_parser.{h,cpp}`: lists are `;`-separated, booleans `0|1`,
//! `network-mode` 0 fp32 / 1 int8 / 2 fp16 (`NvDsInferNetworkMode`), `network-type` 100 "other" (no parsing:
//! the raw output goes into `NvDsInferTensorMeta` with `output-tensor-meta=1`), `process-mode` 2 secondary,
//! `model-color-format` 0 RGB / 1 BGR, `scaling-filter` 1 bilinear (`NvBufSurfTransformInter_Bilinear`).
//! Relative paths are resolved against the config file's folder by nvinfer.
//!
//! nvinfer names the engine it builds `<onnx-file>_b<batch-size>_gpu<gpu-id>_<fp32|int8|fp16>.engine`
//! (`nvdsinfer_model_builder.cpp`, `TrtModelBuilder::buildModel`) and writes it next to the ONNX file;
//! `model-engine-file` names that file, so the second start loads it instead of building again.

use super::approx::{Approximation, ScaleFit};
use std::fmt::Write;

/// TensorRT precision of the engine nvinfer builds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Precision {
    /// fp32.
    Fp32,
    /// fp16 (Jetson's tensor cores; the usual choice).
    #[default]
    Fp16,
    /// int8 from a calibration table (`--int8-calib-file`).
    Int8,
}

impl Precision {
    /// nvinfer's `network-mode` value.
    pub fn network_mode(self) -> u32 {
        match self {
            Precision::Fp32 => 0,
            Precision::Int8 => 1,
            Precision::Fp16 => 2,
        }
    }

    /// The suffix nvinfer puts in the engine file name (`networkMode2Str`).
    pub fn engine_suffix(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Int8 => "int8",
            Precision::Fp16 => "fp16",
        }
    }
}

/// Everything the config file says.
#[derive(Clone, Debug, PartialEq)]
pub struct SecondaryGie {
    /// `onnx-file` as written (absolute, or relative to the config's folder).
    pub onnx_file: String,
    /// The model's file name, for the header.
    pub model_name: String,
    /// `gpu-id`.
    pub gpu_id: u32,
    /// `batch-size`: objects per inference.
    pub batch_size: u32,
    /// `network-mode`.
    pub precision: Precision,
    /// `int8-calib-file` (int8 only).
    pub int8_calib_file: Option<String>,
    /// `gie-unique-id` of this nvinfer.
    pub gie_unique_id: u32,
    /// `operate-on-gie-id`: the detector whose objects are embedded.
    pub operate_on_gie_id: u32,
    /// `operate-on-class-ids`.
    pub operate_on_class_ids: Vec<u32>,
    /// Model input name (header only: nvinfer binds the single input itself).
    pub input_name: String,
    /// `output-blob-names`.
    pub output_name: String,
    /// Embedding size, when the model declares it.
    pub output_dim: Option<usize>,
    /// Input height and width (`infer-dims` is `3;h;w`).
    pub height: u32,
    /// Input width.
    pub width: u32,
    /// BGR input (`model-color-format=1`).
    pub bgr: bool,
    /// The model's own normalisation (header): mean, std, 8-bit scale.
    pub mean: [f32; 3],
    /// Per-channel std.
    pub std: [f32; 3],
    /// Factor applied to 8-bit values before mean/std.
    pub pixel_scale: f64,
    /// Whether the model's output is already L2-normalised.
    pub l2_normalized: bool,
    /// nvinfer's scale and offsets.
    pub approx: Approximation,
    /// How the scale was chosen.
    pub fit: ScaleFit,
}

/// `1/255` as such, other scales as numbers.
fn scale_text(scale: f64) -> String {
    if (scale * 255.0 - 1.0).abs() < 1e-12 { "1/255".to_owned() } else { format!("{scale}") }
}

fn triple(v: [f32; 3], sep: &str) -> String {
    v.map(|x| x.to_string()).join(sep)
}

impl SecondaryGie {
    /// The engine file nvinfer writes (and then loads) for these settings.
    pub fn engine_file(&self) -> String {
        format!("{}_b{}_gpu{}_{}.engine", self.onnx_file, self.batch_size, self.gpu_id, self.precision.engine_suffix())
    }

    /// The config file's text: a comment header saying where each value comes from, then `[property]`.
    pub fn render(&self) -> String {
        let a = &self.approx;
        let order = if self.bgr { "BGR" } else { "RGB" };
        let dim = self.output_dim.map_or_else(|| "?".to_owned(), |d| d.to_string());
        let mut s = String::new();
        let mut line = |text: &str| {
            s.push_str(text);
            s.push('\n');
        };
        line("# nvinfer secondary GIE running a ReID model (written by `reid deepstream config`).");
        line(&format!(
            "# Model {}: input `{}` 3x{}x{} {order}, output `{}` ({dim} floats per object{}).",
            self.model_name,
            self.input_name,
            self.height,
            self.width,
            self.output_name,
            if self.l2_normalized { ", L2-normalised" } else { ", not normalised" }
        ));
        line(&format!(
            "# Each object of class {} from GIE {} is cropped, scaled to {}x{} (bilinear, aspect ratio not kept) and",
            self.operate_on_class_ids.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(","),
            self.operate_on_gie_id,
            self.width,
            self.height
        ));
        line("# embedded; the raw output is attached to the object as NvDsInferTensorMeta (output-tensor-meta=1),");
        line("# which `reidembed engine=nvinfer` reads, L2-normalises and attaches/publishes.");
        line("#");
        line(&format!(
            "# The model normalises (x * {} - mean[c]) / std[c] with mean {}, std {} ({order}).",
            scale_text(self.pixel_scale),
            triple(self.mean, ","),
            triple(self.std, ",")
        ));
        line("# nvinfer computes net-scale-factor * (x - offsets[c]) with ONE scale for all channels: offsets are");
        if a.is_exact() {
            line("# mean / scale and net-scale-factor is scale / std, both exact (the three stds are equal).");
        } else {
            line(&format!(
                "# mean / scale (exact); the per-channel scales {} are approximated",
                a.exact_scales.map(|v| format!("{v:.9}")).join(", ")
            ));
            line(&format!(
                "# by {} ({} fit): channel gains {}; largest deviation {:.4} (rms {:.4}) in normalised units.",
                a.scale_factor,
                self.fit,
                a.gain_error.map(|g| format!("{:+.2}%", 100.0 * g)).join(" / "),
                a.max_deviation,
                a.rms_deviation
            ));
            line("# `reid deepstream config --samples N` measures what this costs in embedding cosine.");
        }
        line("# Keys: Gst-nvinfer in the DeepStream developer guide,");
        line("# https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/DS_plugin_gst-nvinfer.html");
        line(&format!(
            "# nvinfer builds the TensorRT engine on first start ({}, next to the ONNX file: that folder",
            self.precision.engine_suffix()
        ));
        line("# must be writable) and loads it from model-engine-file afterwards.");
        s.push_str("[property]\n");
        let mut kv = |k: &str, v: String| {
            let _ = writeln!(s, "{k}={v}");
        };
        kv("gpu-id", self.gpu_id.to_string());
        kv("onnx-file", self.onnx_file.clone());
        kv("model-engine-file", self.engine_file());
        kv("batch-size", self.batch_size.to_string());
        kv("network-mode", self.precision.network_mode().to_string());
        if let Some(calib) = &self.int8_calib_file {
            kv("int8-calib-file", calib.clone());
        }
        kv("network-type", "100".to_owned());
        kv("process-mode", "2".to_owned());
        kv("gie-unique-id", self.gie_unique_id.to_string());
        kv("operate-on-gie-id", self.operate_on_gie_id.to_string());
        kv(
            "operate-on-class-ids",
            self.operate_on_class_ids.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(";"),
        );
        kv("output-tensor-meta", "1".to_owned());
        kv("output-blob-names", self.output_name.clone());
        kv("infer-dims", format!("3;{};{}", self.height, self.width));
        kv("model-color-format", if self.bgr { "1" } else { "0" }.to_owned());
        kv("net-scale-factor", a.scale_factor.to_string());
        kv("offsets", triple(a.offsets, ";"));
        kv("maintain-aspect-ratio", "0".to_owned());
        kv("symmetric-padding", "0".to_owned());
        kv("scaling-filter", "1".to_owned());
        s
    }
}
