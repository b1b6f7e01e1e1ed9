//! Exact top-k on the GPU: the gallery copied to device memory once, scores of a query batch by cuBLAS over
//! gallery chunks, each chunk's segments reduced to their best k by `segment_topk`, the few survivors merged on
//! the host. Order and ties as the CPU index (score, then smaller id), so the answers are the same lists.

use super::GpuError;
use super::device::{Gpu, MAX_K, THREADS};
use crate::index::{Filter, Index};
use crate::topk::{Hit, TopK};
use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use std::sync::Arc;

/// Gallery columns per selection block.
const SEGMENT: usize = 8192;
/// Queries per launch (the grid's y extent).
const QUERY_BLOCK: usize = 1024;
/// Scores held per GEMM call (queries x chunk columns): 256 MiB of f32.
const SCORE_BUDGET: usize = 64 << 20;

/// A copy of an index's vectors and ids in GPU memory (f32, whatever the index's precision).
pub struct GpuGallery {
    pub(super) gpu: Arc<Gpu>,
    /// `capacity x dim` values, the first `rows x dim` in use.
    pub(super) data: CudaSlice<f32>,
    /// `capacity` ids, the first `rows` in use.
    pub(super) ids: CudaSlice<u64>,
    pub(super) rows: usize,
    pub(super) dim: usize,
}

impl std::fmt::Debug for GpuGallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuGallery").field("rows", &self.rows).field("dim", &self.dim).finish()
    }
}

impl GpuGallery {
    /// Copies `index` to the device (rows in storage order, so a filter's row mask applies as is).
    pub fn upload(gpu: Arc<Gpu>, index: &Index) -> Result<GpuGallery, GpuError> {
        let (ids, data) = index.rows_f32();
        Self::from_rows(gpu, &ids, &data, index.dim())
    }

