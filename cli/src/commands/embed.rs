//! `reid embed`: the TAO inference JSON of every image under a folder, embedded by an ONNX model on any engine.

use crate::engine_args::{EngineArgs, PreprocessArgs};
use crate::progress::Bars;
use anyhow::{Context, Result};
use clap::Args;
use reid_eval::progress::Progress;
use reid_runtime::embeddings::{EmbeddingSet, write_tao_json};
use reid_runtime::engine::{EmbedOptions, embed_paths_cameras, list_images};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `reid embed`.
#[derive(Args, Debug)]
#[command(after_help = "Models exported by `reid export` carry their input size, mean/std and colour order; \
for other models give them with --height --width [--mean --std --bgr] (mean/std default to ImageNet's); \
any of these flags alone overrides that part of the metadata. Embeddings are L2-normalised unless the model says its output already is.\n\n\
A model with a camera input (TransReID SIE, metadata `reid.camera_input`) gets each image's camera from its \
Market-1501 name (0001_c3s1_000151_01.jpg is camera 2: c1 is 0), or --camera N for every image; models without \
one ignore --camera (with a warning).\n\n\
Example:\n  reid embed --model model.onnx --images data/query --output query.json --flip\n  \
reid embed --model model.onnx --images crops/ --output out.json --engine tensorrt --precision fp16 --max-batch 16")]
pub struct EmbedArgs {
    /// The ONNX model (input `N x 3 x H x W`, output `N x D`).
    #[arg(long, short)]
    pub model: PathBuf,
    /// Folder of images (searched recursively; jpg, png, bmp).
    #[arg(long, short)]
    pub images: PathBuf,
    /// Where to write the TAO inference JSON (`[{"img_path", "embedding"}]`).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Images per engine call.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Average each embedding with that of the mirrored image (TAO's flip feature).
    #[arg(long)]
    pub flip: bool,
    /// 0-based SIE camera id for every image, for a model with a camera input (default: from each
    /// Market-1501 file name, `c1` being 0).
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub camera: Option<i64>,
    #[command(flatten)]
    pub preprocess: PreprocessArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Runs `reid embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    let explicit = args.preprocess.resolve(&args.model)?;
    let bars = Bars::new();
    let paths = list_images(&args.images)?;
    bars.spinner(&format!("loading {}", args.model.display()));
    let opened = args.engine.open(&args.model, explicit.as_ref());
    bars.finish_stage();
    let opened = opened?;
    let engine = opened.engine.as_ref();
    let info = engine.info();
    let cameras = super::cameras::camera_ids(info, &paths, args.camera)?;
    eprintln!(
        "{}: input `{}` {}x{}{}, output `{}`{}; engine: {}",
        args.model.display(),
        info.input_name,
        info.preprocess.height,
        info.preprocess.width,
        match (&info.camera, args.camera) {
            (Some(c), Some(id)) => format!(", camera input `{}` ({} cameras; --camera {id})", c.name, c.count),
            (Some(c), None) => format!(", camera input `{}` ({} cameras; from the file names)", c.name, c.count),
            (None, _) => String::new(),
        },
        info.output_name,
        if info.l2_normalized { " (L2-normalised)" } else { "" },
        opened.description
    );
    let options = EmbedOptions { batch_size: args.batch as usize, flip: args.flip, l2_normalize: true };
    let started = Instant::now();
    let embeddings = embed_paths_cameras(engine, &paths, cameras.as_deref(), &options, &bars)?;
    let seconds = started.elapsed().as_secs_f64();
    let set = EmbeddingSet { paths: paths.iter().map(|p| p.to_string_lossy().into_owned()).collect(), embeddings };
    write_tao_json(&args.output, &set).with_context(|| format!("writing {}", args.output.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "embedded {} images (dim {}) in {:.2} s ({:.1} images/s{}) -> {}",
        set.len(),
        set.dim(),
        seconds,
        set.len() as f64 / seconds.max(1e-9),
        if args.flip { ", flip-averaged" } else { "" },
        args.output.display()
    )?;
    Ok(())
}
