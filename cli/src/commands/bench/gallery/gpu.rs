//! GPU against CPU on the same data, in one run: top-k (batch 1 and batched) and re-ranking, with the answers
//! compared (`reid bench gallery --gpu N`).

use super::faiss::BenchConfig;
use anyhow::{Context, Result};
use reid_eval::Matrix;
use reid_eval::progress::NoProgress;
use reid_eval::rerank::{CpuAllPairs, RerankParams, rerank_on};
use reid_gallery::gpu::{Gpu, GpuAllPairs, GpuGallery};
use reid_gallery::random::random_unit_rows;
use reid_gallery::{Filter, Index, Precision};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// One timed comparison.
#[derive(Clone, Debug, Serialize)]
pub struct GpuRow {
    /// What was timed.
    pub task: String,
    /// CPU milliseconds per call (best of the repeats).
    pub cpu_ms: f64,
    /// GPU milliseconds per call, transfers included (best of the repeats).
    pub gpu_ms: f64,
    /// Share of CPU answers the GPU returned (top-k ids, or re-ranked top-10 ids).
    pub agreement: f64,
    /// Largest absolute difference of the returned scores or distances.
    pub max_abs_diff: f64,
}

/// The GPU report.
#[derive(Clone, Debug, Serialize)]
pub struct GpuReport {
    /// Device name.
    pub device: String,
    /// Rows.
    pub rows: Vec<GpuRow>,
}

impl GpuReport {
    /// A plain-text table with the speed-up of each row.
    pub fn table(&self) -> String {
        let mut s = format!(
            "GPU: {}\n{:<44} {:>10} {:>10} {:>8} {:>9} {:>9}\n",
            self.device, "task", "cpu ms", "gpu ms", "speedup", "agree", "max diff"
        );
        for r in &self.rows {
            s += &format!(
                "{:<44} {:>10.3} {:>10.3} {:>7.1}x {:>9.4} {:>9.2e}\n",
                r.task,
                r.cpu_ms,
                r.gpu_ms,
                r.cpu_ms / r.gpu_ms,
                r.agreement,
                r.max_abs_diff
            );
        }
        s
    }
}

/// The best of `repeats` timings of `f` in milliseconds; the first error stops the timing.
fn best_ms<E>(repeats: usize, mut f: impl FnMut() -> std::result::Result<(), E>) -> std::result::Result<f64, E> {
    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(best)
}

/// Times top-k (batch 1 and `cfg.batch`) and re-ranking (`rerank_queries` x `rerank_gallery` items) on the CPU
/// (`cfg.threads`) and on `gpu`, and compares the answers.
pub fn compare(gpu: Arc<Gpu>, cfg: &BenchConfig, rerank_queries: usize, rerank_gallery: usize) -> Result<GpuReport> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(cfg.threads).build().context("thread pool")?;
    let data = random_unit_rows(cfg.n, cfg.dim, cfg.seed);
    let queries = random_unit_rows(cfg.batch.max(1), cfg.dim, cfg.seed.wrapping_add(1));
    let index = Index::from_vectors(cfg.dim, Precision::F32, data, 0);
    let on_gpu = GpuGallery::upload(gpu.clone(), &index)?;
    let filter = Filter::all();
    let mut rows = Vec::new();
    for batch in [1, cfg.batch.max(1)] {
        let q = &queries[..batch * cfg.dim];
        let cpu = pool.install(|| index.search(q, cfg.k, &filter));
        let got = on_gpu.search(&index, q, cfg.k, &filter)?;
        let cpu_ms = best_ms(cfg.repeats, || {
            pool.install(|| index.search(q, cfg.k, &filter));
            Ok::<(), reid_gallery::gpu::GpuError>(())
        })?;
        let gpu_ms = best_ms(cfg.repeats, || on_gpu.search(&index, q, cfg.k, &filter).map(drop))?;
        let (mut same, mut total, mut diff) = (0usize, 0usize, 0f64);
        for (c, g) in cpu.iter().zip(&got) {
            total += c.len();
            same += c.iter().filter(|h| g.iter().any(|x| x.id == h.id)).count();
            for (a, b) in c.iter().zip(g) {
                diff = diff.max(f64::from((a.score - b.score).abs()));
            }
        }
        rows.push(GpuRow {
            task: format!("top-{} of {} x {}, batch {batch}", cfg.k, cfg.n, cfg.dim),
            cpu_ms,
            gpu_ms,
            agreement: same as f64 / total.max(1) as f64,
            max_abs_diff: diff,
        });
    }
    drop(on_gpu);
    drop(index);

    let (nq, ng) = (rerank_queries.max(1), rerank_gallery.max(1));
    let q = Matrix::from_vec(nq, cfg.dim, random_unit_rows(nq, cfg.dim, cfg.seed.wrapping_add(2)))?;
    let g = Matrix::from_vec(ng, cfg.dim, random_unit_rows(ng, cfg.dim, cfg.seed.wrapping_add(3)))?;
    let params = RerankParams::default();
    let backend = GpuAllPairs::new(gpu.clone());
    let run = |b: &dyn reid_eval::rerank::AllPairs| pool.install(|| rerank_on(b, &q, &g, &params, &NoProgress));
    let cpu = run(&CpuAllPairs).context("re-ranking on the CPU")?;
    let got = run(&backend).context("re-ranking on the GPU")?;
    let cpu_ms = best_ms(cfg.repeats.min(2), || run(&CpuAllPairs).map(drop)).context("re-ranking on the CPU")?;
    let gpu_ms = best_ms(cfg.repeats.min(2), || run(&backend).map(drop)).context("re-ranking on the GPU")?;
    let diff = cpu.as_slice().iter().zip(got.as_slice()).map(|(a, b)| f64::from((a - b).abs())).fold(0.0, f64::max);
    let top = |m: &Matrix, r: usize| {
        let row = m.row(r);
        let mut order: Vec<usize> = (0..row.len()).collect();
        order.sort_by(|&a, &b| row[a].total_cmp(&row[b]).then(a.cmp(&b)));
        order.truncate(10);
        order
    };
    let same: usize = (0..nq).map(|r| top(&cpu, r).iter().filter(|j| top(&got, r).contains(j)).count()).sum();
    rows.push(GpuRow {
        task: format!("re-rank {nq} x {ng} (k1 20, k2 6)"),
        cpu_ms,
        gpu_ms,
        agreement: same as f64 / (nq * 10.min(ng)) as f64,
        max_abs_diff: diff,
    });
    Ok(GpuReport { device: gpu.name().to_string(), rows })
}
