//! `reid bench engine`: the runtime's CPU engine (tract) beside ONNX Runtime's own Python API on the same exported
//! ReID model, batch and thread count, in one run, plus the preprocessing cost per image.

use super::bench_config;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use reid_models::ReidModel;
use reid_models::export::{ExportOptions, export_onnx};
use reid_runtime::engine::{Engine, TractEngine, preprocess};
use serde::Deserialize;
use std::process::Command;
use std::time::Instant;

const SCRIPT: &str = include_str!("../../../../tools/reference/bench_ort_forward.py");

/// Arguments of `reid bench engine`.
#[derive(Args)]
pub struct EngineBenchArgs {
    /// Backbone of the exported model (random weights: speed does not depend on them).
    #[arg(long, default_value = "resnet_50")]
    pub backbone: String,
    /// Embedding size of the head.
    #[arg(long, default_value_t = 256)]
    pub feat_dim: usize,
    /// Input height.
    #[arg(long, default_value_t = 256)]
    pub height: usize,
    /// Input width.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// ViT backbones: patch stride (TransReID's `stride_size`; 12 overlaps the 16-pixel patches).
    #[arg(long, default_value_t = 16)]
    pub stride: usize,
    /// ViT backbones: cameras of a side information embedding; above 1 the model gets a camera input, fed
    /// `i % cameras` for image `i` on every engine and on the Python side.
    #[arg(long, default_value_t = 0)]
    pub sie_cameras: usize,
    /// ViT backbones: TransReID's jigsaw patch module (needs `--feat-dim` equal to the ViT width, 768 for ViT-B).
    #[arg(long)]
    pub jpm: bool,
    /// Batch sizes to time.
    #[arg(long, value_delimiter = ',', default_value = "1,32")]
    pub batches: Vec<usize>,
    /// Images per timed tract configuration (at least one batch).
    #[arg(long, default_value_t = 64)]
    pub images: usize,
    /// Python interpreter with onnxruntime and numpy.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Images per timed ONNX Runtime round (Rust and Python alike; at least 3 batches).
    #[arg(long, default_value_t = 192)]
    pub ort_images: usize,
    /// Alternating ONNX Runtime rounds (Rust, Python, Rust, ...); the best round of each is reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Only time the runtime's engines.
    #[arg(long)]
    pub skip_reference: bool,
    /// Write the benchmark's exported model (random weights, `reid.*` metadata) to this file and stop: a
    /// stand-in of the production network for other benchmarks (`REID_BENCH_MODEL` of `cargo bench -p gst-reid`).
    #[arg(long, value_name = "FILE")]
    pub export_only: Option<std::path::PathBuf>,
}

#[derive(Deserialize)]
struct OrtResult {
    onnxruntime: String,
    images_per_second: f64,
}

