//! `reid bench train`: training throughput and accuracy of the burn trainer beside a PyTorch implementation of
//! the same recipe (`tools/reference/train_torch_reference.py`), same data, epochs, batch, threads and initial
//! weights, in one run per seed. By default PyTorch replays the batches burn trained on ([`record`]), so the
//! two differ only in their arithmetic; each side's final weights are also scored by the other's evaluator.
//! `--float f64` runs both sides in float64 (burn's CPU device configured before any tensor exists, PyTorch's
//! `--dtype float64`), from burn's exact float64 start: whether the whole run, not only its first steps, is the
//! same computation once rounding is taken out.

pub mod record;

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, DeviceConfig, FloatDType};
use clap::{Args, ValueEnum};
use record::BatchRecorder;
use reid_trainer::spec::Spec;
use reid_trainer::train::run::train_on;
use reid_trainer::train::session;
use reid_trainer::train::tasks;
use reid_trainer::train::validate::summary;
use reid_trainer::train::{RunPlan, Silent, TrainSummary};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = include_str!("../../../../../tools/reference/train_torch_reference.py");
const REFERENCE: &str = include_str!("../../../../../tools/reference/reid_reference.py");
const SPEC: &str = include_str!("../../../../../trainer/specs/quickstart.yaml");
/// Per seed folder: `{"float", "burn": [step losses], "torch": [...]}`.
const STEPS: &str = "steps.json";

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
    /// Seeds (`train.seed`: initial weights, sampler order, augmentation): one run of each trainer per seed, then
    /// the means. Default: the recipe's seed.
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Let PyTorch draw its own sampler order and augmentation instead of replaying burn's batches.
    #[arg(long)]
    pub own_batches: bool,
    /// Also train PyTorch a second time from the initial weights times `1 + 1e-6 N(0, 1)`: how far f32 training
    /// drifts from a start that differs only by rounding (the noise floor of the burn / PyTorch comparison).
    #[arg(long)]
    pub noise_floor: bool,
    /// Keep the runs (recorded batches, initial and final weights, PyTorch's JSON) in this folder instead of a
    /// temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// What both trainers compute in: `f32` (as `reid train`), or `f64` (burn's CPU device configured to float64
    /// before any tensor is created, PyTorch's `--dtype float64`, both from burn's exact float64 start): with
    /// rounding taken out, whether the two runs stay the same computation to the end. `f64` needs the flex
    /// backend only.
    #[arg(long = "float", value_enum, default_value_t = Float::F32)]
    pub float: Float,
    /// Another run's `--keep` folder (e.g. the same seeds at the other `--float`): its per-step losses are compared
    /// and plotted beside this run's.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Draw `|burn - PyTorch| / |PyTorch|` of every step's loss (log scale), one line per seed and run (this one
    /// and `--compare`'s), into this PNG.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Train nothing: read the `--seeds`' step losses from the `--keep` folder of an earlier run and only redo the
    /// comparison with `--compare` and the `--plot`.
    #[arg(long, requires = "keep")]
    pub from_kept: bool,
}

/// One seed's per-step losses as written to `steps.json`.
#[derive(Deserialize, Serialize)]
struct Steps {
    float: String,
    burn: Vec<f64>,
    torch: Vec<f64>,
}

/// `|a - b| / |b|` per step, over the steps both have.
fn relative_differences(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| (x - y).abs() / y.abs().max(1e-12)).collect()
}

/// The first crossing of each of [`LIMITS`], as text.
fn crossings(a: &[f64], b: &[f64]) -> String {
    let firsts: Vec<String> = LIMITS
        .iter()
        .map(|&l| match first_exceeding(a, b, l) {
            Some(step) => format!("> {l:.0e} at step {step}"),
            None => format!("never > {l:.0e}"),
        })
        .collect();
    format!("{} (of {})", firsts.join(", "), a.len().min(b.len()))
}

