//! `reid bench eval`: evaluation and re-ranking at Market-1501 scale (and re-ranking at MSMT17 scale), ours
//! against the numpy reference on the same data, each in its own process so peak memory is its own.

use anyhow::{Context, Result, bail};
use clap::Args;
use reid_eval::Matrix;
use reid_eval::distance::{Metric, distance_matrix};
use reid_eval::metrics::{Label, evaluate};
use reid_eval::progress::Progress;
use reid_eval::rerank::{RerankParams, bare_all_pairs_gemm, rerank_with_progress};
use reid_synth::embeddings::{SynthSpec, generate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

const REFERENCE: &str = include_str!("../../../../tools/reference/reid_reference.py");
const BENCH_REFERENCE: &str = include_str!("../../../../tools/reference/bench_reference.py");

/// Arguments of `reid bench eval`.
#[derive(Args)]
pub struct EvalBenchArgs {
    /// Python interpreter with numpy for the reference (`scripts/pyenv.sh` makes one in .venv).
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Folder for the generated data (about 1 GB; kept for re-runs). Defaults to a temporary folder.
    #[arg(long)]
    pub workdir: Option<PathBuf>,
    /// Only run our side (no Python needed); prints our figures without ratios.
    #[arg(long)]
    pub skip_reference: bool,
    /// Skip the MSMT17-scale run (it needs about 5 GB of memory and a minute).
    #[arg(long)]
    pub skip_msmt: bool,
    /// Quarter-size sets (fast smoke run; figures are not comparable to the full-size targets).
    #[arg(long)]
    pub quick: bool,
}

/// Arguments of the hidden worker.
#[derive(Args)]
pub struct WorkerArgs {
    /// `eval` or `rerank`.
    #[arg(long)]
    pub task: String,
    /// Data folder written by `reid bench eval`.
    #[arg(long)]
    pub dir: PathBuf,
    /// Repetitions (best time is reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Also time the bare all-pairs GEMM first.
    #[arg(long)]
    pub gemm: bool,
}

/// The description of a data folder, read by both implementations.
#[derive(Serialize, Deserialize)]
struct Meta {
    num_query: usize,
    num_gallery: usize,
    dim: usize,
    q_pids: Vec<u32>,
    g_pids: Vec<u32>,
    q_cams: Vec<u32>,
    g_cams: Vec<u32>,
    k1: usize,
    k2: usize,
    lambda: f64,
}

/// What one timed task reports.
#[derive(Serialize, Deserialize, Debug, Default)]
struct Outcome {
    seconds: f64,
    #[serde(default)]
    gemm_seconds: Option<f64>,
    #[serde(default)]
    stages: BTreeMap<String, f64>,
    #[serde(rename = "mAP")]
    map: f64,
    rank1: f64,
    peak_rss_mb: f64,
    #[serde(default)]
    numpy: Option<String>,
}

fn write_f32(path: &Path, values: &[f32]) -> Result<()> {
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?);
    for v in values {
        w.write_all(&v.to_le_bytes())?;
    }
    w.flush()?;
    Ok(())
}

fn read_f32(path: &Path, rows: usize, cols: usize) -> Result<Matrix> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() != rows * cols * 4 {
        bail!("{}: expected {} bytes for {rows}x{cols} f32, found {}", path.display(), rows * cols * 4, bytes.len());
    }
    let data = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok(Matrix::from_vec(rows, cols, data)?)
}

fn labels(pids: &[u32], cams: &[u32]) -> Vec<Label> {
    pids.iter().zip(cams).map(|(&p, &c)| Label::new(p, Some(c))).collect()
}