/// One run of tools/reference/bench_ort_forward.py (onnxruntime's Python API), written to `script` beforehand.
fn python_ort(
    args: &EngineBenchArgs,
    script: &std::path::Path,
    model: &std::path::Path,
    batch: usize,
    iters: usize,
    threads: usize,
) -> Result<OrtResult> {
    let out = Command::new(&args.python)
        .arg(script)
        .arg("--model")
        .arg(model)
        .args(["--batch", &batch.to_string(), "--height", &args.height.to_string()])
        .args(["--width", &args.width.to_string(), "--iters", &iters.to_string()])
        .args(["--threads", &threads.to_string(), "--cameras", &args.sie_cameras.to_string()])
        .output()
        .with_context(|| format!("starting {}", args.python))?;
    if !out.status.success() {
        bail!("the onnxruntime reference failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_default();
    serde_json::from_str::<OrtResult>(line).with_context(|| format!("onnxruntime printed: {stdout}"))
}

/// Runs `reid bench engine`.
pub fn run(args: &EngineBenchArgs) -> Result<()> {
    if args.batches.contains(&0) || args.images == 0 {
        bail!("--batches and --images must be at least 1");
    }
    let threads = rayon::current_num_threads();
    let mut config = bench_config(&args.backbone, args.feat_dim, args.height, args.width)?;
    if let reid_models::BackboneConfig::Vit(v) = &mut config.backbone {
        v.image_size = [args.height, args.width];
        v.stride = [args.stride; 2];
        v.sie.cameras = args.sie_cameras;
        v.sie.coe = 3.0;
        config.jpm = args.jpm.then(reid_models::config::JpmConfig::default);
    } else if args.jpm || args.sie_cameras > 0 || args.stride != 16 {
        bail!("--stride, --sie-cameras and --jpm are for ViT backbones, not {}", args.backbone);
    }
    let dir = tempfile::tempdir()?;
    let model_path = args.export_only.clone().unwrap_or_else(|| dir.path().join("model.onnx"));
    let model = ReidModel::new(&config, &Device::flex())?;
    let opts = ExportOptions {
        backbone_name: args.backbone.clone(),
        pixel_mean: [0.485, 0.456, 0.406],
        pixel_std: [0.229, 0.224, 0.225],
        l2_normalize: false,
    };
    export_onnx(&model, &config, &opts, &model_path)?;
    drop(model);
    if let Some(out) = &args.export_only {
        println!(
            "{} BNNeck ({}-d) at {}x{}, random weights: {}",
            args.backbone,
            args.feat_dim,
            args.height,
            args.width,
            out.display()
        );
        return Ok(());
    }
    eprintln!("tract: optimising {} ...", model_path.display());
    let engine = TractEngine::open(&model_path, None)?;
    let camera_input = engine.info().camera.clone();
    let what = match (&config.backbone, &camera_input) {
        (reid_models::BackboneConfig::Vit(_), c) => format!(
            "stride {}{}{}, {}-d output",
            args.stride,
            if args.jpm { ", JPM" } else { "" },
            c.as_ref().map_or(String::new(), |c| format!(", SIE with camera input `{}` ({} cameras)", c.name, c.count)),
            config.embedding_dim()
        ),
        _ => format!("BNNeck ({}-d)", args.feat_dim),
    };
    // Preprocessing cost: decode-free (an in-memory 64x128 crop) resize + normalise, per image.
    let crop = image::RgbImage::from_fn(64, 128, |x, y| image::Rgb([(x * 3) as u8, (y * 2) as u8, 90]));
    let pre = engine.info().preprocess.clone();
    let t = Instant::now();
    let reps = 200;
    for _ in 0..reps {
        std::hint::black_box(preprocess::preprocess_image(&crop, &pre));
    }
    let pre_us = t.elapsed().as_secs_f64() * 1e6 / reps as f64;

    println!("{} {what} at {}x{}, CPU, {threads} threads, random weights", args.backbone, args.height, args.width);
    println!("  preprocessing (resize 64x128 crop + normalise): {pre_us:.1} us/image");
    #[cfg(feature = "ort")]
    let ort_engine = {
        use reid_runtime::engine::ort::{OrtEngine, OrtOptions};
        let options = OrtOptions { threads, ..OrtOptions::default() };
        let e = OrtEngine::open(&model_path, None, &options).context("opening the model with ONNX Runtime (Rust)")?;
        println!("  ort (Rust): ONNX Runtime {} from {}", e.library().version, e.library().path.display());
        e
    };
    println!(
        "  {:<7}{:>13}{:>17}{:>24}{:>17}{:>16}",
        "batch", "tract img/s", "ort (Rust) img/s", "onnxruntime (Py) img/s", "ort Rust / Py", "tract / Py"
    );
    let script = dir.path().join("bench_ort_forward.py");
    std::fs::write(&script, SCRIPT)?;
    for &batch in &args.batches {
        let iters = args.images.div_ceil(batch).max(1);
        let x: Vec<f32> = (0..batch * 3 * args.height * args.width).map(|i| ((i % 97) as f32 / 48.0) - 1.0).collect();
        let ids: Option<Vec<i64>> = camera_input.as_ref().map(|c| (0..batch).map(|i| (i % c.count) as i64).collect());
        let cams = ids.as_deref();
        engine.embed_batch_cameras(&x, batch, cams)?;
        let t = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(engine.embed_batch_cameras(&x, batch, cams)?);
        }
        let tract_ips = (batch * iters) as f64 / t.elapsed().as_secs_f64();
        // ONNX Runtime from Rust and from Python, alternating `rounds` times; the best round of each counts
        // (the least disturbed by other load on the machine).
        let ort_iters = args.ort_images.div_ceil(batch).max(3);
        #[cfg_attr(not(feature = "ort"), allow(unused_mut))]
        let mut ort_ips: Option<f64> = None;
        let mut ort: Option<OrtResult> = None;
        for _ in 0..args.rounds.max(1) {
            #[cfg(feature = "ort")]
            {
                ort_engine.embed_batch_cameras(&x, batch, cams)?;
                let t = Instant::now();
                for _ in 0..ort_iters {
                    std::hint::black_box(ort_engine.embed_batch_cameras(&x, batch, cams)?);
                }
                let ips = (batch * ort_iters) as f64 / t.elapsed().as_secs_f64();
                ort_ips = Some(ort_ips.map_or(ips, |b| b.max(ips)));
            }
            if !args.skip_reference {
                let r = python_ort(args, &script, &model_path, batch, ort_iters, threads)?;
                if ort.as_ref().is_none_or(|o| r.images_per_second > o.images_per_second) {
                    ort = Some(r);
                }
            }
        }
        let fmt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
        let py = ort.as_ref().map(|o| o.images_per_second);
        let ratio = |a: Option<f64>| match (a, py) {
            (Some(a), Some(b)) => format!("{:.2}", a / b),
            _ => "-".to_owned(),
        };
        println!(
            "  {batch:<7}{tract_ips:>13.2}{:>17}{:>24}{:>17}{:>16}",
            fmt(ort_ips),
            ort.as_ref().map_or_else(|| "-".to_owned(), |o| format!("{:.2} ({})", o.images_per_second, o.onnxruntime)),
            ratio(ort_ips),
            ratio(Some(tract_ips))
        );
    }
    Ok(())
}