/// A kept run's `seed{seed}/steps.json`.
fn read_steps(dir: &Path, seed: u64, flag: &str) -> Result<Steps> {
    let path = dir.join(format!("seed{seed}")).join(STEPS);
    let text = std::fs::read_to_string(&path).with_context(|| format!("{flag}: {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{flag}: reading {}", path.display()))
}

/// `--from-kept`: the comparison and plot of an earlier run kept with `--keep`, without training.
fn replot(args: &TrainBenchArgs) -> Result<()> {
    let Some(keep) = &args.keep else { bail!("--from-kept reads the --keep folder: give --keep DIR") };
    if args.seeds.is_empty() {
        bail!("--from-kept: name the kept run's seeds with --seeds");
    }
    let runs =
        args.seeds.iter().map(|&seed| Ok((seed, read_steps(keep, seed, "--keep")?))).collect::<Result<Vec<_>>>()?;
    compare_and_plot(args, &runs)
}

/// This run's and `--compare`'s step losses: the comparison printed, and the plot drawn with `--plot`.
fn compare_and_plot(args: &TrainBenchArgs, runs: &[(u64, Steps)]) -> Result<()> {
    let mut curves = Vec::new();
    for (seed, r) in runs.iter().filter(|(_, r)| !r.torch.is_empty()) {
        let label = format!("seed {seed} {}", r.float);
        curves.push(reid_eval::plot::Curve { label, values: relative_differences(&r.burn, &r.torch) });
        let Some(other) = &args.compare else { continue };
        let o = read_steps(other, *seed, "--compare")?;
        println!(
            "  seed {seed}: relative step-loss difference, {}: {}; {} (--compare): {}",
            r.float,
            crossings(&r.burn, &r.torch),
            o.float,
            crossings(&o.burn, &o.torch)
        );
        let label = format!("seed {seed} {}", o.float);
        curves.push(reid_eval::plot::Curve { label, values: relative_differences(&o.burn, &o.torch) });
    }
    if let Some(png) = &args.plot {
        let title = "reid bench train: |burn - PyTorch| / |PyTorch| of each step's loss (same batches, same start)";
        // Below f64's resolution: a float64 pair's differences (1e-16 and up) stay visible.
        reid_eval::plot::log_steps_png(png, title, "relative loss difference", &curves, 1e-17)?;
        println!("  plot: {}", png.display());
    }
    Ok(())
}

/// The float type `reid bench train` trains in (`--float`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Float {
    /// 32-bit, as `reid train`.
    F32,
    /// 64-bit on both sides.
    F64,
}

impl Float {
    /// The reference script's `--dtype`.
    fn torch(self) -> &'static str {
        match self {
            Float::F32 => "float32",
            Float::F64 => "float64",
        }
    }
}

/// Refuses flag combinations that cannot run: float64 is configured on burn-flex's CPU device only.
fn check_args(args: &TrainBenchArgs) -> Result<()> {
    if args.float == Float::F64
        && let Some(other) = args.backends.iter().find(|b| b.as_str() != "flex")
    {
        bail!("--float f64 runs on the flex backend only; drop `{other}` from --backends");
    }
    if args.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    if (args.compare.is_some() || args.plot.is_some()) && args.skip_reference {
        bail!("--compare and --plot compare with PyTorch's step losses: drop --skip-reference");
    }
    Ok(())
}

/// Makes the CPU device compute in float64; must run before this process creates any tensor.
fn configure_f64() -> Result<()> {
    let mut d = Device::flex();
    d.configure(DeviceConfig::default().float_dtype(FloatDType::F64))
        .map_err(|e| anyhow::anyhow!("--float f64: configuring the CPU device for float64: {e:?}"))
}

#[derive(Deserialize, Clone, Copy)]
struct Score {
    #[serde(rename = "mAP")]
    map: f64,
    rank1: f64,
}

#[derive(Deserialize)]
struct TensorDifference {
    tensor: String,
    relative: f64,
}