fn read_meta(dir: &Path) -> Result<Meta> {
    let path = dir.join("meta.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`), 0 where unknown.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Records how long each stage of a long operation takes.
#[derive(Default)]
struct StageTimer {
    current: Mutex<Option<(String, Instant)>>,
    done: Mutex<BTreeMap<String, f64>>,
}

impl Progress for StageTimer {
    fn stage(&self, name: &str, _total: u64) {
        *self.current.lock().expect("timer lock") = Some((name.to_owned(), Instant::now()));
    }
    fn advance(&self, _n: u64) {}
    fn finish_stage(&self) {
        if let Some((name, t)) = self.current.lock().expect("timer lock").take() {
            self.done.lock().expect("timer lock").insert(name, t.elapsed().as_secs_f64());
        }
    }
}

/// Runs one timed task of `reid bench eval` and prints its outcome as JSON.
pub fn worker(args: &WorkerArgs) -> Result<()> {
    let meta = read_meta(&args.dir)?;
    let (ql, gl) = (labels(&meta.q_pids, &meta.q_cams), labels(&meta.g_pids, &meta.g_cams));
    let mut out = Outcome::default();
    match args.task.as_str() {
        "eval" => {
            let dist = read_f32(&args.dir.join("dist.f32"), meta.num_query, meta.num_gallery)?;
            out.seconds = f64::INFINITY;
            for _ in 0..args.repeat.max(1) {
                let t = Instant::now();
                let r = evaluate(&dist, &ql, &gl)?;
                out.seconds = out.seconds.min(t.elapsed().as_secs_f64());
                (out.map, out.rank1) = (r.map, r.rank(1));
            }
        }
        "rerank" => {
            let q = read_f32(&args.dir.join("query.f32"), meta.num_query, meta.dim)?;
            let g = read_f32(&args.dir.join("gallery.f32"), meta.num_gallery, meta.dim)?;
            if args.gemm {
                let all = q.vstack(&g)?;
                let t = Instant::now();
                std::hint::black_box(bare_all_pairs_gemm(&all));
                out.gemm_seconds = Some(t.elapsed().as_secs_f64());
            }
            let params = RerankParams { k1: meta.k1, k2: meta.k2, lambda: meta.lambda };
            let timer = StageTimer::default();
            let t = Instant::now();
            let d = rerank_with_progress(&q, &g, &params, &timer)?;
            out.seconds = t.elapsed().as_secs_f64();
            out.stages = std::mem::take(&mut *timer.done.lock().expect("timer lock"));
            let r = evaluate(&d, &ql, &gl)?;
            (out.map, out.rank1) = (r.map, r.rank(1));
        }
        other => bail!("unknown worker task `{other}` (expected eval or rerank)"),
    }
    out.peak_rss_mb = peak_rss_mb();
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// Writes a synthetic set's features and labels for both implementations; returns the folder.
fn prepare(root: &Path, name: &str, spec: &SynthSpec, with_dist: bool) -> Result<PathBuf> {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!("generating {name}: {} x {} embeddings, {}-d", spec.queries, spec.gallery + spec.distractors, spec.dim);
    let set = generate(spec);
    let p = RerankParams::default();
    let split = |l: &[Label]| -> (Vec<u32>, Vec<u32>) {
        (l.iter().map(|x| x.pid).collect(), l.iter().map(|x| x.camera.unwrap_or(0)).collect())
    };
    let (q_pids, q_cams) = split(&set.query_labels);
    let (g_pids, g_cams) = split(&set.gallery_labels);
    let meta = Meta {
        num_query: set.query.len(),
        num_gallery: set.gallery.len(),
        dim: spec.dim,
        q_pids,
        g_pids,
        q_cams,
        g_cams,
        k1: p.k1,
        k2: p.k2,
        lambda: p.lambda,
    };
    std::fs::write(dir.join("meta.json"), serde_json::to_string(&meta)?)?;
    write_f32(&dir.join("query.f32"), set.query.embeddings.as_slice())?;
    write_f32(&dir.join("gallery.f32"), set.gallery.embeddings.as_slice())?;
    if with_dist {
        let d = distance_matrix(&set.query.embeddings, &set.gallery.embeddings, Metric::SquaredEuclidean)?;
        write_f32(&dir.join("dist.f32"), d.as_slice())?;
    }
    Ok(dir)
}

fn run_json(cmd: &mut Command, what: &str) -> Result<Outcome> {
    eprintln!("running {what} ...");
    let out = cmd.output().with_context(|| format!("starting {what}"))?;
    if !out.status.success() {
        bail!("{what} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("");
    serde_json::from_str(line).with_context(|| format!("{what} printed no result: {stdout}"))
}

fn ours(dir: &Path, task: &str, repeat: usize, gemm: bool) -> Result<Outcome> {
    let exe = std::env::current_exe().context("locating the reid executable")?;
    let mut cmd = Command::new(exe);
    cmd.args(["bench", "worker", "--task", task, "--repeat", &repeat.to_string(), "--dir"]).arg(dir);
    if gemm {
        cmd.arg("--gemm");
    }
    run_json(&mut cmd, &format!("ours: {task} on {}", dir.display()))
}

fn reference(python: &str, script: &Path, dir: &Path, task: &str, repeat: usize, form: &str) -> Result<Outcome> {
    let mut cmd = Command::new(python);
    cmd.arg(script).args(["--task", task, "--repeat", &repeat.to_string(), "--form", form, "--dir"]).arg(dir);
    run_json(&mut cmd, &format!("numpy ({form} form): {task} on {}", dir.display()))
}

fn gb(mb: f64) -> String {
    format!("{:.2} GB", mb / 1024.0)
}

/// Runs `reid bench eval`.
pub fn run(args: &EvalBenchArgs) -> Result<()> {
    let tmp;
    let root = match &args.workdir {
        Some(p) => p.clone(),
        None => {
            tmp = tempfile::tempdir().context("creating a temporary folder")?;
            tmp.path().to_owned()
        }
    };
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let script = root.join("bench_reference.py");
    std::fs::write(root.join("reid_reference.py"), REFERENCE)?;
    std::fs::write(&script, BENCH_REFERENCE)?;
    let shrink = |mut s: SynthSpec| {
        if args.quick {
            s.identities /= 4;
            s.queries /= 4;
            s.gallery /= 4;
            s.distractors /= 4;
        }
        s
    };
    let threads = rayon::current_num_threads();
    let reference = |dir: &Path, task: &str, repeat: usize, form: &str| -> Result<Option<Outcome>> {
        if args.skip_reference { Ok(None) } else { reference(&args.python, &script, dir, task, repeat, form).map(Some) }
    };

    let m2048 = prepare(&root, "market_2048", &shrink(SynthSpec::market1501(2048)), true)?;
    let m256 = prepare(&root, "market_256", &shrink(SynthSpec::market1501(256)), false)?;
    let meta = read_meta(&m2048)?;

    let eval_ours = ours(&m2048, "eval", 5, false)?;
    let eval_ref = reference(&m2048, "eval", 3, "rows")?;
    let rr2048_ours = ours(&m2048, "rerank", 1, true)?;
    let rr2048_rows = reference(&m2048, "rerank", 1, "rows")?;
    let rr2048_toolbox = reference(&m2048, "rerank", 1, "toolbox")?;
    let rr256_ours = ours(&m256, "rerank", 1, true)?;
    let rr256_rows = reference(&m256, "rerank", 1, "rows")?;
    let rr256_toolbox = reference(&m256, "rerank", 1, "toolbox")?;
    let msmt = if args.skip_msmt {
        None
    } else {
        let dir = prepare(&root, "msmt_256", &shrink(SynthSpec::msmt17(256)), false)?;
        let meta = read_meta(&dir)?;
        Some((ours(&dir, "rerank", 1, false)?, meta.num_query, meta.num_gallery))
    };

    let numpy = eval_ref.as_ref().and_then(|r| r.numpy.clone()).unwrap_or_else(|| "not run".into());
    println!();
    println!(
        "ReID evaluation benchmark: {} queries x {} gallery (clustered synthetic), {threads} threads; numpy {numpy}",
        meta.num_query, meta.num_gallery
    );
    println!(
        "numpy 'rows' form: contiguous rows, default (vectorised) quicksort: the fastest numpy we could write; \
         'toolbox' form: the authors'/fast-reid/TAO code path (column-max scaling, transposed array, strided argsort)."
    );
    println!("{:<40} {:>10} {:>10} {:>9} {:>26}", "task", "numpy", "ours", "speed-up", "peak RSS numpy / ours");
    let row = |name: &str, o: &Outcome, r: &Option<Outcome>| {
        let (rt, sp, mem) = match r {
            Some(r) => (
                format!("{:.3} s", r.seconds),
                format!("{:.1}x", r.seconds / o.seconds),
                format!("{} / {} ({:.2}x)", gb(r.peak_rss_mb), gb(o.peak_rss_mb), o.peak_rss_mb / r.peak_rss_mb),
            ),
            None => ("-".into(), "-".into(), format!("- / {}", gb(o.peak_rss_mb))),
        };
        println!("{name:<40} {rt:>10} {:>10} {sp:>9} {mem:>26}", format!("{:.3} s", o.seconds));
    };
    row("evaluation (precomputed matrix)", &eval_ours, &eval_ref);
    row("re-ranking 2048-d vs numpy rows form", &rr2048_ours, &rr2048_rows);
    row("re-ranking 2048-d vs numpy toolbox form", &rr2048_ours, &rr2048_toolbox);
    row("re-ranking 256-d vs numpy rows form", &rr256_ours, &rr256_rows);
    row("re-ranking 256-d vs numpy toolbox form", &rr256_ours, &rr256_toolbox);
    println!();
    let stages =
        |m: &BTreeMap<String, f64>| m.iter().map(|(k, v)| format!("{k} {v:.2} s")).collect::<Vec<_>>().join(", ");
    for (name, o, refs) in [
        ("2048-d", &rr2048_ours, [&rr2048_rows, &rr2048_toolbox]),
        ("256-d", &rr256_ours, [&rr256_rows, &rr256_toolbox]),
    ] {
        if let Some(g) = o.gemm_seconds {
            println!(
                "re-ranking {name}: bare full N x N GEMM (ours, same threads) {g:.3} s; re-ranking / GEMM = {:.2}",
                o.seconds / g
            );
        }
        println!("  ours:          {}", stages(&o.stages));
        for (form, r) in ["rows", "toolbox"].iter().zip(refs) {
            if let Some(r) = r {
                println!("  numpy {form:<8} {}", stages(&r.stages));
            }
        }
    }
    println!();
    for (name, o, r) in [
        ("evaluation", &eval_ours, &eval_ref),
        ("re-ranked 2048-d", &rr2048_ours, &rr2048_rows),
        ("re-ranked 2048-d (toolbox)", &rr2048_ours, &rr2048_toolbox),
        ("re-ranked 256-d", &rr256_ours, &rr256_rows),
        ("re-ranked 256-d (toolbox)", &rr256_ours, &rr256_toolbox),
    ] {
        match r {
            Some(r) => println!(
                "{name}: mAP ours {:.6} numpy {:.6} (|diff| {:.1e}); rank-1 ours {:.6} numpy {:.6}",
                o.map,
                r.map,
                (o.map - r.map).abs(),
                o.rank1,
                r.rank1
            ),
            None => println!("{name}: mAP {:.6}, rank-1 {:.6}", o.map, o.rank1),
        }
    }
    if let Some((o, nq, ng)) = msmt {
        println!();
        println!(
            "MSMT17 scale ({nq} x {ng}, 256-d) re-ranking: ours {:.2} s, peak {}; mAP {:.4}, rank-1 {:.4}. \
             (The dense method would hold several {}^2 matrices: {:.0} GB each in float32.)",
            o.seconds,
            gb(o.peak_rss_mb),
            o.map,
            o.rank1,
            nq + ng,
            ((nq + ng) as f64).powi(2) * 4.0 / 1e9
        );
    }
    Ok(())
}
