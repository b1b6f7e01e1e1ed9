//! `reid engine build | calibrate | info`: TensorRT engines built ahead of time (and cached), int8 calibration
//! tables, and what an engine would run a model on.

use crate::engine_args::{EngineArgs, PreprocessArgs};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use reid_runtime::engine::ort::Precision;
use reid_runtime::engine::{EngineKind, list_images};
use std::path::PathBuf;
use std::time::Instant;

/// `reid engine` subcommands.
#[derive(Subcommand, Debug)]
pub enum EngineCommand {
    /// Build (or find in the cache) the TensorRT engine of a model and print where it is cached. int8 with
    /// `--calibration DIR` first measures a calibration table on those images (ONNX Runtime CPU).
    #[command(after_help = "The engine cache folder is keyed by the model's SHA-256, the GPU model, the TensorRT \
version, the precision and the batch profile, so a changed model or a different board never loads a stale engine. \
Runs with --strict: without a TensorRT-enabled ONNX Runtime it fails and says what is missing.\n\nExample:\n  \
reid engine build --model model.onnx --precision int8 --calibration data/bounding_box_train --max-batch 16")]
    Build(BuildArgs),
    /// Measure an int8 calibration table (TensorRT's native format) on a folder of person crops.
    Calibrate(CalibrateArgs),
    /// Show a model's inputs, outputs and preprocessing, the ONNX Runtime library and providers found, and which
    /// provider runs which nodes.
    Info(InfoArgs),
}

