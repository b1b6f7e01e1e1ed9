//! `reid evaluate`: mAP, CMC and mINP of query/gallery embeddings in TAO inference JSON, optionally re-ranked.

use crate::progress::Bars;
use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use reid_eval::Matrix;
use reid_eval::distance::{Metric, distance_matrix, l2_normalize_rows};
use reid_eval::metrics::{EvalResult, Label, evaluate_with_progress};
use reid_eval::progress::Progress;
use reid_eval::rerank::{RerankParams, rerank_with_progress};
use reid_runtime::dataset::{LabelSource, Labeler};
use reid_runtime::embeddings::{EmbeddingSet, read_tao_json};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of `reid evaluate`.
#[derive(Args, Debug)]
#[command(after_help = "Identities and cameras come from the image paths: Market-1501 file names \
(0002_c1s1_000451_03.jpg: pid 2, camera 1; pid -1 is junk and dropped, pid 0 a distractor) or, for \
camera-less data, the parent folder name (--labels folders). Embeddings are L2-normalised first.\n\n\
Example:\n  reid evaluate --query q.json --gallery g.json --re-ranking --report eval.json --plot cmc.png")]
pub struct EvaluateArgs {
    /// Query embeddings: TAO inference JSON, `[{"img_path": ..., "embedding": [...]}, ...]`.
    #[arg(long, short, required_unless_present = "spec")]
    pub query: Option<PathBuf>,
    /// Gallery embeddings, same format.
    #[arg(long, short, required_unless_present = "spec")]
    pub gallery: Option<PathBuf>,
    /// Evaluate a model instead: the TAO spec whose `evaluate.checkpoint` (a training checkpoint or an `.onnx`
    /// file) is embedded on the query/test folders (`evaluate.query_dataset`, `evaluate.test_dataset`, else the
    /// `dataset` section's folders), with the spec's re-ranking and flip settings.
    #[arg(short = 'e', long = "experiment-spec", value_name = "SPEC.yaml", conflicts_with_all = ["query", "gallery"])]
    pub spec: Option<PathBuf>,
    /// With `-e`: the results folder (same as `results_dir=DIR`).
    #[arg(short = 'r', long = "results-dir", value_name = "DIR", requires = "spec")]
    pub results_dir: Option<PathBuf>,
    /// With `-e`: `section.key=value` overrides, e.g. `evaluate.checkpoint=model.onnx`.
    #[arg(value_name = "KEY=VALUE", requires = "spec")]
    pub overrides: Vec<String>,
    /// Distance between L2-normalised embeddings: squared euclidean or cosine (1 - cosine similarity).
    /// Both rank identically; re-ranking always works on squared euclidean distances.
    #[arg(long, value_enum, default_value_t = MetricArg::Euclidean)]
    pub metric: MetricArg,
    /// Apply k-reciprocal re-ranking (Zhong et al. 2017) before evaluating.
    #[arg(long)]
    pub re_ranking: bool,
    /// Re-ranking: size of the k-reciprocal neighbourhood (spec `re_ranking.k1`).
    #[arg(long, default_value_t = 20)]
    pub k1: usize,
    /// Re-ranking: size of the local query expansion (spec `re_ranking.k2`; 1 disables it).
    #[arg(long, default_value_t = 6)]
    pub k2: usize,
    /// Re-ranking: weight of the original distance against the Jaccard distance (spec `re_ranking.lambda_value`).
    #[arg(long = "lambda", default_value_t = 0.3)]
    pub lambda: f64,
    /// Where identities and cameras come from: `market` file names, parent `folders`, or `auto`.
    #[arg(long, default_value = "auto", value_parser = parse_label_source)]
    pub labels: LabelSource,
    /// Skip images whose names do not parse (listed in the log) instead of failing.
    #[arg(long)]
    pub lenient: bool,
    /// Write mAP, mINP, rank-k and the whole CMC curve as JSON to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Draw the CMC curve (original and, with --re-ranking, re-ranked) as a PNG to this file.
    #[cfg(feature = "plot")]
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Highest rank drawn in the plot.
    #[arg(long, default_value_t = 50)]
    pub max_rank: usize,
}

/// The distance choice on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MetricArg {
    /// Squared euclidean distance.
    Euclidean,
    /// Cosine distance.
    Cosine,
}

fn parse_label_source(s: &str) -> Result<LabelSource, String> {
    s.parse().map_err(|e: reid_runtime::dataset::UnknownLabelSource| e.to_string())
}

