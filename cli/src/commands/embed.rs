//! `reid embed`: the TAO inference JSON of every image under a folder, embedded by an ONNX model (tract).

use crate::progress::Bars;
use anyhow::{Context, Result, bail};
use clap::Args;
use reid_runtime::embeddings::{EmbeddingSet, write_tao_json};
use reid_runtime::engine::preprocess::{IMAGENET_MEAN, IMAGENET_STD};
use reid_runtime::engine::{ColorOrder, EmbedOptions, Engine, PreprocessConfig, TractEngine, embed_paths, list_images};
use reid_runtime::progress::Progress;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `reid embed`.
#[derive(Args, Debug)]
#[command(after_help = "Models exported by `reid export` carry their input size, mean/std and colour order; \
for other models give them with --height --width [--mean --std --bgr] (mean/std default to ImageNet's). \
Embeddings are L2-normalised unless the model says its output already is.\n\n\
Example:\n  reid embed --model model.onnx --images data/query --output query.json --flip")]
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
    /// Input height, for models without `reid.*` metadata (overrides the metadata).
    #[arg(long, requires = "width")]
    pub height: Option<u32>,
    /// Input width, for models without `reid.*` metadata (overrides the metadata).
    #[arg(long, requires = "height")]
    pub width: Option<u32>,
    /// Per-channel mean of `[0, 1]` pixels, `R,G,B` (with --height/--width; default ImageNet's).
    #[arg(long, requires = "height", value_parser = parse_triple)]
    pub mean: Option<[f32; 3]>,
    /// Per-channel standard deviation, `R,G,B` (with --height/--width; default ImageNet's).
    #[arg(long, requires = "height", value_parser = parse_triple)]
    pub std: Option<[f32; 3]>,
    /// The model expects BGR input (with --height/--width); --mean/--std are then in B,G,R order.
    #[arg(long, requires = "height")]
    pub bgr: bool,
}

fn parse_triple(s: &str) -> Result<[f32; 3], String> {
    let values: Vec<f32> =
        s.split(',').map(|v| v.trim().parse::<f32>().map_err(|e| format!("`{v}`: {e}"))).collect::<Result<_, _>>()?;
    let values: [f32; 3] = values.try_into().map_err(|v: Vec<f32>| format!("{} values; expected 3", v.len()))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err("values must be finite".to_owned());
    }
    Ok(values)
}

/// Runs `reid embed`.
pub fn run(args: EmbedArgs) -> Result<()> {
    let explicit = match (args.height, args.width) {
        (Some(height), Some(width)) => {
            if height == 0 || width == 0 {
                bail!("--height and --width must be positive");
            }
            let std = args.std.unwrap_or(IMAGENET_STD);
            if std.iter().any(|v| *v <= 0.0) {
                bail!("--std values must be positive");
            }
            Some(PreprocessConfig {
                height,
                width,
                mean: args.mean.unwrap_or(IMAGENET_MEAN),
                std,
                scale: 1.0 / 255.0,
                color: if args.bgr { ColorOrder::Bgr } else { ColorOrder::Rgb },
            })
        }
        _ => None,
    };
    let bars = Bars::new();
    let paths = list_images(&args.images)?;
    bars.spinner(&format!("loading {}", args.model.display()));
    let engine = TractEngine::open(&args.model, explicit.as_ref());
    bars.finish_stage();
    let engine = engine?;
    let info = engine.info();
    tracing::info!(
        "{}: input `{}` {}x{}, output `{}`, l2-normalised {}",
        args.model.display(),
        info.input_name,
        info.preprocess.height,
        info.preprocess.width,
        info.output_name,
        info.l2_normalized
    );
    let options = EmbedOptions { batch_size: args.batch as usize, flip: args.flip, l2_normalize: true };
    let started = Instant::now();
    let embeddings = embed_paths(&engine, &paths, &options, &bars)?;
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