    /// Copies `ids` and their rows (`ids.len() x dim`, row-major) to the device.
    pub fn from_rows(gpu: Arc<Gpu>, ids: &[u64], data: &[f32], dim: usize) -> Result<GpuGallery, GpuError> {
        if data.len() != ids.len() * dim {
            return Err(GpuError::Shape(format!("{} values for {} rows of {dim}", data.len(), ids.len())));
        }
        let rows = ids.len();
        // Keep device buffers non-empty so an empty gallery needs no special case in the launches.
        let data = if data.is_empty() { gpu.zeros(dim.max(1))? } else { gpu.upload(data)? };
        let ids = if ids.is_empty() { gpu.zeros(1)? } else { gpu.upload(ids)? };
        Ok(GpuGallery { gpu, data, ids, rows, dim })
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Top-`k` (at most [`MAX_K`]) rows for each query (`nq x dim`, row-major, normalised) admitted by `filter`,
    /// resolved against `index` (the index this copy was made from, unchanged since).
    pub fn search(&self, index: &Index, queries: &[f32], k: usize, filter: &Filter) -> Result<Vec<Vec<Hit>>, GpuError> {
        if index.len() != self.rows || index.dim() != self.dim {
            return Err(GpuError::Stale { gpu_rows: self.rows, index_rows: index.len() });
        }
        self.search_masked(queries, k, index.row_mask(filter).as_deref())
    }

    /// [`GpuGallery::search`] with a precomputed row mask (one byte per row, 1 = admitted; `None` = all).
    pub fn search_masked(&self, queries: &[f32], k: usize, mask: Option<&[u8]>) -> Result<Vec<Vec<Hit>>, GpuError> {
        let dim = self.dim;
        if dim == 0 || !queries.len().is_multiple_of(dim) {
            return Err(GpuError::Shape(format!(
                "{} query values are not a whole number of {dim}-d rows",
                queries.len()
            )));
        }
        let nq = queries.len() / dim;
        let k = k.min(self.rows);
        if k > MAX_K {
            return Err(GpuError::TooLarge(format!("k = {k} is more than the GPU selection keeps ({MAX_K})")));
        }
        if nq == 0 {
            return Ok(Vec::new());
        }
        if k == 0 {
            return Ok(vec![Vec::new(); nq]);
        }
        if let Some(m) = mask
            && m.len() != self.rows
        {
            return Err(GpuError::Shape(format!("row mask has {} bytes for {} rows", m.len(), self.rows)));
        }
        let mask_dev = match mask {
            Some(m) => self.gpu.upload(m)?,
            None => self.gpu.zeros::<u8>(1)?,
        };
        let use_mask = i32::from(mask.is_some());
        let mut out = Vec::with_capacity(nq);
        for qs in queries.chunks(QUERY_BLOCK * dim) {
            out.extend(self.search_block(qs, qs.len() / dim, k, &mask_dev, use_mask)?);
        }
        Ok(out)
    }

    fn search_block(
        &self,
        queries: &[f32],
        nq: usize,
        k: usize,
        mask: &CudaSlice<u8>,
        use_mask: i32,
    ) -> Result<Vec<Vec<Hit>>, GpuError> {
        let gpu = &self.gpu;
        let dim = self.dim;
        let chunk = (SCORE_BUDGET / nq).clamp(SEGMENT, self.rows.max(SEGMENT)).next_multiple_of(SEGMENT);
        let chunks: Vec<(usize, usize)> =
            (0..self.rows).step_by(chunk).map(|c0| (c0, (c0 + chunk).min(self.rows))).collect();
        let segments_total: usize = chunks.iter().map(|(a, b)| (b - a).div_ceil(SEGMENT)).sum();
        let q_dev = gpu.upload(queries)?;
        let mut scores = gpu.zeros::<f32>(nq * chunk.min(self.rows))?;
        let mut out_key = gpu.zeros::<f32>(nq * segments_total * k)?;
        let mut out_tie = gpu.zeros::<u64>(nq * segments_total * k)?;
        let int =
            |v: usize| i32::try_from(v).map_err(|_| GpuError::TooLarge(format!("{v} exceeds 32-bit launch sizes")));
        let mut seg_base = 0usize;
        for &(c0, c1) in &chunks {
            let cols = c1 - c0;
            {
                let view = self.data.slice(c0 * dim..c1 * dim);
                let mut dst = scores.slice_mut(..nq * cols);
                gpu.gemm_nt(&q_dev, nq, &view, cols, dim, &mut dst)?;
            }
            let segs = cols.div_ceil(SEGMENT);
            let cfg =
                LaunchConfig { grid_dim: (segs as u32, nq as u32, 1), block_dim: (THREADS, 1, 1), shared_mem_bytes: 0 };
            let (cols_i, col0, seg_i, k_i, total_i, base_i) =
                (int(cols)?, c0 as i64, int(SEGMENT)?, int(k)?, int(segments_total)?, int(seg_base)?);
            let mut launch = gpu.stream.launch_builder(&gpu.segment_topk);
            launch
                .arg(&scores)
                .arg(&cols_i)
                .arg(&col0)
                .arg(&seg_i)
                .arg(&k_i)
                .arg(&self.ids)
                .arg(mask)
                .arg(&use_mask)
                .arg(&total_i)
                .arg(&base_i)
                .arg(&mut out_key)
                .arg(&mut out_tie);
            // SAFETY: the argument list matches `segment_topk`'s signature in kernels.cu; `scores` holds nq x cols
            // values for this chunk, `ids`/`mask` cover every row (or use_mask is 0), and the outputs hold
            // nq x segments_total x k slots of which this launch writes segments seg_base..seg_base + segs.
            unsafe { launch.launch(cfg) }.map_err(|e| GpuError::Driver(format!("segment_topk launch: {e}")))?;
            seg_base += segs;
        }
        let keys = gpu.download(&out_key)?;
        let ties = gpu.download(&out_tie)?;
        gpu.sync()?;
        let per_query = segments_total * k;
        Ok((0..nq)
            .map(|q| {
                let mut top = TopK::new(k);
                let range = q * per_query..(q + 1) * per_query;
                for (&key, &id) in keys[range.clone()].iter().zip(&ties[range]) {
                    if id != u64::MAX {
                        top.push(Hit { id, score: -key });
                    }
                }
                top.into_sorted()
            })
            .collect())
    }
}
