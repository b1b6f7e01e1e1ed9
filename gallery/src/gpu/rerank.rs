//! Re-ranking's all-pairs pass on the GPU ([`reid_eval::rerank::AllPairs`]): the item x item dot products by
//! cuBLAS, tile by tile, each tile's rows turned into distances, row maxima and k nearest (ties by index) by
//! `rows_nearest`. The k-reciprocal sets, query expansion and Jaccard stages then run on the CPU, unchanged, so
//! the answers are the CPU's up to the GEMM's summation order.

use super::GpuError;
use super::device::{Gpu, MAX_K, THREADS};
use cudarc::driver::{LaunchConfig, PushKernelArg};
use reid_eval::Matrix;
use reid_eval::distance::squared_norms;
use reid_eval::progress::Progress;
use reid_eval::rerank::{AllPairs, Neighbours, RerankError};
use std::sync::Arc;

/// Dot products held per tile (rows x all items): 256 MiB of f32.
const TILE_BUDGET: usize = 64 << 20;

/// The GPU all-pairs backend.
#[derive(Clone, Debug)]
pub struct GpuAllPairs {
    gpu: Arc<Gpu>,
}

impl GpuAllPairs {
    /// The backend on an opened device.
    pub fn new(gpu: Arc<Gpu>) -> Self {
        GpuAllPairs { gpu }
    }

    fn run(
        &self,
        feats: &Matrix,
        num_query: usize,
        k: usize,
        qg: &mut [f32],
        progress: &dyn Progress,
    ) -> Result<Neighbours, GpuError> {
        let gpu = &self.gpu;
        let (n, dim) = (feats.rows(), feats.cols());
        let k = k.min(n);
        if k > MAX_K {
            return Err(GpuError::TooLarge(format!(
                "k1 + 1 = {k} neighbours is more than the GPU pass keeps ({MAX_K})"
            )));
        }
        let ng = n - num_query;
        if qg.len() != num_query * ng {
            return Err(GpuError::Shape(format!(
                "query x gallery buffer holds {} values, not {num_query} x {ng}",
                qg.len()
            )));
        }
        let int =
            |v: usize| i32::try_from(v).map_err(|_| GpuError::TooLarge(format!("{v} exceeds 32-bit launch sizes")));
        let norms = squared_norms(feats);
        let feats_dev = gpu.upload(feats.as_slice())?;
        let norms_dev = gpu.upload(&norms)?;
        let tile = (TILE_BUDGET / n.max(1)).clamp(1, n);
        let mut dots = gpu.zeros::<f32>(tile * n)?;
        let mut out_dist = gpu.zeros::<f32>(n * k)?;
        let mut out_idx = gpu.zeros::<u64>(n * k)?;
        let mut out_max = gpu.zeros::<f32>(n)?;
        let mut qg_dev = gpu.zeros::<f32>(qg.len().max(1))?;
        let (n_i, nq_i, k_i) = (int(n)?, int(num_query)?, int(k)?);
        progress.stage("all-pairs distances (GPU)", n.div_ceil(tile) as u64);
        for r0 in (0..n).step_by(tile) {
            let rows = tile.min(n - r0);
            {
                let a = feats_dev.slice(r0 * dim..(r0 + rows) * dim);
                let mut c = dots.slice_mut(..rows * n);
                gpu.gemm_nt(&a, rows, &feats_dev, n, dim, &mut c)?;
            }
            let r0_i = int(r0)?;
            let cfg = LaunchConfig { grid_dim: (rows as u32, 1, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
            let mut launch = gpu.stream.launch_builder(&gpu.rows_nearest);
            launch
                .arg(&dots)
                .arg(&norms_dev)
                .arg(&n_i)
                .arg(&r0_i)
                .arg(&nq_i)
                .arg(&k_i)
                .arg(&mut out_dist)
                .arg(&mut out_idx)
                .arg(&mut out_max)
                .arg(&mut qg_dev);
            // SAFETY: the arguments match `rows_nearest` in kernels.cu; `dots` holds rows x n products for rows
            // r0.., `norms` n values, the outputs n x k, n and num_query x (n - num_query) slots (or one unused
            // slot when there is no gallery), and every index the kernel writes is below those sizes.
            unsafe { launch.launch(cfg) }.map_err(|e| GpuError::Driver(format!("rows_nearest launch: {e}")))?;
            progress.advance(1);
        }
        let dist = gpu.download(&out_dist)?;
        let idx = gpu.download(&out_idx)?;
        let row_max = gpu.download(&out_max)?;
        if !qg.is_empty() {
            let d = gpu.download(&qg_dev)?;
            qg.copy_from_slice(&d[..qg.len()]);
        }
        gpu.sync()?;
        progress.finish_stage();
        let idx: Vec<u32> = idx.into_iter().map(|j| u32::try_from(j).unwrap_or(u32::MAX)).collect();
        Neighbours::from_nearest(k, idx, dist, row_max, norms).map_err(GpuError::Shape)
    }
}

impl AllPairs for GpuAllPairs {
    fn name(&self) -> &'static str {
        "cuda"
    }

    fn all_pairs(
        &self,
        feats: &Matrix,
        num_query: usize,
        k: usize,
        qg: &mut [f32],
        progress: &dyn Progress,
    ) -> Result<Neighbours, RerankError> {
        self.run(feats, num_query, k, qg, progress)
            .map_err(|e| RerankError::Backend { backend: "cuda", message: e.to_string() })
    }
}
