//! `reid train | inference | export` and the model mode of `reid evaluate`: the TAO tasks on a spec file
//! (`-e spec.yaml`, `-r results_dir`, then `section.key=value` overrides as TAO takes them).

use crate::progress::Bars;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reid_eval::plot;
use reid_eval::progress::Progress;
use reid_trainer::spec::Spec;
use reid_trainer::train::tasks::{self, Evaluation};
use reid_trainer::train::{EpochRecord, TrainObserver, TrainSummary, train};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The spec arguments every TAO task takes.
#[derive(Args, Debug, Clone)]
#[command(after_help = "Overrides use the spec's dotted keys, e.g.\n  \
reid train -e trainer/specs/quickstart.yaml results_dir=/tmp/run train.num_epochs=20 dataset.batch_size=64\n\
Values are YAML: lists as [0.5,0.5,0.5], booleans as True/False.")]
pub struct SpecArgs {
    /// The experiment spec (TAO YAML).
    #[arg(short = 'e', long = "experiment-spec", value_name = "SPEC.yaml")]
    pub spec: PathBuf,
    /// The results folder (same as the override `results_dir=DIR`).
    #[arg(short = 'r', long = "results-dir", value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// `section.key=value` overrides, applied after the file is read.
    #[arg(value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl SpecArgs {
    /// Reads the spec with the overrides (and `-r` as `results_dir=`).
    pub fn load(&self) -> Result<Spec> {
        let mut overrides = Vec::new();
        if let Some(r) = &self.results_dir {
            overrides.push(format!("results_dir={}", r.display()));
        }
        overrides.extend(self.overrides.iter().cloned());
        let spec = Spec::load(&self.spec, &overrides)?;
        // Said once per command, on stderr through the log (warn is on by default).
        if let Some(note) = reid_trainer::train::device_note::gpu_note(&spec) {
            tracing::warn!("{note}");
        }
        Ok(spec)
    }
}

/// Progress of training: one bar per epoch (on a terminal), log lines otherwise.
struct EpochBars {
    bar: ProgressBar,
    visible: bool,
    stages: Bars,
}

impl EpochBars {
    fn new() -> Self {
        EpochBars { bar: ProgressBar::hidden(), visible: std::io::stderr().is_terminal(), stages: Bars::new() }
    }
}

fn fmt_opt(name: &str, v: Option<f64>) -> String {
    v.map(|x| format!(" {name} {x:.4}")).unwrap_or_default()
}

impl TrainObserver for EpochBars {
    fn epoch_start(&mut self, epoch: usize, num_epochs: usize, batches: usize) {
        let target = if self.visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let style = ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed}, eta {eta})")
            .map_or_else(|_| ProgressStyle::default_bar(), |s| s.progress_chars("=> "));
        self.bar = ProgressBar::with_draw_target(Some(batches as u64), target)
            .with_style(style)
            .with_prefix(format!("{epoch}/{num_epochs}"));
    }

    fn batch_end(&mut self, done: usize, loss: f64, accuracy: f64, lr: f64) {
        self.bar.set_position(done as u64);
        self.bar.set_message(format!("loss {loss:.4} acc {accuracy:.3} lr {lr:.2e}"));
    }

    fn epoch_end(&mut self, r: &EpochRecord) {
        self.bar.finish_and_clear();
        let val = r.validation.map(|v| format!(" | val mAP {:.4} rank-1 {:.4}", v.map, v.rank1)).unwrap_or_default();
        eprintln!(
            "epoch {:>3}: loss {:.4}{}{}{} acc {:.3} lr {:.2e} {:.1} img/s{val}",
            r.epoch,
            r.loss,
            fmt_opt("id", r.id_loss),
            fmt_opt("triplet", r.triplet_loss),
            fmt_opt("center", r.center_loss),
            r.accuracy,
            r.lr,
            r.images as f64 / r.seconds.max(1e-9),
        );
    }

    fn message(&mut self, text: &str) {
        self.bar.suspend(|| tracing::info!("{text}"));
        if !text.starts_with("epoch") {
            eprintln!("{text}");
        }
    }

    fn progress(&self) -> &dyn Progress {
        &self.stages
    }
}

