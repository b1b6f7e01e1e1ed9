//! `reid deepstream config`: an nvinfer secondary-GIE config for an exported ReID model, so that on a Jetson
//! DeepStream's `nvinfer` runs the model with TensorRT on each detected person and `reidembed engine=nvinfer`
//! only reads its output. nvinfer normalises with one scale for all channels: [`approx`] chooses it and says what it
//! costs, [`measure`] measures that cost in embedding cosine on synthetic crops, [`nvinfer_config`] writes the file.
//! Nothing here links DeepStream: the file is text, the measurement runs the model with the runtime's engines.

pub mod approx;
pub mod measure;
pub mod nvinfer_config;

use crate::engine_args::PreprocessArgs;
use anyhow::{Context, Result, bail};
use approx::{ScaleFit, approximate};
use clap::{Args, Subcommand};
use nvinfer_config::{Precision, SecondaryGie};
use reid_runtime::engine::model_info::{self, meta, preprocess_from_metadata};
use reid_runtime::engine::ort::OrtOptions;
use reid_runtime::engine::{ColorOrder, EngineKind, ModelInfo, PreprocessConfig, open_engine};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file `reid deepstream config` writes in its output folder.
pub const CONFIG_FILE: &str = "config_infer_secondary_reid.txt";

/// `reid deepstream` subcommands.
#[derive(Subcommand, Debug)]
pub enum DeepstreamCommand {
    /// Write an nvinfer secondary-GIE config (DIR/config_infer_secondary_reid.txt) for an exported ReID model and
    /// report what nvinfer's single normalisation scale costs.
    #[command(after_help = "Example (PeopleNet as the primary GIE, person = class 0):\n  \
reid deepstream config -m /opt/reid/models/model.onnx -o /opt/reid/deepstream --operate-on-gie-id 1 \
--operate-on-class-ids 0\n  then: ... ! nvinfer config-file-path=/opt/reid/deepstream/config_infer_secondary_reid.txt \
! reidembed engine=nvinfer ! reidpublish ... (deploy/pipelines/deepstream-sgie.sh)\n\nA model without `reid.*` \
metadata needs --mean and --std (and --height/--width): nvinfer's offsets and scale come from them, so no ImageNet \
default is assumed here.")]
    Config(ConfigArgs),
}

/// Arguments of `reid deepstream config`.
#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// The exported ReID model (ONNX with `reid.*` metadata).
    #[arg(long, short)]
    pub model: PathBuf,
    /// Output folder (created when missing).
    #[arg(long, short, value_name = "DIR")]
    pub output: PathBuf,
    /// The `gie-unique-id` of the detector whose objects are embedded (the primary GIE).
    #[arg(long, default_value_t = 1)]
    pub operate_on_gie_id: u32,
    /// Classes of that detector to embed, comma-separated (PeopleNet: person = 0).
    #[arg(long, value_delimiter = ',', default_value = "0", num_args = 1..)]
    pub operate_on_class_ids: Vec<u32>,
    /// This nvinfer's `gie-unique-id` (`reidembed engine=nvinfer` reads the tensor meta it attaches).
    #[arg(long, default_value_t = 2)]
    pub gie_unique_id: u32,
    /// Objects per TensorRT inference (the engine is built for batches up to this).
    #[arg(long, default_value_t = 16)]
    pub batch_size: u32,
    /// TensorRT precision of the engine nvinfer builds.
    #[arg(long, value_enum, default_value_t = Precision::Fp16)]
    pub precision: Precision,
    /// int8 calibration table for `--precision int8` (TensorRT's format; `reid engine calibrate` writes one).
    #[arg(long, value_name = "FILE")]
    pub int8_calib_file: Option<PathBuf>,
    /// GPU nvinfer runs on.
    #[arg(long, default_value_t = 0)]
    pub gpu_id: u32,
    /// The `onnx-file` value to write, as the deployment sees the model (default: the model's absolute path);
    /// nvinfer resolves a relative path against the config file's folder.
    #[arg(long, value_name = "PATH")]
    pub onnx_path: Option<String>,
    /// How the single scale is chosen when the stds differ: worst-case (smallest largest deviation of any
    /// normalised value) or mean-square (smallest mean squared deviation).
    #[arg(long, default_value = "worst-case", value_parser = |s: &str| s.parse::<ScaleFit>())]
    pub scale_fit: ScaleFit,
    /// Synthetic person crops to measure the embedding cosine of exact vs nvinfer preprocessing on (0: skip).
    #[arg(long, default_value_t = 16)]
    pub samples: usize,
    /// Engine for that measurement: auto, tract, ort-cpu, cuda, tensorrt.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<EngineKind>())]
    pub engine: EngineKind,
    /// The ONNX Runtime library for the measurement (default: as `reid embed` searches).
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    #[command(flatten)]
    pub preprocess: PreprocessArgs,
}

