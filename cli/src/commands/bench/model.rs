//! `reid bench model`: CPU forward throughput of a ReID network in burn beside PyTorch eager, same input size,
//! batch and thread count, in one run.

use super::bench_config;
use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Distribution, Tensor};
use clap::Args;
use reid_models::ReidModel;
use serde::Deserialize;
use std::process::Command;
use std::time::Instant;

const SCRIPT: &str = include_str!("../../../../tools/reference/bench_torch_forward.py");

/// Arguments of `reid bench model`.
#[derive(Args)]
pub struct ModelBenchArgs {
    /// Backbone (`resnet_50`, `swin_tiny_patch4_window7_224`, ...). Weights are random: speed does not depend
    /// on them.
    #[arg(long, default_value = "resnet_50")]
    pub backbone: String,
    /// Embedding size of the head.
    #[arg(long, default_value_t = 256)]
    pub feat_dim: usize,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// Input height.
    #[arg(long, default_value_t = 256)]
    pub height: usize,
    /// Input width.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// Timed forward passes (after one warm-up pass).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Python interpreter with torch and torchvision (and timm for Swin).
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Only time burn.
    #[arg(long)]
    pub skip_reference: bool,
}

#[derive(Deserialize)]
struct TorchResult {
    torch: String,
    threads: usize,
    images_per_second: f64,
}

/// Runs `reid bench model`.
pub fn run(args: &ModelBenchArgs) -> Result<()> {
    if args.batch == 0 || args.iters == 0 {
        bail!("--batch and --iters must be at least 1");
    }
    let threads = rayon::current_num_threads();
    let config = bench_config(&args.backbone, args.feat_dim, args.height, args.width)?;
    let device = Device::flex();
    let model = ReidModel::new(&config, &device)?;
    let x = Tensor::<4>::random([args.batch, 3, args.height, args.width], Distribution::Normal(0.0, 1.0), &device);
    eprintln!("burn (flex): warm-up ...");
    let _ = model.embed(x.clone()).into_data();
    let t = Instant::now();
    for _ in 0..args.iters {
        let _ = model.embed(x.clone()).into_data();
    }
    let burn_ips = (args.batch * args.iters) as f64 / t.elapsed().as_secs_f64();

    let torch = if args.skip_reference {
        None
    } else {
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("bench_torch_forward.py");
        std::fs::write(&script, SCRIPT)?;
        eprintln!("PyTorch eager: running ...");
        let out = Command::new(&args.python)
            .arg(&script)
            .args(["--backbone", &args.backbone, "--feat-dim", &args.feat_dim.to_string()])
            .args(["--batch", &args.batch.to_string(), "--height", &args.height.to_string()])
            .args(["--width", &args.width.to_string(), "--iters", &args.iters.to_string()])
            .args(["--threads", &threads.to_string()])
            .output()
            .with_context(|| format!("starting {}", args.python))?;
        if !out.status.success() {
            bail!("the PyTorch reference failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_default();
        Some(serde_json::from_str::<TorchResult>(line).with_context(|| format!("PyTorch printed: {stdout}"))?)
    };

    println!(
        "{} at {}x{}, batch {}, {threads} threads, CPU, {} timed passes",
        args.backbone, args.height, args.width, args.batch, args.iters
    );
    println!("  {:<34}{burn_ips:8.2} images/s", "burn (flex backend)");
    if let Some(t) = torch {
        println!(
            "  {:<34}{:8.2} images/s ({} threads)",
            format!("PyTorch {} eager", t.torch),
            t.images_per_second,
            t.threads
        );
        println!("  {:<34}{:8.2}", "ratio burn / PyTorch", burn_ips / t.images_per_second);
    }
    Ok(())
}
