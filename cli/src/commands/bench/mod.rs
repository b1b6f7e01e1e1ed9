//! `reid bench ...`: timed comparisons against the reference implementations, run in the same invocation.

#[cfg(feature = "models")]
pub mod conv;
#[cfg(feature = "models")]
pub mod engine;
pub mod eval;
#[cfg(feature = "gallery")]
pub mod gallery;
#[cfg(feature = "models")]
pub mod model;
pub mod preprocess;
#[cfg(feature = "train")]
pub mod train;

use anyhow::Result;
use clap::Subcommand;

/// Benchmarks.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// Evaluation and k-reciprocal re-ranking on clustered synthetic embeddings at Market-1501 scale
    /// (3,368 queries x 15,913 gallery; 2048-d and 256-d) against the numpy reference in the same run, plus
    /// re-ranking at MSMT17 scale (11,659 x 82,161, 256-d). Prints times, speed-ups and peak memory.
    Eval(eval::EvalBenchArgs),
    /// CPU forward throughput of a ReID network in burn against PyTorch eager on the same input size, batch
    /// and thread count (ResNet-50 at 256x128, batch 16 by default).
    #[cfg(feature = "models")]
    Model(model::ModelBenchArgs),
    /// Where a ResNet training step's convolution time goes: forward, input gradient and weight gradient of every
    /// convolution in burn (the trainer's CPU backend) and in PyTorch, same shapes and threads (ResNet-18 at 64x32,
    /// batch 32 by default: the quick-start recipe).
    #[cfg(feature = "models")]
    Conv(conv::ConvBenchArgs),
    /// The runtime's CPU engine (tract) beside ONNX Runtime's Python API on the same exported ReID model, batch and
    /// threads (ResNet-50 BNNeck at 256x128, batch 1 and 32 by default), plus preprocessing cost per image.
    #[cfg(feature = "models")]
    Engine(engine::EngineBenchArgs),
    /// The bilinear resize of a person crop to the model input: `image`'s Triangle filter, the runtime's resize and
    /// `fast_image_resize` in one run (time per crop, speed-up, largest difference from `image`'s output).
    Preprocess(preprocess::PreprocessBenchArgs),
    /// Training throughput and mAP of the burn trainer beside a PyTorch implementation of the same recipe
    /// (`tools/reference/train_torch_reference.py`) on the same dataset, epochs, batch and threads.
    #[cfg(feature = "train")]
    Train(train::TrainBenchArgs),
    /// Exact top-k of the gallery index (f32, f16; batch 1 and 64) against FAISS IndexFlatIP on the same data and
    /// threads (1M x 256 by default; needs faiss-cpu in --python for the reference).
    #[cfg(feature = "gallery")]
    Gallery(Box<gallery::GalleryBenchArgs>),
    /// The gallery server under load over Zenoh on loopback: concurrent clients (8) on a 100k x 256 gallery;
    /// queries/s, p50/p99 latency and the process memory at the start and end of the load.
    #[cfg(feature = "gallery")]
    GalleryLoad(gallery::GalleryLoadArgs),
    /// Time from opening a gallery store to its first correct answer: the index rebuilt from the store beside it
    /// loaded from its snapshot, on the same store in one run (1M x 256 by default).
    #[cfg(feature = "gallery")]
    GalleryRestart(gallery::restart::GalleryRestartArgs),
    /// Internal: one timed task in a fresh process (so its peak memory is its own).
    #[command(hide = true)]
    Worker(eval::WorkerArgs),
}

/// The network the model and engine benchmarks time: `backbone` with last stride 1, a BNNeck head of `feat_dim`
/// and Market-1501's 751 classes, at `height` x `width`.
#[cfg(feature = "models")]
pub fn bench_config(backbone: &str, feat_dim: usize, height: usize, width: usize) -> Result<reid_models::ReidConfig> {
    Ok(reid_models::ReidConfig {
        backbone: reid_models::config::BackboneConfig::from_name(backbone, 1)?,
        feat_dim,
        neck: reid_models::Neck::Bnneck,
        neck_feat: reid_models::NeckFeat::After,
        num_classes: 751,
        input_channels: 3,
        input_height: height,
        input_width: width,
        jpm: None,
    })
}

/// Runs a benchmark command.
pub fn run(cmd: BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Eval(args) => eval::run(&args),
        #[cfg(feature = "models")]
        BenchCommand::Model(args) => model::run(&args),
        #[cfg(feature = "models")]
        BenchCommand::Engine(args) => engine::run(&args),
        BenchCommand::Preprocess(args) => preprocess::run(&args),
        #[cfg(feature = "train")]
        BenchCommand::Train(args) => train::run(&args),
        #[cfg(feature = "models")]
        BenchCommand::Conv(args) => conv::run(&args),
        #[cfg(feature = "gallery")]
        BenchCommand::Gallery(args) => gallery::run(&args),
        #[cfg(feature = "gallery")]
        BenchCommand::GalleryLoad(args) => gallery::run_load(&args),
        #[cfg(feature = "gallery")]
        BenchCommand::GalleryRestart(args) => gallery::restart::run(&args),
        BenchCommand::Worker(args) => eval::worker(&args),
    }
}

/// CPU seconds this process has used so far, all threads together (NaN where the clock is unavailable).
#[cfg(unix)]
pub fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec that outlives the call; the clock id is a constant libc defines.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc == 0 { ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9 } else { f64::NAN }
}

/// CPU seconds this process has used so far (NaN: no process clock here).
#[cfg(not(unix))]
pub fn process_cpu_seconds() -> f64 {
    f64::NAN
}