/// Arguments of `reid engine build`.
#[derive(Args, Debug)]
pub struct BuildArgs {
    /// The ONNX model.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Folder of calibration images for int8 (a few hundred crops like the deployment's).
    #[arg(long, value_name = "DIR")]
    pub calibration: Option<PathBuf>,
    /// At most this many calibration images (evenly spread over the folder).
    #[arg(long, default_value_t = 500)]
    pub calibration_images: usize,
    #[command(flatten)]
    pub preprocess: PreprocessArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Arguments of `reid engine calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The ONNX model.
    #[arg(long, short)]
    pub model: PathBuf,
    /// Folder of calibration images (searched recursively).
    #[arg(long, short)]
    pub images: PathBuf,
    /// Where to write the table.
    #[arg(long, short)]
    pub output: PathBuf,
    /// At most this many images (evenly spread over the folder).
    #[arg(long, default_value_t = 500)]
    pub limit: usize,
    /// Images per run.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    /// The ONNX Runtime library (default: as for `--engine ort-cpu`).
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    #[command(flatten)]
    pub preprocess: PreprocessArgs,
}

/// Arguments of `reid engine info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// The ONNX model.
    #[arg(long, short)]
    pub model: PathBuf,
    #[command(flatten)]
    pub preprocess: PreprocessArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `reid engine ...`.
pub fn run(cmd: EngineCommand) -> Result<()> {
    match cmd {
        EngineCommand::Build(args) => build(args),
        EngineCommand::Calibrate(args) => calibrate(args),
        EngineCommand::Info(args) => info(args),
    }
}

/// Up to `limit` images of `dir`, evenly spread.
fn sample_images(dir: &std::path::Path, limit: usize) -> Result<Vec<PathBuf>> {
    let all = list_images(dir)?;
    if limit == 0 {
        bail!("the image limit must be at least 1");
    }
    let n = all.len().min(limit);
    Ok((0..n).map(|i| all[i * all.len() / n].clone()).collect())
}

#[cfg(feature = "ort")]
fn write_table(
    model: &std::path::Path,
    explicit: Option<&reid_runtime::engine::PreprocessConfig>,
    images: &[PathBuf],
    batch: usize,
    library: Option<&std::path::Path>,
    output: &std::path::Path,
) -> Result<()> {
    use reid_runtime::engine::ort::calibration;
    let bars = crate::progress::Bars::new();
    let started = Instant::now();
    let table = calibration::calibrate(model, explicit, images, batch, library, &bars)?;
    table.write(output).with_context(|| format!("writing {}", output.display()))?;
    eprintln!(
        "calibration: {} activations over {} images in {:.1} s -> {}",
        table.ranges.len(),
        images.len(),
        started.elapsed().as_secs_f64(),
        output.display()
    );
    Ok(())
}

#[cfg(not(feature = "ort"))]
fn write_table(
    _: &std::path::Path,
    _: Option<&reid_runtime::engine::PreprocessConfig>,
    _: &[PathBuf],
    _: usize,
    _: Option<&std::path::Path>,
    _: &std::path::Path,
) -> Result<()> {
    bail!("int8 calibration needs ONNX Runtime: this `reid` was built without feature `ort`")
}

fn calibrate(args: CalibrateArgs) -> Result<()> {
    let explicit = args.preprocess.resolve(&args.model)?;
    let images = sample_images(&args.images, args.limit)?;
    write_table(&args.model, explicit.as_ref(), &images, args.batch.max(1), args.ort_lib.as_deref(), &args.output)
}

fn build(mut args: BuildArgs) -> Result<()> {
    let explicit = args.preprocess.resolve(&args.model)?;
    if args.engine.engine != EngineKind::Auto && args.engine.engine != EngineKind::TensorRt {
        bail!("`reid engine build` builds TensorRT engines; drop --engine {}", args.engine.engine);
    }
    args.engine.engine = EngineKind::TensorRt;
    args.engine.strict = true;
    if let Some(dir) = &args.calibration {
        if args.engine.precision != Precision::Int8 {
            bail!("--calibration is for --precision int8 (the precision is {})", args.engine.precision);
        }
        let table = args.model.with_extension("calibration.cache");
        let images = sample_images(dir, args.calibration_images)?;
        write_table(&args.model, explicit.as_ref(), &images, 16, args.engine.ort_lib.as_deref(), &table)?;
        args.engine.calibration_table = Some(table);
    } else if args.engine.precision == Precision::Int8 && args.engine.calibration_table.is_none() {
        bail!("--precision int8 needs --calibration DIR (images) or --calibration-table FILE");
    }
    let started = Instant::now();
    let opened = args.engine.open(&args.model, explicit.as_ref()).context("building the TensorRT engine")?;
    println!(
        "TensorRT engine ready in {:.1} s ({} precision, batch 1..{}): {}",
        started.elapsed().as_secs_f64(),
        args.engine.precision,
        args.engine.max_batch,
        opened.description
    );
    Ok(())
}

fn info(args: InfoArgs) -> Result<()> {
    let explicit = args.preprocess.resolve(&args.model)?;
    #[cfg(feature = "ort")]
    {
        use reid_runtime::engine::ort::library;
        match library::find(args.engine.ort_lib.as_deref()) {
            Ok(lib) => {
                let providers = library::available_providers(Some(&lib.path))?;
                println!(
                    "ONNX Runtime {} at {} (providers: {})",
                    lib.version,
                    lib.path.display(),
                    providers.join(", ")
                );
            }
            Err(e) => println!("ONNX Runtime: not found ({e})"),
        }
    }
    #[cfg(not(feature = "ort"))]
    println!("ONNX Runtime: not in this build (feature `ort`)");
    let opened = args.engine.open(&args.model, explicit.as_ref())?;
    let info = opened.engine.info();
    let shape: Vec<String> =
        info.input_shape.iter().map(|d| d.fixed().map_or_else(|| "N".to_owned(), |v| v.to_string())).collect();
    println!("model   {}", info.path.display());
    println!("input   `{}` [{}]", info.input_name, shape.join(", "));
    println!(
        "output  `{}` dim {}{}",
        info.output_name,
        info.output_dim.map_or_else(|| "?".to_owned(), |d| d.to_string()),
        if info.l2_normalized { " (L2-normalised)" } else { "" }
    );
    let p = &info.preprocess;
    println!(
        "preprocessing  {}x{} {:?}, scale {:.6}, mean {:?}, std {:?}",
        p.height, p.width, p.color, p.scale, p.mean, p.std
    );
    println!("engine  {} ({})", args.engine.engine, opened.description);
    Ok(())
}