/// Draws the training curves of `history` to `path`.
pub fn curves_png(path: &Path, history: &[EpochRecord], title: &str) -> Result<()> {
    let epochs: Vec<f64> = history.iter().map(|r| r.epoch as f64).collect();
    let series = |name: &str, f: &dyn Fn(&EpochRecord) -> Option<f64>| {
        let values: Vec<f64> = history.iter().map(|r| f(r).unwrap_or(f64::NAN)).collect();
        values.iter().any(|v| v.is_finite()).then(|| plot::Series::new(name, values))
    };
    let losses = [
        series("loss", &|r| Some(r.loss)),
        series("id loss", &|r| r.id_loss),
        series("triplet loss", &|r| r.triplet_loss),
        series("center loss", &|r| r.center_loss),
    ]
    .into_iter()
    .flatten()
    .collect();
    let points = |f: &dyn Fn(&reid_trainer::train::Validation) -> f64| {
        history.iter().filter_map(|r| r.validation.map(|v| (r.epoch as f64, f(&v)))).collect::<Vec<_>>()
    };
    let curves = plot::TrainingCurves {
        title: title.to_owned(),
        epochs,
        losses,
        accuracy: series("train accuracy", &|r| Some(r.accuracy)).into_iter().collect(),
        validation: vec![
            plot::SparseSeries::new("val mAP", points(&|v| v.map)),
            plot::SparseSeries::new("val rank-1", points(&|v| v.rank1)),
        ],
        learning_rate: series("lr", &|r| Some(r.lr)).into_iter().collect(),
    };
    plot::training_curves(path, &curves).with_context(|| format!("drawing {}", path.display()))
}

/// `reid train`.
pub fn run_train(args: SpecArgs) -> Result<()> {
    let spec = args.load()?;
    let summary = train_spec(&spec)?;
    println!("trained {} epochs: results in {}", summary.history.len(), summary.dir.display());
    let last_val = summary.history.iter().rev().find_map(|r| r.validation);
    if let (Some(a), Some(b)) = (summary.initial, last_val) {
        println!(
            "  validation mAP {:.4} -> {:.4}, rank-1 {:.4} -> {:.4} (untrained -> trained)",
            a.map, b.map, a.rank1, b.rank1
        );
    }
    let summary_path = summary.dir.join("summary.json");
    let json = serde_json::json!({
        "epochs": summary.history.len(),
        "untrained": summary.initial.map(|v| serde_json::json!({"mAP": v.map, "rank1": v.rank1})),
        "trained": last_val.map(|v| serde_json::json!({"mAP": v.map, "rank1": v.rank1})),
        "last_model": summary.last_model,
        "best_model": summary.best_model,
        "skipped_unreadable": summary.skipped_unreadable,
        "images_per_second": summary.history.iter().map(|r| r.images as f64).sum::<f64>()
            / summary.history.iter().map(|r| r.seconds).sum::<f64>().max(1e-9),
    });
    std::fs::write(&summary_path, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("writing {}", summary_path.display()))?;
    println!("  final model:   {}", summary.last_model.display());
    if let Some(best) = &summary.best_model {
        println!("  best model:    {}", best.display());
    }
    println!("  metrics:       {}", summary.metrics.display());
    println!("  curves:        {}", summary.dir.join("training_curves.png").display());
    Ok(())
}

/// Trains and draws the curves; the summary says where everything went.
pub fn train_spec(spec: &Spec) -> Result<TrainSummary> {
    let mut observer = EpochBars::new();
    let summary = train(spec, &mut observer)?;
    curves_png(
        &summary.dir.join("training_curves.png"),
        &summary.history,
        &format!("training: {}", spec.model.backbone),
    )?;
    Ok(summary)
}