/// Runs a `reid deepstream` subcommand.
pub fn run(cmd: DeepstreamCommand) -> Result<()> {
    match cmd {
        DeepstreamCommand::Config(args) => config(&args),
    }
}

/// The model's preprocessing: its `reid.*` metadata with any flags replacing parts of it; a model without the
/// metadata needs --mean and --std (and --height/--width): nvinfer's offsets and scale come from them, so no
/// default is guessed.
fn resolve_preprocess(model: &Path, flags: &PreprocessArgs) -> Result<PreprocessConfig> {
    let metadata = model_info::read_metadata(model)?;
    match preprocess_from_metadata(&metadata) {
        Ok(base) => Ok(flags.resolve(model)?.unwrap_or(base)),
        Err((key, Some(why))) => bail!(
            "{}: metadata property `{key}` = `{}` is invalid: {why}",
            model.display(),
            metadata.get(key).map(String::as_str).unwrap_or("")
        ),
        Err((key, None)) => from_partial_metadata(model, &metadata, flags, key),
    }
}

/// The preprocessing of a model whose metadata lacks `first_missing` (and maybe more), from the flags.
fn from_partial_metadata(
    model: &Path,
    metadata: &BTreeMap<String, String>,
    flags: &PreprocessArgs,
    first_missing: &str,
) -> Result<PreprocessConfig> {
    let missing = |key: &str, flag: &str| {
        anyhow::anyhow!(
            "{} has no `{key}` metadata (the first missing of the `reid.*` keys is `{first_missing}`): nvinfer's \
             offsets and net-scale-factor come from the model's normalisation, so give {flag} (with --mean, --std, \
             --height/--width as needed) or export the model with `reid export`",
            model.display()
        )
    };
    let number = |key: &str| metadata.get(key).and_then(|v| v.trim().parse::<f64>().ok());
    let triple = |key: &str| -> Option<[f32; 3]> {
        let v: Vec<f32> = metadata.get(key)?.split(',').map(|s| s.trim().parse().ok()).collect::<Option<_>>()?;
        v.try_into().ok()
    };
    let (height, width) = match (flags.height, flags.width) {
        (Some(h), Some(w)) => (h, w),
        _ => match (number(meta::INPUT_HEIGHT), number(meta::INPUT_WIDTH)) {
            (Some(h), Some(w)) if h >= 1.0 && w >= 1.0 => (h as u32, w as u32),
            (None, _) => return Err(missing(meta::INPUT_HEIGHT, "--height and --width")),
            _ => return Err(missing(meta::INPUT_WIDTH, "--height and --width")),
        },
    };
    let mean = flags.mean.or_else(|| triple(meta::PIXEL_MEAN)).ok_or_else(|| missing(meta::PIXEL_MEAN, "--mean"))?;
    let std = flags.std.or_else(|| triple(meta::PIXEL_STD)).ok_or_else(|| missing(meta::PIXEL_STD, "--std"))?;
    if std.iter().any(|s| *s <= 0.0) || height == 0 || width == 0 {
        bail!("--std values and --height/--width must be positive");
    }
    let bgr = flags.bgr || metadata.get(meta::COLOR).is_some_and(|c| c.trim().eq_ignore_ascii_case("BGR"));
    Ok(PreprocessConfig {
        height,
        width,
        mean,
        std,
        scale: number(meta::PIXEL_SCALE).filter(|s| *s > 0.0 && s.is_finite()).unwrap_or(1.0 / 255.0),
        color: if bgr { ColorOrder::Bgr } else { ColorOrder::Rgb },
    })
}

/// Checks the nvinfer settings nvinfer itself would refuse (or that cannot work), naming the flag.
fn check_settings(args: &ConfigArgs) -> Result<()> {
    // NVDSINFER_MAX_BATCH_SIZE in nvdsinfer_context.h.
    if !(1..=1024).contains(&args.batch_size) {
        bail!("--batch-size {} is not in 1..=1024 (nvinfer's limit)", args.batch_size);
    }
    if args.gie_unique_id == 0 || args.operate_on_gie_id == 0 {
        bail!("--gie-unique-id and --operate-on-gie-id must be positive (nvinfer refuses 0)");
    }
    if args.gie_unique_id == args.operate_on_gie_id {
        bail!("--gie-unique-id {} equals --operate-on-gie-id: the SGIE needs its own id", args.gie_unique_id);
    }
    if args.operate_on_class_ids.is_empty() {
        bail!("--operate-on-class-ids needs at least one class");
    }
    match (args.precision, &args.int8_calib_file) {
        (Precision::Int8, None) => bail!(
            "--precision int8 needs --int8-calib-file (nvinfer without one falls back to fp16 and the engine file \
             name no longer matches model-engine-file); `reid engine calibrate` measures a table"
        ),
        (Precision::Int8, Some(f)) if !f.is_file() => bail!("--int8-calib-file {}: no such file", f.display()),
        (p, Some(_)) if p != Precision::Int8 => bail!("--int8-calib-file is only used with --precision int8"),
        _ => Ok(()),
    }
}

