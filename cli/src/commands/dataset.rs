//! `reid dataset ...`: inspect datasets before training or evaluating on them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use reid_runtime::dataset::{CheckOptions, DatasetError, check_dataset_with_progress};
use reid_runtime::synth::{SynthSpec, generate};

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
    }
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