/// Prints and plots an evaluation; returns the final mAP and rank-1.
pub fn report_evaluation(spec: &Spec, ev: &Evaluation) -> Result<(f64, f64)> {
    let best = ev.scores.best();
    println!(
        "{}: {} queries ({} valid) against {} gallery images",
        ev.model.display(),
        ev.query.len(),
        best.num_valid_queries,
        ev.gallery.len()
    );
    println!("  engine      {}", ev.engine);
    let line = |name: &str, r: &reid_eval::metrics::EvalResult| {
        println!(
            "  {name:<11} mAP {:.4}  rank-1 {:.4}  rank-5 {:.4}  rank-10 {:.4}  mINP {:.4}",
            r.map,
            r.rank(1),
            r.rank(5),
            r.rank(10),
            r.minp
        );
    };
    line("original", &ev.scores.plain);
    if let Some(r) = &ev.scores.reranked {
        line("re-ranked", r);
    }
    std::fs::create_dir_all(&ev.dir).with_context(|| format!("creating {}", ev.dir.display()))?;
    let cmc = spec.evaluate.output_cmc_curve_plot.clone().unwrap_or_else(|| ev.dir.join("cmc_curve.png"));
    let mut curves = vec![plot::Curve { label: "original".into(), values: ev.scores.plain.cmc.clone() }];
    if let Some(r) = &ev.scores.reranked {
        curves.push(plot::Curve { label: "re-ranked".into(), values: r.cmc.clone() });
    }
    plot::cmc_png(&cmc, &format!("CMC: {}", spec.model.backbone), &curves, 50)?;
    let matches =
        spec.evaluate.output_sampled_matches_plot.clone().unwrap_or_else(|| ev.dir.join("sampled_matches.png"));
    let rows = plot::sample_match_rows(
        &ev.scores.distances,
        &ev.query_labels,
        &ev.gallery_labels,
        &ev.query,
        &ev.gallery,
        &plot::MatchSampling { k: 10, num_queries: 10, pick: plot::QueryPick::Random { seed: 0 } },
    )?;
    plot::sampled_matches_png(
        &matches,
        &plot::SampledMatches { title: format!("top-10 matches (green: same person), mAP {:.3}", best.map), rows },
    )?;
    let report = ev.dir.join("evaluation.json");
    let json = serde_json::json!({
        "model": ev.model,
        "original": {"mAP": ev.scores.plain.map, "rank1": ev.scores.plain.rank(1), "rank5": ev.scores.plain.rank(5),
                     "rank10": ev.scores.plain.rank(10), "mINP": ev.scores.plain.minp, "cmc": ev.scores.plain.cmc},
        "re_ranked": ev.scores.reranked.as_ref().map(|r| serde_json::json!({"mAP": r.map, "rank1": r.rank(1),
                     "rank5": r.rank(5), "rank10": r.rank(10), "mINP": r.minp})),
    });
    std::fs::write(&report, serde_json::to_string_pretty(&json)?)
        .with_context(|| format!("writing {}", report.display()))?;
    println!("  CMC curve:       {}", cmc.display());
    println!("  sampled matches: {}", matches.display());
    println!("  report:          {}", report.display());
    Ok((best.map, best.rank(1)))
}

/// `reid evaluate -e spec.yaml evaluate.checkpoint=...`.
pub fn run_evaluate(args: SpecArgs) -> Result<()> {
    let spec = args.load()?;
    let start = std::time::Instant::now();
    let ev = tasks::evaluate(&spec, &Bars::new())?;
    let seconds = start.elapsed().as_secs_f64();
    report_evaluation(&spec, &ev)?;
    println!("  evaluated in {seconds:.2} s");
    Ok(())
}

/// `reid inference`.
pub fn run_inference(args: SpecArgs) -> Result<()> {
    let spec = args.load()?;
    let (path, n) = tasks::inference(&spec, &Bars::new())?;
    println!("wrote {n} embeddings to {}", path.display());
    Ok(())
}

/// `reid export`.
pub fn run_export(args: SpecArgs) -> Result<()> {
    let spec = args.load()?;
    let x = tasks::export(&spec, &Bars::new())?;
    println!(
        "exported {} -> {} ({}-d embeddings); checked with tract on {} images: max relative difference {:.2e} (tolerance {:.0e})",
        x.checkpoint.display(),
        x.onnx.display(),
        x.dim,
        x.checked,
        x.max_rel_diff,
        tasks::EXPORT_TOLERANCE
    );
    Ok(())
}