#[derive(Deserialize)]
struct TorchRun {
    images_per_second: f64,
    untrained: Score,
    trained: Score,
    #[serde(default)]
    step_losses: Vec<f64>,
    /// burn's final weights scored by PyTorch's evaluator.
    eval_weights: Option<Score>,
    /// Per tensor, max |PyTorch - other| / max |other| against `eval_weights`' network, largest first.
    #[serde(default)]
    weights_difference: Vec<TensorDifference>,
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

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// One trainer's result for one seed.
struct Row {
    name: String,
    ips: f64,
    before: f64,
    map: f64,
    rank1: f64,
    load: String,
}

/// Everything one seed measured.
struct SeedRun {
    seed: u64,
    rows: Vec<Row>,
    burn_steps: Vec<f64>,
    torch_steps: Vec<f64>,
    /// burn's final weights in PyTorch's evaluator, PyTorch's in burn's.
    cross: Option<(Score, Score)>,
    /// The largest per-tensor differences between the final networks: burn vs PyTorch, and (with
    /// `--noise-floor`) PyTorch vs PyTorch from the perturbed start.
    weights: Vec<(String, Vec<TensorDifference>)>,
    /// With `--noise-floor`: the perturbed PyTorch run's mAP, and the worst relative step-loss difference from the
    /// unperturbed run over steps 1-10.
    noise: Option<(f64, f64)>,
}

/// Runs `reid bench train`.
pub fn run(args: &TrainBenchArgs) -> Result<()> {
    check_args(args)?;
    if args.from_kept {
        return replot(args);
    }
    if args.float == Float::F64 {
        configure_f64()?;
    }
    if !args.data.join("bounding_box_train").is_dir() {
        bail!("{}: no bounding_box_train folder (make one with `reid dataset synth --out DIR`)", args.data.display());
    }
    let temp = tempfile::tempdir()?;
    let root = match &args.keep {
        Some(k) => {
            std::fs::create_dir_all(k).with_context(|| format!("--keep: creating {}", k.display()))?;
            k.clone()
        }
        None => temp.path().to_owned(),
    };
    let tmp = root.as_path();
    let data = std::fs::canonicalize(&args.data).with_context(|| args.data.display().to_string())?;
    let mut overrides = vec![
        format!("results_dir={}", tmp.display()),
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
    let seeds = if args.seeds.is_empty() { vec![spec.train.seed] } else { args.seeds.clone() };
    std::fs::write(tmp.join("train_torch_reference.py"), SCRIPT)?;
    std::fs::write(tmp.join("reid_reference.py"), REFERENCE)?;
    let mut runs = Vec::new();
    for &seed in &seeds {
        let mut s = spec.clone();
        s.train.seed = seed;
        let dir = tmp.join(format!("seed{seed}"));
        let r = run_seed(args, &s, &data, &dir, threads)?;
        // Both sides' per-step losses, for later comparison of runs kept with --keep (f32 against f64).
        let steps =
            Steps { float: args.float.torch().to_owned(), burn: r.burn_steps.clone(), torch: r.torch_steps.clone() };
        let path = dir.join(STEPS);
        std::fs::write(&path, serde_json::to_vec(&steps)?).with_context(|| path.display().to_string())?;
        print_seed(&r, args);
        runs.push(r);
    }
    println!(
        "\n{} at {}x{}, batch {} (P x K = {} x {}), {} epochs, {threads} threads, {}, data {}; PyTorch {}",
        spec.model.backbone,
        spec.model.input_height,
        spec.model.input_width,
        spec.dataset.batch_size,
        spec.dataset.batch_size / spec.dataset.num_instances.max(1),
        spec.dataset.num_instances,
        args.epochs,
        args.float.torch(),
        data.display(),
        if args.own_batches { "draws its own batches" } else { "replays burn's batches" },
    );
    println!(
        "  {:<26}{:>8}{:>10}{:>14}{:>10}{:>10}{:>14}{:>8}",
        "trainer", "seed", "images/s", "mAP untrained", "mAP", "rank-1", "ratio img/s", "load"
    );
    for r in &runs {
        let burn_ips = r.rows.first().map(|x| x.ips);
        for row in &r.rows {
            let ratio = burn_ips.map_or(f64::NAN, |b| b / row.ips);
            println!(
                "  {:<26}{:>8}{:>10.2}{:>14.4}{:>10.4}{:>10.4}{:>14}{:>8}",
                row.name,
                r.seed,
                row.ips,
                row.before,
                row.map,
                row.rank1,
                format!("{ratio:.2}"),
                row.load
            );
        }
    }
    let columns = runs.first().map_or(0, |r| r.rows.len());
    for c in 0..columns {
        let mean = |f: &dyn Fn(&Row) -> f64| runs.iter().map(|r| f(&r.rows[c])).sum::<f64>() / runs.len() as f64;
        println!(
            "  {:<26}{:>8}{:>10.2}{:>14.4}{:>10.4}{:>10.4}",
            runs[0].rows[c].name,
            "mean",
            mean(&|x| x.ips),
            mean(&|x| x.before),
            mean(&|x| x.map),
            mean(&|x| x.rank1)
        );
    }
    if args.noise_floor && !args.skip_reference {
        let maps: Vec<f64> = runs.iter().filter_map(|r| r.noise.map(|n| n.0)).collect();
        let torch: Vec<f64> = runs.iter().map(|r| r.rows[columns - 1].map).collect();
        let gap = maps.iter().zip(&torch).map(|(a, b)| (a - b).abs()).sum::<f64>() / maps.len().max(1) as f64;
        println!(
            "  {:<26}{:>8}{:>10}{:>14}{:>10.4}   mean |mAP - PyTorch's| {:.4} (the noise floor)",
            "PyTorch, init x (1+1e-6 N)",
            "mean",
            "",
            "",
            maps.iter().sum::<f64>() / maps.len().max(1) as f64,
            gap
        );
        let burn_gap =
            runs.iter().map(|r| (r.rows[0].map - r.rows[columns - 1].map).abs()).sum::<f64>() / runs.len() as f64;
        println!("  {:<26}{:>8}   mean |mAP - PyTorch's| {burn_gap:.4}", runs[0].rows[0].name, "mean");
    }
    if columns >= 2 && !args.skip_reference {
        let diff: f64 = runs.iter().map(|r| r.rows[0].map - r.rows[columns - 1].map).sum::<f64>() / runs.len() as f64;
        let ratio: f64 = runs.iter().map(|r| r.rows[0].ips / r.rows[columns - 1].ips).sum::<f64>() / runs.len() as f64;
        println!(
            "  mean mAP difference (first burn backend - PyTorch): {:+.4} ({:+.2} points); mean images/s ratio {ratio:.2}",
            diff,
            100.0 * diff
        );
    }
    println!("  (ratio = first burn backend's images/s over the row's; load = 1-minute load average after the run)");
    let steps: Vec<(u64, Steps)> = runs
        .iter()
        .map(|r| {
            let float = args.float.torch().to_owned();
            (r.seed, Steps { float, burn: r.burn_steps.clone(), torch: r.torch_steps.clone() })
        })
        .collect();
    compare_and_plot(args, &steps)
}

fn run_seed(args: &TrainBenchArgs, spec: &Spec, data: &Path, dir: &Path, threads: usize) -> Result<SeedRun> {
    let replay = !args.own_batches && !args.skip_reference;
    let batches = dir.join("batches");
    let mut rows = Vec::new();
    let mut burn_steps = Vec::new();
    let mut burn_last = None;
    for (i, backend) in args.backends.iter().enumerate() {
        let dev = device(backend)?;
        eprintln!("seed {}: burn ({backend}) training {} epochs ...", spec.train.seed, args.epochs);
        let mut s = spec.clone();
        s.results_dir = Some(dir.join(backend));
        s.train.results_dir = Some(dir.join(backend).join("train"));
        let mut recorder = BatchRecorder::new((replay && i == 0).then_some(batches.as_path()))?;
        let run = train_on(&s, &[dev], &mut recorder)?;
        let load = load_average();
        let steps = recorder.finish()?;
        if i == 0 {
            burn_steps = steps;
            burn_last = Some(run.last_model.clone());
        }
        let before = run.initial.map(|v| v.map).unwrap_or(f64::NAN);
        let last = run.history.last().and_then(|r| r.validation);
        rows.push(Row {
            name: format!("burn 0.22 ({backend})"),
            ips: ips(&run),
            before,
            map: last.map_or(f64::NAN, |v| v.map),
            rank1: last.map_or(f64::NAN, |v| v.rank1),
            load,
        });
    }
    if args.skip_reference {
        return Ok(SeedRun {
            seed: spec.train.seed,
            rows,
            burn_steps,
            torch_steps: Vec::new(),
            cross: None,
            weights: Vec::new(),
            noise: None,
        });
    }
    let script = dir.parent().unwrap_or(dir).join("train_torch_reference.py");
    let json = dir.join("torch.json");
    let torch_final = dir.join("torch_final.safetensors");
    // PyTorch starts from the burn trainer's initial network (the run's seed gives the same weights to every
    // `setup`), so the two differ only in their training.
    let init = dir.join("init.safetensors");
    {
        let plan = RunPlan::from_spec(spec)?;
        let first = session::setup(&plan, &[Device::flex()], &mut Silent)?;
        match args.float {
            Float::F32 => first.model.save_safetensors(&init, &BTreeMap::new())?,
            // burn's float64 initial weights, bit for bit (f32 would round the start PyTorch gets).
            Float::F64 => first.model.save_safetensors_f64(&init, &BTreeMap::new())?,
        }
    }
    eprintln!("seed {}: PyTorch training {} epochs ...", spec.train.seed, args.epochs);
    let mut cmd = torch_command(args, spec, &script, data, &init, threads);
    cmd.arg("--save-final").arg(&torch_final).arg("--json").arg(&json);
    if replay {
        cmd.arg("--replay").arg(&batches);
    }
    if let Some(last) = &burn_last {
        cmd.arg("--eval-weights").arg(last);
    }
    let status = cmd.status().with_context(|| format!("starting {}", args.python))?;
    if !status.success() {
        bail!("the PyTorch reference failed ({status})");
    }
    let load = load_average();
    let text = std::fs::read_to_string(&json).with_context(|| json.display().to_string())?;
    let t: TorchRun = serde_json::from_str(&text).with_context(|| format!("reading {}", json.display()))?;
    rows.push(Row {
        name: "PyTorch (same recipe)".into(),
        ips: t.images_per_second,
        before: t.untrained.map,
        map: t.trained.map,
        rank1: t.trained.rank1,
        load,
    });
    // PyTorch's final weights through burn's evaluator (the one training validation uses).
    let mut e = spec.clone();
    e.evaluate.checkpoint = Some(torch_final.clone());
    let torch_in_burn = summary(&tasks::evaluate(&e, &reid_eval::progress::NoProgress)?.scores.plain);
    let cross = t.eval_weights.map(|b| (b, Score { map: torch_in_burn.map, rank1: torch_in_burn.rank1 }));
    let mut weights = vec![("burn vs PyTorch".to_owned(), t.weights_difference)];
    let mut noise = None;
    if args.noise_floor {
        eprintln!("seed {}: PyTorch again from the perturbed start ...", spec.train.seed);
        let json2 = dir.join("torch_noise.json");
        let mut cmd = torch_command(args, spec, &script, data, &init, threads);
        cmd.args(["--init-noise", "1e-6", "--eval-weights"]).arg(&torch_final).arg("--json").arg(&json2);
        if replay {
            cmd.arg("--replay").arg(&batches);
        }
        let status = cmd.status().with_context(|| format!("starting {}", args.python))?;
        if !status.success() {
            bail!("the perturbed PyTorch run failed ({status})");
        }
        let text = std::fs::read_to_string(&json2).with_context(|| json2.display().to_string())?;
        let n: TorchRun = serde_json::from_str(&text).with_context(|| format!("reading {}", json2.display()))?;
        let steps = n.step_losses.len().min(t.step_losses.len()).min(10);
        let worst = (0..steps)
            .map(|i| (n.step_losses[i] - t.step_losses[i]).abs() / t.step_losses[i].abs().max(1e-12))
            .fold(0.0f64, f64::max);
        noise = Some((n.trained.map, worst));
        weights.push(("PyTorch perturbed vs PyTorch".to_owned(), n.weights_difference));
    }
    Ok(SeedRun { seed: spec.train.seed, rows, burn_steps, torch_steps: t.step_losses, cross, weights, noise })
}

/// The reference script's command line for the recipe of `spec` (without outputs or replay).
fn torch_command(
    args: &TrainBenchArgs,
    spec: &Spec,
    script: &Path,
    data: &Path,
    init: &Path,
    threads: usize,
) -> Command {
    let d = &spec.dataset;
    let o = &spec.train.optim;
    let list = |v: &[f64]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    eprintln!("seed {}: PyTorch training {} epochs ...", spec.train.seed, args.epochs);
    let mut cmd = Command::new(&args.python);
    cmd.arg(script)
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
        .args(["--dtype", args.float.torch()])
        .arg("--init")
        .arg(init);
    cmd
}

fn print_seed(r: &SeedRun, args: &TrainBenchArgs) {
    println!("seed {}:", r.seed);
    for row in &r.rows {
        println!(
            "  {:<26} {:>8.2} img/s  mAP {:.4}  rank-1 {:.4}  (load {})",
            row.name, row.ips, row.map, row.rank1, row.load
        );
    }
    if let Some((burn_in_torch, torch_in_burn)) = r.cross {
        println!(
            "  same evaluator: burn's weights in PyTorch's evaluator mAP {:.4} (rank-1 {:.4}); PyTorch's weights in \
             burn's evaluator mAP {:.4} (rank-1 {:.4})",
            burn_in_torch.map, burn_in_torch.rank1, torch_in_burn.map, torch_in_burn.rank1
        );
    }
    for (what, diffs) in &r.weights {
        let worst: Vec<String> = diffs.iter().take(3).map(|d| format!("{} {:.1e}", d.tensor, d.relative)).collect();
        if !worst.is_empty() {
            println!("  final weights, {what}: largest per-tensor max|a-b|/max|b|: {}", worst.join(", "));
        }
    }
    if let Some((map, worst)) = r.noise {
        println!(
            "  PyTorch from init x (1 + 1e-6 N): mAP {map:.4}; worst relative step-loss difference from the \
             unperturbed run over steps 1-10 {worst:.1e}"
        );
    }
    if r.torch_steps.is_empty() || r.burn_steps.is_empty() {
        return;
    }
    let rel = |i: usize| (r.burn_steps[i] - r.torch_steps[i]).abs() / r.torch_steps[i].abs().max(1e-12);
    let n = r.burn_steps.len().min(r.torch_steps.len());
    let first: Vec<String> = (0..n.min(4)).map(|i| format!("{:.5}/{:.5}", r.burn_steps[i], r.torch_steps[i])).collect();
    let worst = |k: usize| (0..n.min(k)).map(rel).fold(0.0f64, f64::max);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let tail = n.saturating_sub(10);
    println!(
        "  step losses burn/PyTorch ({}, {:?}): first steps {}; worst relative difference over steps 1-3 {:.1e}, \
         1-10 {:.1e}, all {n} {:.1e}; mean of the last 10 {:.4}/{:.4}",
        if args.own_batches { "own batches" } else { "same batches" },
        args.float,
        first.join(" "),
        worst(3),
        worst(10),
        worst(n),
        mean(&r.burn_steps[tail..n]),
        mean(&r.torch_steps[tail..n]),
    );
    println!("  relative step-loss difference, first step (1-based): {}", crossings(&r.burn_steps, &r.torch_steps));
}

/// The relative step-loss differences whose first crossing `reid bench train` reports.
const LIMITS: [f64; 3] = [1e-6, 1e-4, 1e-2];

/// The first step (1-based) whose `|a - b| / |b|` exceeds `limit`, over the steps both have.
fn first_exceeding(a: &[f64], b: &[f64], limit: f64) -> Option<usize> {
    relative_differences(a, b).iter().position(|&d| d > limit).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        bench: TrainBenchArgs,
    }

    fn parse(extra: &[&str]) -> Result<TrainBenchArgs, clap::Error> {
        let argv = ["reid", "--data", "D"].iter().chain(extra).copied();
        Cli::try_parse_from(argv).map(|c| c.bench)
    }

    #[test]
    fn float_defaults_to_f32_and_parses_f64() {
        assert_eq!(parse(&[]).unwrap().float, Float::F32);
        let a = parse(&["--float", "f64"]).unwrap();
        assert_eq!(a.float, Float::F64);
        assert_eq!(a.float.torch(), "float64");
        assert_eq!(parse(&["--float", "f32"]).unwrap().float.torch(), "float32");
        check_args(&a).unwrap();
    }

    #[test]
    fn float_refuses_other_types_and_f64_off_flex() {
        let e = parse(&["--float", "f16"]).err().expect("f16 is not a choice").to_string();
        assert!(e.contains("f16") && e.contains("f32") && e.contains("f64"), "{e}");
        let a = parse(&["--float", "f64", "--backends", "flex,ndarray"]).unwrap();
        let e = check_args(&a).unwrap_err().to_string();
        assert!(e.contains("--float f64") && e.contains("`ndarray`"), "{e}");
        // f32 leaves --backends to `device` (ndarray is refused there in builds without it).
        check_args(&parse(&["--backends", "flex,ndarray"]).unwrap()).unwrap();
        assert!(check_args(&parse(&["--epochs", "0"]).unwrap()).is_err());
    }

    #[test]
    fn from_kept_redraws_the_comparison_without_training() {
        assert!(parse(&["--from-kept"]).is_err(), "--from-kept needs --keep");
        let tmp = tempfile::tempdir().unwrap();
        let (keep, other, png) = (tmp.path().join("k64"), tmp.path().join("k32"), tmp.path().join("d.png"));
        for (dir, float, burn) in [(&keep, "float64", 1.0 + 1e-15), (&other, "float32", 1.1)] {
            std::fs::create_dir_all(dir.join("seed7")).unwrap();
            let steps = Steps { float: float.into(), burn: vec![1.0, burn], torch: vec![1.0, 1.0] };
            std::fs::write(dir.join("seed7").join(STEPS), serde_json::to_vec(&steps).unwrap()).unwrap();
        }
        let (k, o, p) = (keep.to_str().unwrap(), other.to_str().unwrap(), png.to_str().unwrap());
        // No dataset at D: nothing is trained.
        let a = parse(&["--from-kept", "--keep", k, "--seeds", "7", "--compare", o, "--plot", p]).unwrap();
        run(&a).unwrap();
        assert!(std::fs::metadata(&png).unwrap().len() > 0);
        let e = run(&parse(&["--from-kept", "--keep", k, "--seeds", "8"]).unwrap()).unwrap_err();
        assert!(format!("{e:#}").contains("seed8"), "{e:#}");
    }

    #[test]
    fn first_exceeding_counts_steps_from_one() {
        let torch = [1.0, 2.0, 4.0, 8.0];
        let burn = [1.0, 2.0 + 1e-5, 4.0 + 4e-3, 8.0 + 1.0];
        assert_eq!(first_exceeding(&burn, &torch, 1e-6), Some(2));
        assert_eq!(first_exceeding(&burn, &torch, 1e-4), Some(3));
        assert_eq!(first_exceeding(&burn, &torch, 1e-2), Some(4));
        assert_eq!(first_exceeding(&burn, &torch, 1.0), None);
        assert_eq!(first_exceeding(&burn[..1], &torch, 1e-6), None, "only the steps both have");
    }
}