/// The JSON written by `--report`.
#[derive(Serialize)]
struct Report<'a> {
    query: &'a Path,
    gallery: &'a Path,
    metric: Metric,
    re_ranking: Option<RerankParams>,
    num_queries: usize,
    num_gallery: usize,
    num_valid_queries: usize,
    junk_dropped: JunkCounts,
    #[serde(flatten)]
    scores: Summary,
    /// Without re-ranking, when re-ranking was applied.
    original: Option<Summary>,
    cmc: &'a [f64],
    seconds: Timings,
}

#[derive(Serialize)]
struct JunkCounts {
    query: usize,
    gallery: usize,
}

#[derive(Serialize)]
struct Summary {
    #[serde(rename = "mAP")]
    map: f64,
    #[serde(rename = "mINP")]
    minp: f64,
    rank1: f64,
    rank5: f64,
    rank10: f64,
}

impl From<&EvalResult> for Summary {
    fn from(r: &EvalResult) -> Self {
        Self { map: r.map, minp: r.minp, rank1: r.rank(1), rank5: r.rank(5), rank10: r.rank(10) }
    }
}

#[derive(Serialize, Default)]
struct Timings {
    load: f64,
    distances: f64,
    re_ranking: f64,
    evaluation: f64,
}

/// Loaded, labelled, normalised embeddings of one side.
struct Side {
    embeddings: Matrix,
    labels: Vec<Label>,
    junk: usize,
}

fn load_side(path: &Path, labeler: &mut Labeler, args: &EvaluateArgs, bars: &Bars) -> Result<Side> {
    bars.spinner(&format!("loading {}", path.display()));
    let set: EmbeddingSet = read_tao_json(path)?;
    bars.finish_stage();
    let labelled = labeler
        .label_paths(&set.paths, args.labels, args.lenient)
        .with_context(|| format!("labelling the images of {}", path.display()))?;
    for bad in &labelled.skipped {
        tracing::warn!("{}: skipped {}: {}", path.display(), bad.path.display(), bad.reason);
    }
    if labelled.kept.is_empty() {
        bail!("{}: no usable embeddings (all {} were junk or skipped)", path.display(), set.len());
    }
    let mut embeddings = set.select(&labelled.kept).embeddings;
    l2_normalize_rows(&mut embeddings);
    Ok(Side { embeddings, labels: labelled.labels, junk: labelled.junk_dropped })
}

