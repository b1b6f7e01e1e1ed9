//! `reid`: the one command of the person re-identification stack.

mod commands;
mod engine_args;
mod progress;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Person re-identification: datasets, training, evaluation, re-ranking, export and benchmarks.
#[derive(Parser)]
#[command(name = "reid", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate query/gallery embeddings (TAO inference JSON), or with `-e spec.yaml` a checkpoint or ONNX model
    /// on the spec's query/test folders: mAP, CMC rank-1/5/10, mINP, optional re-ranking, plots.
    Evaluate(commands::evaluate::EvaluateArgs),
    /// Embed every image under a folder with an ONNX model into TAO inference JSON (ONNX Runtime CPU / CUDA /
    /// TensorRT, or tract).
    Embed(commands::embed::EmbedArgs),
    /// The matching service over Zenoh: serve a durable gallery, enrol, look up, forget, calibrate a threshold.
    #[cfg(feature = "gallery")]
    #[command(subcommand)]
    Gallery(commands::gallery::GalleryCommand),
    /// Build cached TensorRT engines, measure int8 calibration tables, show how a model would run.
    #[command(subcommand)]
    Engine(commands::engine::EngineCommand),
    /// Train a ReID network from a TAO spec (`-e spec.yaml`), with checkpoints, validation and curves.
    #[cfg(feature = "train")]
    Train(commands::train::SpecArgs),
    /// Write the TAO inference JSON (embeddings of the query and test folders) of `inference.checkpoint`.
    #[cfg(feature = "train")]
    Inference(commands::train::SpecArgs),
    /// Export `export.checkpoint` to ONNX (`export.onnx_file`), verified against the checkpoint.
    #[cfg(feature = "train")]
    Export(commands::train::SpecArgs),
    /// Inspect datasets (`check`), synthesise person datasets (`synth`) and embedding sets (`synth-embeddings`).
    #[command(subcommand)]
    Dataset(commands::dataset::DatasetCommand),
    /// Timed comparisons against the reference implementations (numpy, PyTorch), in one run.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(commands::bench::BenchCommand),
    /// DeepStream deployment: an nvinfer secondary-GIE config that runs the ReID model with TensorRT inside
    /// DeepStream (`config`).
    ///
    /// On a Jetson with DeepStream, `nvinfer` already runs TensorRT. `reid deepstream config -m model.onnx -o DIR`
    /// writes DIR/config_infer_secondary_reid.txt: nvinfer as a secondary GIE (process-mode 2, network-type 100
    /// "other", output-tensor-meta 1) on the objects of the detector `--operate-on-gie-id` and its classes
    /// `--operate-on-class-ids`, with the model's input size, colour order and normalisation from its `reid.*`
    /// metadata. nvinfer then attaches each person's raw embedding as NvDsInferTensorMeta, and `reidembed
    /// engine=nvinfer` L2-normalises it and attaches/publishes it (deploy/pipelines/deepstream-sgie.sh).
    ///
    /// nvinfer normalises every channel with ONE scale, y = net-scale-factor * (x - offsets[c]); a model trained
    /// with per-channel std (ImageNet's 0.229, 0.224, 0.225) cannot be reproduced exactly. The offsets are exact
    /// (mean / scale); the scale is chosen by `--scale-fit` and the command prints the largest deviation of a
    /// normalised value and measures the embedding cosine between exact and nvinfer preprocessing on synthetic
    /// person crops (`--samples`, run with this machine's engine).
    #[command(subcommand)]
    Deepstream(commands::deepstream::DeepstreamCommand),
    /// Check this host for edge deployment: GStreamer and the `reid` plugin, ONNX Runtime and its providers, CUDA
    /// driver, GPU, TensorRT, DeepStream (NvDs mode), disk for engine caches, Zenoh; one line each with how to fix
    /// what is missing.
    Doctor(commands::doctor::DoctorArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let result: Result<()> = match cli.command {
        Command::Evaluate(args) => commands::evaluate::run(args),
        Command::Embed(args) => commands::embed::run(args),
        Command::Engine(cmd) => commands::engine::run(cmd),
        #[cfg(feature = "gallery")]
        Command::Gallery(cmd) => commands::gallery::run(cmd),
        Command::Dataset(cmd) => commands::dataset::run(cmd),
        #[cfg(feature = "train")]
        Command::Train(args) => commands::train::run_train(args),
        #[cfg(feature = "train")]
        Command::Inference(args) => commands::train::run_inference(args),
        #[cfg(feature = "train")]
        Command::Export(args) => commands::train::run_export(args),
        #[cfg(feature = "bench")]
        Command::Bench(cmd) => commands::bench::run(cmd),
        Command::Deepstream(cmd) => commands::deepstream::run(cmd),
        Command::Doctor(args) => commands::doctor::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    // Zenoh warns on every short-lived peer session that its scouting delay elapsed; that is expected here.
    let default = match verbose {
        0 => "warn,zenoh::net::runtime::orchestrator=error",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
}
