//! `reid bench train`: training throughput and accuracy of the burn trainer beside a PyTorch implementation of
//! the same recipe (`tools/reference/train_torch_reference.py`), same data, epochs, batch and threads, one run.

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;
use reid_trainer::spec::Spec;
use reid_trainer::train::run::train_on;
use reid_trainer::train::session;
use reid_trainer::train::{RunPlan, Silent, TrainSummary};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const SCRIPT: &str = include_str!("../../../../tools/reference/train_torch_reference.py");
const REFERENCE: &str = include_str!("../../../../tools/reference/reid_reference.py");
const SPEC: &str = include_str!("../../../../trainer/specs/quickstart.yaml");

/// Arguments of `reid bench train`.
#[derive(Args)]
pub struct TrainBenchArgs {
    /// A Market-1501-format dataset (e.g. from `reid dataset synth`); both trainers read it.
    #[arg(long)]
    pub data: PathBuf,
    /// Epochs for both trainers (the quick-start recipe, `trainer/specs/quickstart.yaml`, otherwise unchanged).
    #[arg(long, default_value_t = 8)]
    pub epochs: usize,
    /// Extra `section.key=value` overrides of the recipe, applied to both (e.g. `model.backbone=resnet_50`).
    #[arg(value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// burn backends to time: `flex` (the default CPU backend) and, in builds with `--features ndarray`, `ndarray`.
    #[arg(long, value_delimiter = ',', default_value = "flex")]
    pub backends: Vec<String>,
    /// Python interpreter with torch and torchvision.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// PyTorch device (`cpu`, or `cuda` on a GPU machine).
    #[arg(long, default_value = "cpu")]
    pub torch_device: String,
    /// Only time burn.
    #[arg(long)]
    pub skip_reference: bool,
}

#[derive(Deserialize)]
struct Score {
    #[serde(rename = "mAP")]
    map: f64,
    rank1: f64,
}

#[derive(Deserialize)]
struct TorchRun {
    images_per_second: f64,
    untrained: Score,
    trained: Score,
}

fn device(name: &str) -> Result<Device> {
    match name {
        "flex" => Ok(Device::flex()),
        // burn 0.22 deprecates burn-ndarray in favour of flex; it is timed here only to back that choice.
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)]
        "ndarray" => Ok(Device::ndarray()),
        other => bail!("--backends: `{other}` is not available in this build (flex; ndarray with --features ndarray)"),
    }
}

fn ips(run: &TrainSummary) -> f64 {
    let images: f64 = run.history.iter().map(|r| r.images as f64).sum();
    images / run.history.iter().map(|r| r.seconds).sum::<f64>().max(1e-9)
}