fn absolute(path: &Path) -> Result<String> {
    let abs = std::fs::canonicalize(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    abs.to_str().map(str::to_owned).with_context(|| format!("{} is not valid UTF-8", abs.display()))
}

/// Runs `reid deepstream config`.
fn config(args: &ConfigArgs) -> Result<()> {
    check_settings(args)?;
    let cfg = resolve_preprocess(&args.model, &args.preprocess)?;
    let info = ModelInfo::read(&args.model, Some(&cfg))?;
    if let Some(camera) = &info.camera {
        bail!(
            "{} has a camera input `{}` (TransReID side information embedding, {} cameras): nvinfer feeds a \
             secondary model only its image input (a custom NvDsInferInitializeInputLayers fills other inputs once, \
             not per object), so the camera would be lost. Run this model in reidembed instead (engine=tensorrt, \
             property sie-camera), or export it without SIE (model.sie_camera: false)",
            args.model.display(),
            camera.name,
            camera.count
        );
    }
    let approx = approximate(cfg.scale, cfg.mean, cfg.std, args.scale_fit);
    let onnx_file = match &args.onnx_path {
        Some(p) if p.trim().is_empty() => bail!("--onnx-path is empty"),
        Some(p) => p.clone(),
        None => absolute(&args.model)?,
    };
    let int8_calib_file = args.int8_calib_file.as_deref().map(absolute).transpose()?;
    let gie = SecondaryGie {
        onnx_file,
        model_name: args.model.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        gpu_id: args.gpu_id,
        batch_size: args.batch_size,
        precision: args.precision,
        int8_calib_file,
        gie_unique_id: args.gie_unique_id,
        operate_on_gie_id: args.operate_on_gie_id,
        operate_on_class_ids: args.operate_on_class_ids.clone(),
        input_name: info.input_name.clone(),
        output_name: info.output_name.clone(),
        output_dim: info.output_dim,
        height: cfg.height,
        width: cfg.width,
        bgr: cfg.color == ColorOrder::Bgr,
        mean: cfg.mean,
        std: cfg.std,
        pixel_scale: cfg.scale,
        l2_normalized: info.l2_normalized,
        approx: approx.clone(),
        fit: args.scale_fit,
    };
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create the output folder {}", args.output.display()))?;
    let path = args.output.join(CONFIG_FILE);
    std::fs::write(&path, gie.render()).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    println!(
        "model {}: input `{}` 3x{}x{} {}, output `{}` ({} floats), engine file {}",
        args.model.display(),
        info.input_name,
        cfg.height,
        cfg.width,
        if gie.bgr { "BGR" } else { "RGB" },
        info.output_name,
        info.output_dim.map_or_else(|| "?".to_owned(), |d| d.to_string()),
        gie.engine_file()
    );
    println!("offsets {} (mean / scale, exact)", approx.offsets.map(|o| o.to_string()).join(";"));
    if approx.is_exact() {
        println!("net-scale-factor {} (exact: the three stds are equal)", approx.scale_factor);
        println!("largest per-pixel deviation of the normalised input: 0");
    } else {
        println!(
            "net-scale-factor {} ({} fit of the per-channel scales {}); channel gains {}",
            approx.scale_factor,
            args.scale_fit,
            approx.exact_scales.map(|s| format!("{s:.9}")).join(", "),
            approx.gain_error.map(|g| format!("{:+.3}%", 100.0 * g)).join(" / ")
        );
        println!(
            "largest per-pixel deviation of the normalised input: {:.5} (rms {:.5}) normalised units",
            approx.max_deviation, approx.rms_deviation
        );
    }
    if args.samples > 0 {
        let ort = OrtOptions { library: args.ort_lib.clone(), ..OrtOptions::default() };
        let opened = open_engine(args.engine, &args.model, Some(&cfg), &ort)?;
        let crops = measure::sample_crops(args.samples, 64, 128);
        let r = measure::measure(opened.engine.as_ref(), &crops, &cfg, &approx, 8)?;
        println!(
            "embedding cosine, exact vs nvinfer preprocessing, {} synthetic 64x128 crops ({}): min {:.6} mean {:.6}",
            r.samples, opened.description, r.min, r.mean
        );
    }
    Ok(())
}
