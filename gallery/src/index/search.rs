//! Top-k search over the index: one query as a parallel scan ([`Index::search`] below the batching threshold), a
//! batch with the blocked outer-product kernel or a GEMM per gallery tile, and the scalar reference.

use super::filter::RowFilter;
use super::{Filter, Index, Precision, Vectors};
use crate::kernels::{self, Simd};
use crate::topk::{Hit, TopK};
use rayon::prelude::*;

/// Batches of at least this many queries run batched (blocked kernel or GEMM) over f32 storage; smaller ones as
/// one scan per query. The blocked kernel pads a batch to a whole query block (16 or 32), so a batch of 2 costs
/// about as much as 2 scans; from 3 on, batching wins (measured, 1M x 256, 2 threads).
pub const GEMM_MIN_BATCH: usize = 3;
/// The same for f16 storage, whose scans are twice as fast (half the bytes) while batching also widens every tile.
pub const GEMM_MIN_BATCH_F16: usize = 5;
/// The same for int8 storage: a single-query code scan reads a quarter of f32's bytes, so only larger batches gain
/// from the batched kernels (over tiles decoded from the codes, then re-scored exactly like a scan's candidates).
pub const GEMM_MIN_BATCH_I8: usize = 8;
/// int8 storage: the code scan keeps `k * RESCORE_FACTOR` candidates, re-scored exactly in f32 (measured at 1M x
/// 256 random unit vectors: see the README's gallery section).
pub const RESCORE_FACTOR: usize = 4;
/// Gallery rows per parallel scan task.
const SCAN_CHUNK: usize = 8192;
/// Rows whose scores are computed before the top-k update (fits L1).
const SCAN_BLOCK: usize = 256;
/// Gallery rows per GEMM tile (the portable matrixmultiply path).
const GEMM_TILE: usize = 1024;
/// Gallery rows per tile of the blocked kernel (256 KiB of f32 at 256-d: stays in L2 across query blocks).
const BLOCK_TILE: usize = 256;

impl Index {
    /// Top-`k` rows for each query of `queries` (`nq x dim`, row-major, normalised), best first. Runs on the
    /// current rayon pool (call inside `ThreadPool::install` to choose the threads).
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub fn search(&self, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        self.search_with(Simd::detect(), queries, k, filter)
    }

    /// [`Index::search`] with a chosen kernel family (tests and benchmarks compare them).
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub fn search_with(&self, simd: Simd, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        if self.graph.is_some() {
            return self.search_graph(simd, queries, k, filter);
        }
        self.search_exact_with(simd, queries, k, filter)
    }

    /// Exact top-`k` (the scan or the batched kernels), also when an HNSW graph is attached.
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub fn search_exact(&self, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        self.search_exact_with(Simd::detect(), queries, k, filter)
    }

    /// The number of queries in `queries` and `k` capped at the index's size; `Err` is the whole answer when
    /// there is nothing to search (no queries, or `k` of 0).
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub(super) fn query_shape(&self, queries: &[f32], k: usize) -> Result<(usize, usize), Vec<Vec<Hit>>> {
        assert!(self.dim > 0 && queries.len().is_multiple_of(self.dim), "search: queries are not nq x dim");
        let nq = queries.len() / self.dim;
        if nq == 0 {
            return Err(Vec::new());
        }
        let k = k.min(self.len());
        if k == 0 {
            return Err(vec![Vec::new(); nq]);
        }
        Ok((nq, k))
    }

    /// [`Index::search_exact`] with a chosen kernel family.
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub fn search_exact_with(&self, simd: Simd, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        let (nq, k) = match self.query_shape(queries, k) {
            Ok(shape) => shape,
            Err(nothing) => return nothing,
        };
        let f = self.compile(filter);
        let min_batch = match self.precision() {
            Precision::F32 => GEMM_MIN_BATCH,
            Precision::F16 => GEMM_MIN_BATCH_F16,
            Precision::Int8 => GEMM_MIN_BATCH_I8,
        };
        // int8: every path first keeps `k * rescore` candidates by their code scores, then re-scores them exactly.
        let int8 = matches!(self.vectors, Vectors::I8 { .. });
        let wanted = if int8 { k.saturating_mul(self.rescore).min(self.len()) } else { k };
        let hits = if nq >= min_batch && simd.blocked() {
            self.search_blocked(simd, queries, nq, wanted, &f)
        } else if nq >= min_batch {
            self.search_gemm(simd, queries, nq, wanted, &f)
        } else if let Vectors::I8 { codes, scales } = &self.vectors {
            queries.chunks_exact(self.dim).map(|q| self.scan_i8(simd, q, wanted, &f, codes, scales)).collect()
        } else {
            queries.chunks_exact(self.dim).map(|q| self.scan(simd, q, k, &f)).collect()
        };
        if int8 { self.rescore_exact(simd, queries, hits, k) } else { hits }
    }

