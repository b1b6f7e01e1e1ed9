//! `reid bench gallery --index hnsw`: the gallery's HNSW graph against FAISS `IndexHNSWFlat` (inner product) with
//! the same M, efConstruction and efSearch values, on the same random unit vectors and threads, in one run.
//!
//! The gallery is generated in chunks (never held in f32 when only f16 is benchmarked, so 10M x 256 fits in
//! about 5 GiB of vectors): each chunk goes to our storage, to a float32 `.npy` file for FAISS (when it runs), and
//! into the exact top-k of the recall queries (the ground truth, exact f32). Per storage (f16 first, then f32):
//! graph build time, then per efSearch recall@k, queries/s at batch 1 and at `batch`, and our process's peak RSS
//! so far (`VmHWM`). FAISS runs afterwards in its own process (`tools/reference/bench_faiss_hnsw.py`) and reports
//! its own build time and peak RSS, so the two peaks are separable.

use super::faiss::npy_header;
use anyhow::{Context, Result, anyhow};
use half::f16;
use reid_gallery::hnsw::HnswParams;
use reid_gallery::random::{LatentRows, random_unit_rows};
use reid_gallery::topk::{Hit, TopK};
use reid_gallery::{Filter, Index, Precision};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Rows generated per chunk.
const CHUNK: usize = 65_536;

/// What to measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HnswBenchConfig {
    /// Gallery size.
    pub n: usize,
    /// Dimension.
    pub dim: usize,
    /// Matches per query.
    pub k: usize,
    /// Threads (ours and FAISS's).
    pub threads: usize,
    /// Links per node (FAISS's M).
    pub m: usize,
    /// Construction width.
    pub ef_construction: usize,
    /// Query widths, each measured on the same graph.
    pub ef_search: Vec<usize>,
    /// Our storages measured (f32, f16).
    pub precisions: Vec<Precision>,
    /// Single queries timed per pass (batch 1).
    pub single_queries: usize,
    /// Queries per batched call.
    pub batch: usize,
    /// Batched calls timed per pass.
    pub batches: usize,
    /// Passes per measurement; the fastest is reported.
    pub repeats: usize,
    /// Data seed.
    pub seed: u64,
    /// Queries (each searched alone) over which recall@k against exact f32 is measured.
    pub recall_queries: usize,
    /// Also time the exact scan on the same storage (batch 1 and batched).
    pub exact: bool,
    /// The data: `latent` (views of identities on a low-dimensional manifold, [`LatentRows`]) or `random` (uniform
    /// unit vectors: no neighbourhood structure, where every graph index fails; see the gallery README).
    pub data: String,
}

impl Default for HnswBenchConfig {
    fn default() -> Self {
        HnswBenchConfig {
            n: 1_000_000,
            dim: 256,
            k: 10,
            threads: 2,
            m: reid_gallery::hnsw::DEFAULT_M,
            ef_construction: reid_gallery::hnsw::DEFAULT_EF_CONSTRUCTION,
            ef_search: vec![64, 128, 256],
            precisions: vec![Precision::F16, Precision::F32],
            single_queries: 200,
            batch: 64,
            batches: 4,
            repeats: 3,
            seed: 7,
            recall_queries: 100,
            exact: true,
            data: "latent".into(),
        }
    }
}

/// Latent dimension of the `latent` data.
const LATENT_DIM: usize = 32;
/// Views per identity of the `latent` data.
const LATENT_VIEWS: usize = 4;

