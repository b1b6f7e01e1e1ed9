//! `reid dataset ...`: inspect datasets before training or evaluating on them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use reid_runtime::dataset::{CheckOptions, DatasetError, check_dataset_with_progress};
use reid_synth::embeddings::{SynthSpec, generate};
use reid_synth::persons::{DatasetSpec, write_dataset};

use crate::progress::Bars;

/// Dataset subcommands.
#[derive(Subcommand)]
pub enum DatasetCommand {
    /// Count images, identities and cameras per split and flag problems: bad file names, query identities
    /// missing from the gallery, queries without a valid match, train/test identity leaks and, with
    /// `--decode`, corrupt images.
    Check(CheckArgs),
    /// Write a clustered synthetic query/gallery embedding set as TAO inference JSON (`query.json`,
    /// `gallery.json`) with Market-1501 file names, junk and distractors included: input for `reid evaluate`.
    SynthEmbeddings(SynthArgs),
    /// Render a synthetic person dataset in the Market-1501 layout (`bounding_box_train`, `bounding_box_test`,
    /// `query`; JPEG crops named like `0002_c1s1_000451_01.jpg`): seeded people (body shape, skin, hair,
    /// clothes and patterns, backpacks, bags, hats) seen by seeded cameras (lighting and colour cast,
    /// viewpoints, backgrounds, blur, noise, occluders). The same arguments write the same bytes. The
    /// defaults write 2,430 images in a few seconds, enough for a CPU quick-start training run.
    Synth(PersonsArgs),
}