    /// int8: re-scores each query's candidates against their exact vectors (one [`super::VectorSource`] read for
    /// the union of all candidates) with the f32 scan kernel, so scores equal an f32 index's, and keeps the best
    /// `k`. A candidate the source no longer holds (being forgotten) is dropped.
    fn rescore_exact(&self, simd: Simd, queries: &[f32], candidates: Vec<Vec<Hit>>, k: usize) -> Vec<Vec<Hit>> {
        let dim = self.dim;
        let mut ids: Vec<u64> = candidates.iter().flatten().map(|h| h.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut rows = vec![0.0f32; ids.len() * dim];
        let Some(found) = self.fetch_exact(&ids, &mut rows) else { return candidates };
        let mut score = [0.0f32];
        queries
            .chunks_exact(dim)
            .zip(candidates)
            .map(|(q, cands)| {
                let mut top = TopK::new(k);
                for hit in cands {
                    let Ok(at) = ids.binary_search(&hit.id) else { continue };
                    if !found[at] {
                        continue;
                    }
                    kernels::dots_f32(simd, q, &rows[at * dim..(at + 1) * dim], dim, &mut score);
                    top.push(Hit { id: hit.id, score: score[0] });
                }
                top.into_sorted()
            })
            .collect()
    }

    /// Exact search with the plain scalar loop, for tests and for checking the fast paths.
    pub fn search_brute_force(&self, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        let f = self.compile(filter);
        queries
            .chunks_exact(self.dim)
            .map(|q| {
                let mut top = TopK::new(k.min(self.len()));
                let mut row = vec![0.0f32; self.dim];
                for r in 0..self.rows() {
                    self.row_f32(r, &mut row);
                    let s = kernels::portable_dot(q, &row);
                    if self.accept(&f, r) {
                        top.push(Hit { id: self.ids[r], score: s });
                    }
                }
                top.into_sorted()
            })
            .collect()
    }

    pub(super) fn row_f32(&self, r: usize, out: &mut [f32]) {
        let range = r * self.dim..(r + 1) * self.dim;
        match &self.vectors {
            Vectors::F32(v) => out.copy_from_slice(&v[range]),
            Vectors::F16(v) => out.iter_mut().zip(&v[range]).for_each(|(o, h)| *o = h.to_f32()),
            Vectors::I8 { codes, scales } => kernels::dequantize_i8(&codes[range], scales[r], out),
        }
    }

    fn scan(&self, simd: Simd, q: &[f32], k: usize, f: &RowFilter) -> Vec<Hit> {
        let n = self.rows();
        let dim = self.dim;
        let chunks = n.div_ceil(SCAN_CHUNK);
        (0..chunks)
            .into_par_iter()
            .fold(
                || (TopK::new(k), vec![0.0f32; SCAN_BLOCK], Vec::new()),
                |(mut top, mut scores, mut scratch), c| {
                    let end = ((c + 1) * SCAN_CHUNK).min(n);
                    let mut r0 = c * SCAN_CHUNK;
                    while r0 < end {
                        let rows = (end - r0).min(SCAN_BLOCK);
                        let out = &mut scores[..rows];
                        match &self.vectors {
                            Vectors::F32(v) => kernels::dots_f32(simd, q, &v[r0 * dim..(r0 + rows) * dim], dim, out),
                            Vectors::F16(v) => {
                                kernels::dots_f16(simd, q, &v[r0 * dim..(r0 + rows) * dim], dim, out, &mut scratch)
                            }
                            Vectors::I8 { .. } => {
                                // Not taken (int8 scans go through `scan_i8`); the decoded codes, for completeness.
                                let tile = self.tile_f32(simd, r0, rows, &mut scratch);
                                kernels::dots_f32(simd, q, tile, dim, out)
                            }
                        }
                        self.offer(f, r0, out, &mut top);
                        r0 += rows;
                    }
                    (top, scores, scratch)
                },
            )
            .map(|(top, _, _)| top)
            .reduce(
                || TopK::new(k),
                |mut a, b| {
                    a.merge(b);
                    a
                },
            )
            .into_sorted()
    }

    /// One query over int8 codes: the query quantised like the rows, a parallel scan of the codes keeping the
    /// best `wanted` rows by their code scores (filter applied), best first; [`Index::rescore_exact`] re-scores
    /// them.
    fn scan_i8(&self, simd: Simd, q: &[f32], wanted: usize, f: &RowFilter, codes: &[i8], scales: &[f32]) -> Vec<Hit> {
        let n = self.rows();
        let dim = self.dim;
        let mut qc = vec![0i8; dim];
        let qs = kernels::quantize_i8(q, &mut qc);
        let chunks = n.div_ceil(SCAN_CHUNK);
        let candidates = (0..chunks)
            .into_par_iter()
            .fold(
                || (TopK::new(wanted), vec![0i32; SCAN_BLOCK], vec![0.0f32; SCAN_BLOCK]),
                |(mut top, mut dots, mut scores), c| {
                    let end = ((c + 1) * SCAN_CHUNK).min(n);
                    let mut r0 = c * SCAN_CHUNK;
                    while r0 < end {
                        let rows = (end - r0).min(SCAN_BLOCK);
                        kernels::dots_i8(simd, &qc, &codes[r0 * dim..(r0 + rows) * dim], dim, &mut dots[..rows]);
                        for ((s, &d), &sc) in scores.iter_mut().zip(&dots[..rows]).zip(&scales[r0..r0 + rows]) {
                            *s = d as f32 * sc * qs;
                        }
                        self.offer(f, r0, &scores[..rows], &mut top);
                        r0 += rows;
                    }
                    (top, dots, scores)
                },
            )
            .map(|(top, _, _)| top)
            .reduce(
                || TopK::new(wanted),
                |mut a, b| {
                    a.merge(b);
                    a
                },
            );
        candidates.into_sorted()
    }

    /// Batched search with the outer-product kernel ([`kernels::block_scores`]): per gallery tile (kept in L2), per
    /// block of 16 (32) queries, 6 (12) rows at a time; the top-k update runs only for row blocks that beat a
    /// query's floor.
    fn search_blocked(&self, simd: Simd, queries: &[f32], nq: usize, k: usize, f: &RowFilter) -> Vec<Vec<Hit>> {
        let (qb, rb) = simd.block_shape();
        let n = self.rows();
        let dim = self.dim;
        let packed = kernels::pack_queries(queries, nq, dim, qb);
        let qblocks = nq.div_ceil(qb);
        let tiles = n.div_ceil(BLOCK_TILE);
        let fresh = || (vec![TopK::new(k); nq], Vec::<f32>::new(), vec![0.0f32; rb * dim], vec![0.0f32; rb * qb]);
        let tops = (0..tiles)
            .into_par_iter()
            .fold(fresh, |(mut tops, mut wide, mut pad, mut out), t| {
                let r0 = t * BLOCK_TILE;
                let rows = (n - r0).min(BLOCK_TILE);
                let tile = self.tile_f32(simd, r0, rows, &mut wide);
                // Rows of the next tile (most likely this worker's next one), prefetched a slice per row block so
                // the memory traffic overlaps the arithmetic instead of stalling the first query block.
                let next = (r0 + rows).min(n)..(r0 + rows + BLOCK_TILE).min(n);
                let per_block = BLOCK_TILE.div_ceil(rows.div_ceil(rb));
                let mut floors = vec![f32::INFINITY; qb];
                for b in 0..qblocks {
                    let qt = &packed[b * dim * qb..(b + 1) * dim * qb];
                    let live = (nq - b * qb).min(qb);
                    floors.fill(f32::INFINITY);
                    for (j, fl) in floors.iter_mut().enumerate().take(live) {
                        *fl = tops[b * qb + j].floor();
                    }
                    let mut r = 0;
                    while r < rows {
                        if b == 0 {
                            let from = (next.start + r / rb * per_block).min(next.end);
                            let to = (from + per_block).min(next.end);
                            match &self.vectors {
                                Vectors::F32(v) => kernels::prefetch(&v[from * dim..to * dim]),
                                Vectors::F16(v) => kernels::prefetch(&v[from * dim..to * dim]),
                                Vectors::I8 { codes, .. } => kernels::prefetch(&codes[from * dim..to * dim]),
                            }
                        }
                        let cnt = (rows - r).min(rb);
                        let block: &[f32] = if cnt == rb {
                            &tile[r * dim..(r + rb) * dim]
                        } else {
                            pad.fill(0.0);
                            pad[..cnt * dim].copy_from_slice(&tile[r * dim..(r + cnt) * dim]);
                            &pad
                        };
                        if kernels::block_scores(simd, qt, block, dim, &floors, &mut out) {
                            for rr in 0..cnt {
                                let row = r0 + r + rr;
                                for j in 0..live {
                                    let s = out[rr * qb + j];
                                    if s >= floors[j] && self.accept(f, row) {
                                        let top = &mut tops[b * qb + j];
                                        top.push(Hit { id: self.ids[row], score: s });
                                        floors[j] = top.floor();
                                    }
                                }
                            }
                        }
                        r += cnt;
                    }
                }
                (tops, wide, pad, out)
            })
            .map(|(tops, _, _, _)| tops)
            .reduce(
                || vec![TopK::new(k); nq],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| x.merge(y));
                    a
                },
            );
        tops.into_iter().map(TopK::into_sorted).collect()
    }

    /// Rows `r0..r0 + rows` as f32: borrowed from f32 storage, widened into `wide` from f16 storage, decoded into
    /// `wide` from int8 codes.
    fn tile_f32<'a>(&'a self, simd: Simd, r0: usize, rows: usize, wide: &'a mut Vec<f32>) -> &'a [f32] {
        let dim = self.dim;
        match &self.vectors {
            Vectors::F32(v) => &v[r0 * dim..(r0 + rows) * dim],
            Vectors::F16(v) => {
                wide.resize(rows * dim, 0.0);
                kernels::widen_f16(simd, &v[r0 * dim..(r0 + rows) * dim], wide);
                wide
            }
            Vectors::I8 { codes, scales } => {
                wide.resize(rows * dim, 0.0);
                for ((w, c), &s) in
                    wide.chunks_exact_mut(dim).zip(codes[r0 * dim..].chunks_exact(dim)).zip(&scales[r0..r0 + rows])
                {
                    kernels::dequantize_i8(c, s, w);
                }
                wide
            }
        }
    }

    fn search_gemm(&self, simd: Simd, queries: &[f32], nq: usize, k: usize, f: &RowFilter) -> Vec<Vec<Hit>> {
        let n = self.rows();
        let dim = self.dim;
        let tiles = n.div_ceil(GEMM_TILE);
        let fresh = || (vec![TopK::new(k); nq], vec![0.0f32; nq * GEMM_TILE], Vec::<f32>::new());
        let tops = (0..tiles)
            .into_par_iter()
            .fold(fresh, |(mut tops, mut scores, mut wide), t| {
                let r0 = t * GEMM_TILE;
                let rows = (n - r0).min(GEMM_TILE);
                let tile = self.tile_f32(simd, r0, rows, &mut wide);
                reid_eval::distance::gemm_nt(queries, nq, tile, rows, dim, &mut scores, GEMM_TILE);
                for (qi, top) in tops.iter_mut().enumerate() {
                    self.offer(f, r0, &scores[qi * GEMM_TILE..qi * GEMM_TILE + rows], top);
                }
                (tops, scores, wide)
            })
            .map(|(tops, _, _)| tops)
            .reduce(
                || vec![TopK::new(k); nq],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| x.merge(y));
                    a
                },
            );
        tops.into_iter().map(TopK::into_sorted).collect()
    }
}