/// One measured configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HnswRow {
    /// `reid-gallery hnsw`, `reid-gallery exact`, `faiss IndexHNSWFlat`.
    pub engine: String,
    /// Storage (`f32`, `f16`).
    pub storage: String,
    /// Query width (None for the exact scan).
    pub ef_search: Option<usize>,
    /// Recall@k against exact f32.
    pub recall: f64,
    /// Queries/s at batch 1.
    pub qps_single: f64,
    /// Queries/s at the batch size.
    pub qps_batch: f64,
    /// Graph build seconds (None for the exact scan).
    pub build_s: Option<f64>,
    /// CPU seconds of the build, all threads of the process together (robust to other load on the machine).
    #[serde(default)]
    pub build_cpu_s: Option<f64>,
    /// Peak RSS of the process that ran it, MiB (ours: the bench process so far; FAISS: its own process).
    pub peak_rss_mib: f64,
    /// Batch-1 queries/s over FAISS's at the same efSearch.
    pub single_vs_faiss: Option<f64>,
    /// Batched queries/s over FAISS's at the same efSearch.
    pub batch_vs_faiss: Option<f64>,
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HnswReport {
    /// What was measured.
    pub config: HnswBenchConfig,
    /// Every row, ours first.
    pub rows: Vec<HnswRow>,
    /// FAISS's version and settings.
    pub faiss_info: Option<String>,
    /// `/proc/loadavg` at the start and at the end.
    pub load_average: (String, String),
    /// The goal, evaluated: at the smallest efSearch reaching recall@k >= 0.95 on each side.
    pub goal: Vec<String>,
}

impl HnswReport {
    /// A plain-text table of the rows, ratios and the goal lines.
    pub fn table(&self) -> String {
        let c = &self.config;
        let mut s = format!(
            "HNSW top-{} over {} x {} unit vectors ({}), {} threads, M={} efConstruction={}, best of {} passes\n",
            c.k,
            c.n,
            c.dim,
            if c.data == "latent" {
                format!("latent: {LATENT_VIEWS} views per identity on a {LATENT_DIM}-d manifold")
            } else {
                "uniform random".to_string()
            },
            c.threads,
            c.m,
            c.ef_construction,
            c.repeats
        );
        s += &format!(
            "{:<22} {:<7} {:>6} {:>9} {:>11} {:>11} {:>9} {:>11} {:>10} {:>9} {:>9}\n",
            "engine",
            "storage",
            "ef",
            "recall@k",
            "q/s b1",
            format!("q/s b{}", c.batch),
            "build s",
            "build cpu s",
            "peak MiB",
            "b1/FAISS",
            "bN/FAISS"
        );
        let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or("-".to_string(), f);
        for r in &self.rows {
            s += &format!(
                "{:<22} {:<7} {:>6} {:>9.4} {:>11.1} {:>11.1} {:>9} {:>11} {:>10.0} {:>9} {:>9}\n",
                r.engine,
                r.storage,
                r.ef_search.map_or("-".to_string(), |e| e.to_string()),
                r.recall,
                r.qps_single,
                r.qps_batch,
                opt(r.build_s, &|v| format!("{v:.1}")),
                opt(r.build_cpu_s, &|v| format!("{v:.1}")),
                r.peak_rss_mib,
                opt(r.single_vs_faiss, &|v| format!("{v:.2}x")),
                opt(r.batch_vs_faiss, &|v| format!("{v:.2}x")),
            );
        }
        for g in &self.goal {
            s += &format!("{g}\n");
        }
        if let Some(info) = &self.faiss_info {
            s += &format!("{info}\n");
        }
        s += &format!("load average: start {}, end {}\n", self.load_average.0, self.load_average.1);
        s
    }
}

/// How to run the FAISS side.
#[derive(Clone, Debug)]
pub struct FaissHnswSetup {
    /// Python interpreter with numpy and faiss-cpu.
    pub python: PathBuf,
    /// `bench_faiss_hnsw.py`.
    pub script: PathBuf,
    /// Where the `.npy` files go (removed afterwards).
    pub work_dir: PathBuf,
}

/// The text of `tools/reference/bench_faiss_hnsw.py`, built in.
pub const FAISS_HNSW_SCRIPT: &str = include_str!("../../../../../tools/reference/bench_faiss_hnsw.py");