/// Refuses flags that mean nothing (`--max-rank 0`, `--k1 0`, `--lambda` outside [0, 1] even without
/// `--re-ranking`) and outputs that would overwrite an input; returns the re-ranking parameters.
fn check_flags(args: &EvaluateArgs, query: &Path, gallery: &Path) -> Result<RerankParams> {
    if args.max_rank == 0 {
        bail!("--max-rank 0: the highest rank drawn must be at least 1");
    }
    let params = RerankParams { k1: args.k1, k2: args.k2, lambda: args.lambda };
    match params.validate() {
        Ok(()) => {}
        Err(reid_eval::rerank::RerankError::Param { key, value, expected }) => {
            let flag = if key == "lambda_value" { "lambda" } else { key };
            bail!("--{flag} {value}: expected {expected}");
        }
        Err(other) => return Err(other.into()),
    }
    #[cfg(feature = "plot")]
    let plot = args.plot.as_deref();
    #[cfg(not(feature = "plot"))]
    let plot: Option<&Path> = None;
    for (flag, out) in [("--report", args.report.as_deref()), ("--plot", plot)] {
        if let Some(out) = out
            && [query, gallery].iter().any(|input| same_file(input, out))
        {
            bail!("{flag} {}: that is an input file; writing it would overwrite the embeddings", out.display());
        }
    }
    Ok(params)
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn percent(x: f64) -> String {
    format!("{:6.2}%", 100.0 * x)
}

/// Runs `reid evaluate`.
pub fn run(args: EvaluateArgs) -> Result<()> {
    #[cfg(feature = "train")]
    if let Some(spec) = args.spec.clone() {
        return super::train::run_evaluate(super::train::SpecArgs {
            spec,
            results_dir: args.results_dir.clone(),
            overrides: args.overrides.clone(),
        });
    }
    let (Some(query), Some(gallery)) = (args.query.clone(), args.gallery.clone()) else {
        bail!(
            "give --query and --gallery embeddings{}",
            if cfg!(feature = "train") { ", or -e SPEC.yaml" } else { "" }
        );
    };
    let params = check_flags(&args, &query, &gallery)?;
    let bars = Bars::new();
    let mut t = Timings::default();
    let start = Instant::now();
    let mut labeler = Labeler::new();
    let q = load_side(&query, &mut labeler, &args, &bars)?;
    let g = load_side(&gallery, &mut labeler, &args, &bars)?;
    if q.embeddings.cols() != g.embeddings.cols() {
        bail!(
            "{} holds {}-d embeddings but {} holds {}-d ones",
            query.display(),
            q.embeddings.cols(),
            gallery.display(),
            g.embeddings.cols()
        );
    }
    t.load = start.elapsed().as_secs_f64();
    let metric = match args.metric {
        MetricArg::Euclidean => Metric::SquaredEuclidean,
        MetricArg::Cosine => Metric::Cosine,
    };

    let start = Instant::now();
    bars.spinner("distances");
    let dist = distance_matrix(&q.embeddings, &g.embeddings, metric)?;
    bars.finish_stage();
    t.distances = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let original = evaluate_with_progress(&dist, &q.labels, &g.labels, &bars)?;
    t.evaluation = start.elapsed().as_secs_f64();
    drop(dist);

    let (result, before) = if args.re_ranking {
        let start = Instant::now();
        let reranked = rerank_with_progress(&q.embeddings, &g.embeddings, &params, &bars)?;
        t.re_ranking = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let r = evaluate_with_progress(&reranked, &q.labels, &g.labels, &bars)?;
        t.evaluation += start.elapsed().as_secs_f64();
        (r, Some(original))
    } else {
        (original, None)
    };

    println!(
        "query   {} embeddings ({}-d) from {}{}",
        q.labels.len(),
        q.embeddings.cols(),
        query.display(),
        if q.junk > 0 { format!(", {} junk dropped", q.junk) } else { String::new() }
    );
    println!(
        "gallery {} embeddings from {}{}",
        g.labels.len(),
        gallery.display(),
        if g.junk > 0 { format!(", {} junk dropped", g.junk) } else { String::new() }
    );
    let rr = if args.re_ranking {
        format!(", re-ranked (k1={}, k2={}, lambda={})", params.k1, params.k2, params.lambda)
    } else {
        String::new()
    };
    println!("metric  {metric} on L2-normalised embeddings{rr}");
    println!("valid queries {}/{}", result.num_valid_queries, result.num_queries);
    let line = |name: &str, now: f64, was: Option<f64>| match was {
        Some(w) => println!("{name:<8}{}   (without re-ranking {})", percent(now), percent(w)),
        None => println!("{name:<8}{}", percent(now)),
    };
    line("mAP", result.map, before.as_ref().map(|b| b.map));
    line("rank-1", result.rank(1), before.as_ref().map(|b| b.rank(1)));
    line("rank-5", result.rank(5), before.as_ref().map(|b| b.rank(5)));
    line("rank-10", result.rank(10), before.as_ref().map(|b| b.rank(10)));
    line("mINP", result.minp, before.as_ref().map(|b| b.minp));

    if let Some(path) = &args.report {
        let report = Report {
            query: &query,
            gallery: &gallery,
            metric: if args.re_ranking { Metric::SquaredEuclidean } else { metric },
            re_ranking: args.re_ranking.then_some(params),
            num_queries: result.num_queries,
            num_gallery: g.labels.len(),
            num_valid_queries: result.num_valid_queries,
            junk_dropped: JunkCounts { query: q.junk, gallery: g.junk },
            scores: Summary::from(&result),
            original: before.as_ref().map(Summary::from),
            cmc: &result.cmc,
            seconds: t,
        };
        write_json_atomically(path, &report)?;
        println!("report  {}", path.display());
    }
    #[cfg(feature = "plot")]
    if let Some(path) = &args.plot {
        use reid_eval::plot::{Curve, cmc_png};
        let mut curves = Vec::new();
        if let Some(b) = &before {
            curves.push(Curve { label: format!("original (mAP {:.1}%)", 100.0 * b.map), values: b.cmc.clone() });
        }
        let label = if args.re_ranking { "re-ranked" } else { "original" };
        curves.push(Curve { label: format!("{label} (mAP {:.1}%)", 100.0 * result.map), values: result.cmc.clone() });
        cmc_png(path, "CMC curve", &curves, args.max_rank)?;
        println!("plot    {}", path.display());
    }
    Ok(())
}

/// Writes JSON to a temporary file and renames it into place, so a crash never leaves half a report.
pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let tmp = path.with_extension("partial");
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