/// Runs `reid bench train`.
pub fn run(args: &TrainBenchArgs) -> Result<()> {
    if !args.data.join("bounding_box_train").is_dir() {
        bail!("{}: no bounding_box_train folder (make one with `reid dataset synth --out DIR`)", args.data.display());
    }
    let tmp = tempfile::tempdir()?;
    let data = std::fs::canonicalize(&args.data).with_context(|| args.data.display().to_string())?;
    let mut overrides = vec![
        format!("results_dir={}", tmp.path().display()),
        format!("dataset.train_dataset_dir={}", data.join("bounding_box_train").display()),
        format!("dataset.test_dataset_dir={}", data.join("bounding_box_test").display()),
        format!("dataset.query_dataset_dir={}", data.join("query").display()),
        format!("train.num_epochs={}", args.epochs),
        format!("train.validation_interval={}", args.epochs),
        format!("train.checkpoint_interval={}", args.epochs),
    ];
    overrides.extend(args.overrides.iter().cloned());
    let spec = Spec::parse(SPEC, "trainer/specs/quickstart.yaml", &overrides)?;
    let threads = rayon::current_num_threads();
    let mut rows: Vec<(String, f64, f64, f64, f64)> = Vec::new();
    for backend in &args.backends {
        let dev = device(backend)?;
        eprintln!("burn ({backend}): training {} epochs ...", args.epochs);
        let mut s = spec.clone();
        s.results_dir = Some(tmp.path().join(backend));
        s.train.results_dir = Some(tmp.path().join(backend).join("train"));
        let run = train_on(&s, &[dev], &mut Silent)?;
        let before = run.initial.map(|v| v.map).unwrap_or(f64::NAN);
        let last = run.history.last().and_then(|r| r.validation);
        rows.push((
            format!("burn 0.22 ({backend})"),
            ips(&run),
            before,
            last.map_or(f64::NAN, |v| v.map),
            last.map_or(f64::NAN, |v| v.rank1),
        ));
    }
    let burn_ips = rows.first().map(|r| r.1);
    if !args.skip_reference {
        let script = tmp.path().join("train_torch_reference.py");
        std::fs::write(&script, SCRIPT)?;
        std::fs::write(tmp.path().join("reid_reference.py"), REFERENCE)?;
        let json = tmp.path().join("torch.json");
        // PyTorch starts from the burn trainer's initial network (the run's seed gives the same weights to
        // every `setup`), so the two differ only in their training.
        let init = tmp.path().join("init.safetensors");
        {
            let plan = RunPlan::from_spec(&spec)?;
            let first = session::setup(&plan, &[Device::flex()], &mut Silent)?;
            first.model.save_safetensors(&init, &BTreeMap::new())?;
        }
        let d = &spec.dataset;
        let o = &spec.train.optim;
        let list = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        eprintln!("PyTorch: training {} epochs ...", args.epochs);
        let mut cmd = Command::new(&args.python);
        cmd.arg(&script)
            .args(["--data".into(), data.display().to_string()])
            .args(["--epochs".into(), args.epochs.to_string()])
            .args(["--backbone", &spec.model.backbone])
            .args(["--height".into(), spec.model.input_height.to_string()])
            .args(["--width".into(), spec.model.input_width.to_string()])
            .args(["--feat-dim".into(), spec.model.feat_dim.to_string()])
            .args(["--batch-size".into(), d.batch_size.to_string()])
            .args(["--num-instances".into(), d.num_instances.to_string()])
            .args(["--base-lr".into(), o.base_lr.to_string()])
            .arg("--lr-steps")
            .args(o.lr_steps.iter().map(|x| x.to_string()))
            .args(["--gamma".into(), o.gamma.to_string()])
            .args(["--warmup-epochs".into(), o.warmup_epochs.to_string()])
            .args(["--warmup-factor".into(), o.warmup_factor.to_string()])
            .args(["--weight-decay".into(), o.weight_decay.to_string()])
            .args(["--weight-decay-bias".into(), o.weight_decay_bias.to_string()])
            .args(["--bias-lr-factor".into(), o.bias_lr_factor.to_string()])
            .args(["--padding".into(), d.padding.to_string()])
            .args(["--prob".into(), d.prob.to_string()])
            .args(["--re-prob".into(), d.re_prob.to_string()])
            .arg("--mean")
            .args(list(&d.pixel_mean))
            .arg("--std")
            .args(list(&d.pixel_std))
            .args(["--workers".into(), d.num_workers.to_string()])
            .args(["--threads".into(), threads.to_string()])
            .args(["--device", &args.torch_device])
            .args(["--seed".into(), spec.train.seed.to_string()])
            .arg("--init")
            .arg(&init)
            .arg("--json")
            .arg(&json);
        let status = cmd.status().with_context(|| format!("starting {}", args.python))?;
        if !status.success() {
            bail!("the PyTorch reference failed ({status})");
        }
        let text = std::fs::read_to_string(&json).with_context(|| json.display().to_string())?;
        let t: TorchRun = serde_json::from_str(&text).with_context(|| format!("reading {}", json.display()))?;
        rows.push((
            "PyTorch (same recipe)".into(),
            t.images_per_second,
            t.untrained.map,
            t.trained.map,
            t.trained.rank1,
        ));
    }
    println!(
        "{} at {}x{}, batch {} (P x K = {} x {}), {} epochs, {threads} threads, data {}",
        spec.model.backbone,
        spec.model.input_height,
        spec.model.input_width,
        spec.dataset.batch_size,
        spec.dataset.batch_size / spec.dataset.num_instances.max(1),
        spec.dataset.num_instances,
        args.epochs,
        data.display()
    );
    println!(
        "  {:<26}{:>10}{:>14}{:>12}{:>10}{:>14}",
        "trainer", "images/s", "mAP untrained", "mAP", "rank-1", "ratio img/s"
    );
    for (name, ips, before, map, r1) in &rows {
        let ratio = burn_ips.map_or(f64::NAN, |b| b / ips);
        println!("  {name:<26}{ips:>10.2}{before:>14.4}{map:>12.4}{r1:>10.4}{:>14}", format!("{ratio:.2}"));
    }
    println!("  (ratio = first burn backend's images/s over the row's)");
    Ok(())
}