fn proc_status_mib(key: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Chunk `c` of the gallery (rows `c * CHUNK ..`), reproducible from the seed.
fn chunk(cfg: &HnswBenchConfig, latent: Option<&LatentRows>, c: usize) -> Vec<f32> {
    let rows = (cfg.n - c * CHUNK).min(CHUNK);
    match latent {
        Some(g) => g.gallery(c * CHUNK, rows),
        None => random_unit_rows(rows, cfg.dim, cfg.seed ^ ((c as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03))),
    }
}

fn recall(truth: &[Vec<u64>], got: &[Vec<u64>]) -> f64 {
    let (mut hit, mut total) = (0usize, 0usize);
    for (t, g) in truth.iter().zip(got) {
        total += t.len();
        hit += t.iter().filter(|id| g.contains(id)).count();
    }
    if total == 0 { 1.0 } else { hit as f64 / total as f64 }
}

/// Best of `repeats` passes of `f`, in seconds.
fn best_of(repeats: usize, mut f: impl FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}

/// Times `ix` (graph or exact as it is set up): recall over the recall queries, batch 1 and batched throughput.
fn measure(
    ix: &Index,
    queries: &[f32],
    truth: &[Vec<u64>],
    cfg: &HnswBenchConfig,
    exact: bool,
    pool: &rayon::ThreadPool,
) -> (f64, f64, f64) {
    let dim = cfg.dim;
    let all = Filter::all();
    let search = |q: &[f32]| if exact { ix.search_exact(q, cfg.k, &all) } else { ix.search(q, cfg.k, &all) };
    pool.install(|| {
        let got: Vec<Vec<u64>> = queries
            .chunks_exact(dim)
            .take(cfg.recall_queries)
            .map(|q| search(q).remove(0).iter().map(|h| h.id).collect())
            .collect();
        let r = recall(truth, &got);
        let singles = if exact { cfg.single_queries.min(20) } else { cfg.single_queries };
        for q in queries.chunks_exact(dim).take(2) {
            search(q);
        }
        let s1 = best_of(cfg.repeats, || {
            for q in queries.chunks_exact(dim).take(singles) {
                search(q);
            }
        });
        let batch = &queries[..cfg.batch * dim];
        search(batch);
        let batches = if exact { 1 } else { cfg.batches };
        let sb = best_of(cfg.repeats, || {
            for _ in 0..batches {
                search(batch);
            }
        });
        (r, singles as f64 / s1, (batches * cfg.batch) as f64 / sb)
    })
}

#[derive(Deserialize)]
struct FaissRow {
    ef_search: usize,
    batch: usize,
    queries_per_s: f64,
}

#[derive(Deserialize)]
struct FaissOutput {
    build_s: f64,
    /// The script's CPU seconds for the build (`time.process_time`, all threads); absent from older scripts.
    #[serde(default)]
    build_cpu_s: Option<f64>,
    peak_rss_mib: f64,
    info: String,
    rows: Vec<FaissRow>,
    ids: std::collections::BTreeMap<String, Vec<Vec<i64>>>,
}

/// Runs the whole comparison (FAISS only when `faiss` is given).
pub fn run(cfg: &HnswBenchConfig, faiss: Option<&FaissHnswSetup>) -> Result<HnswReport> {
    anyhow::ensure!(cfg.n > 0 && cfg.dim > 0 && cfg.k > 0, "--n, --dim and --k must be positive");
    anyhow::ensure!(!cfg.ef_search.is_empty(), "--hnsw-ef-search: give at least one value");
    anyhow::ensure!(
        !cfg.precisions.contains(&Precision::Int8),
        "--index hnsw benchmarks f32 and f16 storage (the graph does not link int8 rows)"
    );
    let params = HnswParams { m: cfg.m, ef_construction: cfg.ef_construction, ef_search: cfg.ef_search[0], seed: 7 };
    params.check().map_err(|e| anyhow!("--hnsw-*: {e}"))?;
    let load_start = load_average();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build().context("thread pool")?;
    let nq = cfg.single_queries.max(cfg.batch).max(cfg.recall_queries).max(2);
    let latent = match cfg.data.as_str() {
        "latent" => Some(LatentRows::new(cfg.dim, LATENT_DIM, LATENT_VIEWS, cfg.seed)),
        "random" => None,
        other => anyhow::bail!("--data `{other}`: expected latent or random"),
    };
    let latent = latent.as_ref();
    let queries = match latent {
        Some(g) => g.queries(nq, cfg.n.div_ceil(g.views())),
        None => random_unit_rows(nq, cfg.dim, cfg.seed.wrapping_add(1)),
    };
    let recall_q = &queries[..cfg.recall_queries.min(nq) * cfg.dim];
    let chunks = cfg.n.div_ceil(CHUNK);

    // Pass 0: ground truth (exact f32, chunk by chunk) and the FAISS input file.
    let started = Instant::now();
    let mut npy = match faiss {
        Some(f) => {
            std::fs::create_dir_all(&f.work_dir).with_context(|| format!("creating {}", f.work_dir.display()))?;
            let path = f.work_dir.join("gallery.npy");
            let mut w = std::io::BufWriter::with_capacity(
                1 << 22,
                std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?,
            );
            w.write_all(&npy_header(cfg.n, cfg.dim))?;
            Some((path, w))
        }
        None => None,
    };
    let mut tops = vec![TopK::new(cfg.k); recall_q.len() / cfg.dim];
    for c in 0..chunks {
        let data = chunk(cfg, latent, c);
        if let Some((path, w)) = &mut npy {
            for part in data.chunks(1 << 16) {
                let bytes: Vec<u8> = part.iter().flat_map(|v| v.to_le_bytes()).collect();
                w.write_all(&bytes).with_context(|| format!("writing {}", path.display()))?;
            }
        }
        let ix = Index::from_vectors(cfg.dim, Precision::F32, data, (c * CHUNK) as u64);
        let lists = pool.install(|| ix.search_exact(recall_q, cfg.k, &Filter::all()));
        for (t, l) in tops.iter_mut().zip(lists) {
            l.into_iter().for_each(|h: Hit| t.push(h));
        }
    }
    if let Some((path, w)) = &mut npy {
        w.flush().with_context(|| format!("writing {}", path.display()))?;
    }
    let truth: Vec<Vec<u64>> = tops.into_iter().map(|t| t.into_sorted().iter().map(|h| h.id).collect()).collect();
    tracing::info!(n = cfg.n, secs = started.elapsed().as_secs_f64(), "ground truth and FAISS input written");

    let mut rows = Vec::new();
    let mut order = cfg.precisions.clone();
    order.sort_by_key(|p| if *p == Precision::F16 { 0 } else { 1 });
    order.dedup();
    for precision in order {
        let mut ix = match precision {
            Precision::F16 => {
                let mut v: Vec<f16> = Vec::with_capacity(cfg.n * cfg.dim);
                for c in 0..chunks {
                    v.extend(chunk(cfg, latent, c).iter().map(|&x| f16::from_f32(x)));
                }
                Index::from_f16(cfg.dim, v, 0)
            }
            _ => {
                let mut v: Vec<f32> = Vec::with_capacity(cfg.n * cfg.dim);
                for c in 0..chunks {
                    v.extend(chunk(cfg, latent, c));
                }
                Index::from_vectors(cfg.dim, Precision::F32, v, 0)
            }
        };
        let storage = precision.to_string();
        if cfg.exact {
            let (r, q1, qb) = measure(&ix, &queries, &truth, cfg, true, &pool);
            rows.push(HnswRow {
                engine: "reid-gallery exact".into(),
                storage: storage.clone(),
                ef_search: None,
                recall: r,
                qps_single: q1,
                qps_batch: qb,
                build_s: None,
                build_cpu_s: None,
                peak_rss_mib: proc_status_mib("VmHWM:"),
                single_vs_faiss: None,
                batch_vs_faiss: None,
            });
        }
        let (t, cpu) = (Instant::now(), crate::commands::bench::process_cpu_seconds());
        pool.install(|| ix.enable_hnsw(params)).map_err(|e| anyhow!("building the graph: {e}"))?;
        let (build_s, build_cpu_s) = (t.elapsed().as_secs_f64(), crate::commands::bench::process_cpu_seconds() - cpu);
        tracing::info!(%storage, build_s, build_cpu_s, "graph built");
        for &ef in &cfg.ef_search {
            ix.set_ef_search(ef);
            let (r, q1, qb) = measure(&ix, &queries, &truth, cfg, false, &pool);
            tracing::info!(%storage, ef, recall = r, qps_single = q1, qps_batch = qb, "graph measured");
            rows.push(HnswRow {
                engine: "reid-gallery hnsw".into(),
                storage: storage.clone(),
                ef_search: Some(ef),
                recall: r,
                qps_single: q1,
                qps_batch: qb,
                build_s: Some(build_s),
                build_cpu_s: Some(build_cpu_s).filter(|v| v.is_finite()),
                peak_rss_mib: proc_status_mib("VmHWM:"),
                single_vs_faiss: None,
                batch_vs_faiss: None,
            });
        }
    }

    let mut faiss_info = None;
    if let (Some(f), Some((data_path, _))) = (faiss, npy) {
        let qp = f.work_dir.join("queries.npy");
        super::faiss::write_npy(&qp, &queries, nq, cfg.dim).with_context(|| format!("writing {}", qp.display()))?;
        let out = run_faiss(f, &data_path, &qp, cfg);
        let _ = std::fs::remove_file(&data_path);
        let _ = std::fs::remove_file(&qp);
        let out = out?;
        faiss_info = Some(out.info.clone());
        for &ef in &cfg.ef_search {
            let q = |batch: usize| {
                out.rows.iter().find(|r| r.ef_search == ef && r.batch == batch).map_or(f64::NAN, |r| r.queries_per_s)
            };
            let ids: Vec<Vec<u64>> = out
                .ids
                .get(&ef.to_string())
                .map(|l| l.iter().map(|l| l.iter().map(|&i| i as u64).collect()).collect())
                .unwrap_or_default();
            rows.push(HnswRow {
                engine: "faiss IndexHNSWFlat".into(),
                storage: "f32".into(),
                ef_search: Some(ef),
                recall: recall(&truth[..ids.len().min(truth.len())], &ids),
                qps_single: q(1),
                qps_batch: q(cfg.batch),
                build_s: Some(out.build_s),
                build_cpu_s: out.build_cpu_s,
                peak_rss_mib: out.peak_rss_mib,
                single_vs_faiss: None,
                batch_vs_faiss: None,
            });
        }
        let faiss_rows: Vec<HnswRow> = rows.iter().filter(|r| r.engine.starts_with("faiss")).cloned().collect();
        for r in rows.iter_mut().filter(|r| r.engine == "reid-gallery hnsw") {
            if let Some(f) = faiss_rows.iter().find(|f| f.ef_search == r.ef_search) {
                r.single_vs_faiss = Some(r.qps_single / f.qps_single);
                r.batch_vs_faiss = Some(r.qps_batch / f.qps_batch);
            }
        }
    }
    let goal = goal_lines(&rows, cfg.k);
    Ok(HnswReport { config: cfg.clone(), rows, faiss_info, load_average: (load_start, load_average()), goal })
}

/// Per storage of ours: the fastest row with recall >= 0.95 against FAISS's fastest such row, and build times.
fn goal_lines(rows: &[HnswRow], k: usize) -> Vec<String> {
    let best = |engine: &str, storage: &str| -> Option<&HnswRow> {
        rows.iter()
            .filter(|r| r.engine == engine && r.storage == storage && r.recall >= 0.95)
            .max_by(|a, b| a.qps_single.total_cmp(&b.qps_single))
    };
    let Some(f) = best("faiss IndexHNSWFlat", "f32") else {
        return vec![format!("goal: no FAISS row reached recall@{k} >= 0.95 (or FAISS did not run)")];
    };
    let mut out = Vec::new();
    for storage in ["f16", "f32"] {
        let Some(o) = best("reid-gallery hnsw", storage) else {
            if rows.iter().any(|r| r.engine == "reid-gallery hnsw" && r.storage == storage) {
                out.push(format!("goal ({storage}): no efSearch reached recall@{k} >= 0.95"));
            }
            continue;
        };
        let ef = |r: &HnswRow| r.ef_search.unwrap_or(0);
        let mut build = match (o.build_s, f.build_s) {
            (Some(a), Some(b)) => format!("build {a:.1} s vs {b:.1} s ({:.2}x the time)", a / b),
            _ => String::new(),
        };
        if let (Some(a), Some(b)) = (o.build_cpu_s, f.build_cpu_s) {
            build += &format!(", CPU {a:.1} s vs {b:.1} s ({:.2}x)", a / b);
        }
        out.push(format!(
            "goal ({storage}, fastest at recall@{k} >= 0.95): ours ef={} recall {:.4} {:.1} q/s b1, {:.1} q/s batched; \
             FAISS ef={} recall {:.4} {:.1} / {:.1}: {:.2}x / {:.2}x; {build}",
            ef(o),
            o.recall,
            o.qps_single,
            o.qps_batch,
            ef(f),
            f.recall,
            f.qps_single,
            f.qps_batch,
            o.qps_single / f.qps_single,
            o.qps_batch / f.qps_batch,
        ));
    }
    out
}

fn run_faiss(f: &FaissHnswSetup, data: &Path, queries: &Path, cfg: &HnswBenchConfig) -> Result<FaissOutput> {
    let efs: Vec<String> = cfg.ef_search.iter().map(|e| e.to_string()).collect();
    let flags = [
        ("--m", cfg.m),
        ("--ef-construction", cfg.ef_construction),
        ("--k", cfg.k),
        ("--threads", cfg.threads),
        ("--single", cfg.single_queries),
        ("--batch", cfg.batch),
        ("--batches", cfg.batches),
        ("--repeats", cfg.repeats),
        ("--check", cfg.recall_queries),
    ];
    let mut args = super::faiss::script_args(data, queries, &flags);
    args.extend(["--ef-search".into(), efs.join(",").into()]);
    super::faiss::run_script(&f.python, &f.script, "FAISS HNSW", &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_run_without_faiss_has_every_row_and_a_real_recall() {
        let cfg = HnswBenchConfig {
            n: 70_000,
            dim: 16,
            k: 5,
            threads: 2,
            m: 8,
            ef_construction: 40,
            ef_search: vec![5, 64],
            precisions: vec![Precision::F32, Precision::F16],
            single_queries: 10,
            batch: 8,
            batches: 1,
            repeats: 1,
            seed: 3,
            recall_queries: 30,
            exact: true,
            data: "latent".into(),
        };
        let r = run(&cfg, None).unwrap();
        let shape: Vec<(&str, &str, Option<usize>)> =
            r.rows.iter().map(|r| (r.engine.as_str(), r.storage.as_str(), r.ef_search)).collect();
        assert_eq!(
            shape,
            vec![
                ("reid-gallery exact", "f16", None),
                ("reid-gallery hnsw", "f16", Some(5)),
                ("reid-gallery hnsw", "f16", Some(64)),
                ("reid-gallery exact", "f32", None),
                ("reid-gallery hnsw", "f32", Some(5)),
                ("reid-gallery hnsw", "f32", Some(64)),
            ]
        );
        // The exact f32 scan is the ground truth itself (two chunks: the chunked truth merges correctly).
        assert_eq!(r.rows[3].recall, 1.0);
        assert!(r.rows[5].recall >= 0.95 && r.rows[5].recall > r.rows[4].recall, "{:?}", r.rows);
        assert!(r.table().contains("faiss") || r.goal[0].contains("FAISS did not run"));
    }
}