/// Arguments of `reid dataset synth`.
#[derive(Args)]
pub struct PersonsArgs {
    /// Output folder: created if missing; must be empty unless --force.
    #[arg(long, short)]
    pub out: PathBuf,
    /// Training identities (pids 0001..N in `bounding_box_train`); 0 writes no training folder.
    #[arg(long, default_value_t = 100)]
    pub train_ids: u32,
    /// Test identities (the next pids, never in training): one query per camera each, the rest in
    /// `bounding_box_test`.
    #[arg(long, default_value_t = 50)]
    pub test_ids: u32,
    /// Cameras (c1..cN), at least 2; every identity is seen by every camera.
    #[arg(long, default_value_t = 4)]
    pub cameras: u32,
    /// Images of each identity in each camera.
    #[arg(long, default_value_t = 4)]
    pub images_per_camera: u32,
    /// Crop width in pixels (Market-1501: 64).
    #[arg(long, default_value_t = 64)]
    pub width: u32,
    /// Crop height in pixels (Market-1501: 128).
    #[arg(long, default_value_t = 128)]
    pub height: u32,
    /// Random seed: people, cameras and every image follow from it.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Distractor images (pid 0000: people of no test identity) added to the gallery.
    #[arg(long, default_value_t = 20)]
    pub distractors: u32,
    /// Junk images (pid -1: partial people, empty background; ignored by evaluation) added to the gallery.
    #[arg(long, default_value_t = 10)]
    pub junk: u32,
    /// Write into a non-empty folder, replacing its `bounding_box_train`, `bounding_box_test` and `query`
    /// folders and its `synth.json`, `README.txt` and `preview.png` (other files are kept).
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `reid dataset synth-embeddings`.
#[derive(Args)]
pub struct SynthArgs {
    /// Output folder (created if missing).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Size preset: `small` (100 identities, 400 queries, 2,050 gallery), `market1501` (3,368 x 15,913),
    /// `msmt17` (11,659 x 82,161).
    #[arg(long, default_value = "small", value_parser = ["small", "market1501", "msmt17"])]
    pub preset: String,
    /// Embedding dimension.
    #[arg(long, default_value_t = 256)]
    pub dim: usize,
    /// Random seed (the same seed gives the same set).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Arguments of `reid dataset check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Dataset root: a Market-1501 folder (`bounding_box_train` (optional), `bounding_box_test`, `query`,
    /// files named like `0002_c1s1_000451_03.jpg`) or a folder-per-identity root (`train` (optional),
    /// `query`, and `gallery` or `test`, each holding one sub-folder per identity).
    pub dir: PathBuf,
    /// Skip unusable files (names that do not parse, images outside an identity folder) and list them in the
    /// report, instead of stopping at the first one; undecodable images then do not fail the command either.
    #[arg(long)]
    pub lenient: bool,
    /// Also decode every image (in parallel) to find corrupt files and report image sizes per split; reads
    /// the whole dataset.
    #[arg(long)]
    pub decode: bool,
    /// Print the report as JSON on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs a dataset subcommand.
pub fn run(cmd: DatasetCommand) -> Result<()> {
    match cmd {
        DatasetCommand::Check(args) => check(&args),
        DatasetCommand::SynthEmbeddings(args) => synth(&args),
        DatasetCommand::Synth(args) => synth_persons(&args),
    }
}

fn synth_persons(args: &PersonsArgs) -> Result<()> {
    let spec = DatasetSpec {
        train_ids: args.train_ids,
        test_ids: args.test_ids,
        cameras: args.cameras,
        images_per_camera: args.images_per_camera,
        width: args.width,
        height: args.height,
        seed: args.seed,
        distractors: args.distractors,
        junk: args.junk,
    };
    let started = std::time::Instant::now();
    let summary = write_dataset(&spec, &args.out, args.force, &Bars::new())?;
    let seconds = started.elapsed().as_secs_f64();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {} images ({}x{}) to {} in {seconds:.1} s",
        summary.images(),
        spec.width,
        spec.height,
        args.out.display()
    )?;
    if summary.train_images > 0 {
        writeln!(
            out,
            "  bounding_box_train  {:>6} images, {} identities, {} cameras",
            summary.train_images, summary.train_ids, summary.cameras
        )?;
    }
    writeln!(
        out,
        "  query               {:>6} images, {} identities, {} cameras",
        summary.query_images, summary.test_ids, summary.cameras
    )?;
    writeln!(
        out,
        "  bounding_box_test   {:>6} images, {} identities + {} distractors (pid 0000) + {} junk (pid -1)",
        summary.gallery_images, summary.test_ids, summary.distractors, summary.junk
    )?;
    writeln!(out, "  seed {}; parameters in synth.json, a contact sheet in preview.png", spec.seed)?;
    writeln!(out, "check it with: reid dataset check {}", args.out.display())?;
    Ok(())
}

fn synth(args: &SynthArgs) -> Result<()> {
    let mut spec = match args.preset.as_str() {
        "market1501" => SynthSpec::market1501(args.dim),
        "msmt17" => SynthSpec::msmt17(args.dim),
        _ => SynthSpec { dim: args.dim, ..SynthSpec::small() },
    };
    if let Some(seed) = args.seed {
        spec.seed = seed;
    }
    if spec.dim == 0 {
        bail!("--dim must be at least 1");
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let set = generate(&spec);
    for (name, part) in [("query.json", &set.query), ("gallery.json", &set.gallery)] {
        let path = args.out.join(name);
        reid_runtime::embeddings::write_tao_json(&path, part)?;
        println!("wrote {} ({} embeddings, {}-d)", path.display(), part.len(), part.dim());
    }
    Ok(())
}

fn check(args: &CheckArgs) -> Result<()> {
    let opts = CheckOptions { lenient: args.lenient, decode: args.decode };
    let progress = Bars::new();
    let report = match check_dataset_with_progress(&args.dir, &opts, &progress) {
        Ok(report) => report,
        Err(err @ DatasetError::BadFile(_)) => {
            return Err(err).context(format!(
                "dataset `{}` has an unusable file (run with --lenient to list them all and go on)",
                args.dir.display()
            ));
        }
        // The other errors name the root, folder or file already.
        Err(err) => return Err(err.into()),
    };

    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report).context("writing the JSON report")?;
        writeln!(out)?;
    } else {
        write!(out, "{report}")?;
    }
    out.flush()?;

    let errors = report.errors();
    if errors > 0 && !args.lenient {
        bail!(
            "{errors} images in `{}` could not be decoded (see the report; --lenient reports them without failing)",
            args.dir.display()
        );
    }
    Ok(())
}
