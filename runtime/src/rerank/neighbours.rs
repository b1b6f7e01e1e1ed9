//! The all-pairs pass: squared euclidean distances of every item to every item, tile by tile, keeping only
//! each row's k nearest, each row's maximum, and the query x gallery block that the final matrix needs.
//!
//! The distance matrix is symmetric, so only tiles on or above the diagonal are computed (half the GEMM work);
//! each tile feeds both its rows and, read column-wise, the rows of its columns. Workers pull tile rows
//! from a shared counter (largest first) and keep private k-nearest lists that are merged at the end, so no
//! N x N matrix is ever held.

use super::topk::TopK;
use crate::Matrix;
use crate::distance::{dots_to_sq_euclidean, gemm_nt, squared_norms};
use crate::progress::Progress;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Each item's nearest items by row-max-scaled squared euclidean distance.
pub(crate) struct Neighbours {
    /// List length per item: `min(k, n)`.
    pub len: usize,
    /// Item indices, `len` per item, nearest first (ties by index).
    pub idx: Vec<u32>,
    /// Scaled distances parallel to `idx`.
    pub dist: Vec<f32>,
    /// Largest unscaled distance of each item to any item (the row scale).
    pub row_max: Vec<f32>,
    /// Squared norms of the features.
    pub norms: Vec<f32>,
}

impl Neighbours {
    /// The first `m` neighbours of item `i` (fewer if the lists are shorter).
    pub fn of(&self, i: usize, m: usize) -> &[u32] {
        &self.idx[i * self.len..i * self.len + m.min(self.len)]
    }

    /// Scaled distances of the first `m` neighbours of item `i`.
    pub fn dist_of(&self, i: usize, m: usize) -> &[f32] {
        &self.dist[i * self.len..i * self.len + m.min(self.len)]
    }

    /// Divides an unscaled distance of row `i` by the row's maximum (0 when the row is all zeros).
    #[inline]
    pub fn scale(&self, i: usize, d: f32) -> f32 {
        let m = self.row_max[i];
        if m > 0.0 { d / m } else { 0.0 }
    }
}

/// Tile edge: 256 x 256 distances (256 KiB) per worker; the GEMM panels stay cache-resident.
pub(crate) const TILE: usize = 256;

/// Runs the all-pairs pass over `feats` (queries first, then gallery). Writes the unscaled query x gallery
/// distances into `qg` (`num_query x (n - num_query)`, row-major) and returns every item's `k` nearest.
pub(crate) fn all_pairs(
    feats: &Matrix,
    num_query: usize,
    k: usize,
    qg: &mut [f32],
    progress: &dyn Progress,
) -> Neighbours {
    let n = feats.rows();
    let dim = feats.cols();
    let num_gallery = n - num_query;
    assert_eq!(qg.len(), num_query * num_gallery, "query x gallery buffer has the wrong size");
    let norms = squared_norms(feats);
    let tiles = n.div_ceil(TILE);
    progress.stage("all-pairs distances", (tiles * (tiles + 1) / 2) as u64);

    // The query x gallery rows each tile row owns, handed to whichever worker claims that tile row.
    let mut slots: Vec<Mutex<Option<&mut [f32]>>> = Vec::with_capacity(tiles);
    let mut rest = qg;
    for t in 0..tiles {
        let rows = (t * TILE).min(num_query)..((t + 1) * TILE).min(num_query);
        let (mine, tail) = rest.split_at_mut(rows.len() * num_gallery);
        slots.push(Mutex::new(Some(mine)));
        rest = tail;
    }

    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().clamp(1, tiles.max(1));
    let states: Mutex<Vec<TopK>> = Mutex::new(Vec::with_capacity(workers));
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| {
                let mut state = TopK::new(n, k);
                let mut tile = vec![0f32; TILE * TILE];
                loop {
                    let ti = next.fetch_add(1, Ordering::Relaxed);
                    if ti >= tiles {
                        break;
                    }
                    let out = slots[ti].lock().expect("slot lock").take().expect("each tile row is claimed once");
                    let r0 = ti * TILE;
                    let r1 = (r0 + TILE).min(n);
                    for tj in ti..tiles {
                        let c0 = tj * TILE;
                        let c1 = (c0 + TILE).min(n);
                        let width = c1 - c0;
                        let fr = &feats.as_slice()[r0 * dim..r1 * dim];
                        let fc = &feats.as_slice()[c0 * dim..c1 * dim];
                        gemm_nt(fr, r1 - r0, fc, width, dim, &mut tile, width);
                        for (lr, row) in tile[..(r1 - r0) * width].chunks_exact_mut(width).enumerate() {
                            let gr = r0 + lr;
                            dots_to_sq_euclidean(row, norms[gr], &norms[c0..c1]);
                            state.offer_row(gr, row, c0 as u32);
                            if tj != ti {
                                state.offer_column(row, c0, gr as u32);
                            }
                            if gr < num_query && c1 > num_query {
                                let from = c0.max(num_query);
                                let dst = &mut out
                                    [lr * num_gallery + (from - num_query)..lr * num_gallery + (c1 - num_query)];
                                dst.copy_from_slice(&row[from - c0..]);
                            }
                        }
                        progress.advance(1);
                    }
                }
                states.lock().expect("states lock").push(state);
            });
        }
    });
    progress.finish_stage();

    let mut states = states.into_inner().expect("states lock");
    let mut merged = states.pop().expect("at least one worker");
    for other in &states {
        merged.merge(other);
    }
    finish(merged, n, k, norms)
}

/// Scales each list by its row maximum and re-sorts (scaling can only create ties, which sort by index).
fn finish(top: TopK, n: usize, k: usize, norms: Vec<f32>) -> Neighbours {
    debug_assert_eq!(top.max.len(), n);
    let len = k.min(n);
    let mut idx = Vec::with_capacity(n * len);
    let mut dist = Vec::with_capacity(n * len);
    let row_max: Vec<f32> = top.max.iter().map(|&m| m.max(0.0)).collect();
    let mut pairs: Vec<(f32, u32)> = Vec::with_capacity(len);
    for (i, &m) in row_max.iter().enumerate() {
        debug_assert_eq!(top.len[i] as usize, len);
        pairs.clear();
        for s in 0..len {
            let d = top.dist[i * top.k + s];
            pairs.push((if m > 0.0 { d / m } else { 0.0 }, top.idx[i * top.k + s]));
        }
        pairs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
        for &(d, j) in &pairs {
            dist.push(d);
            idx.push(j);
        }
    }
    Neighbours { len, idx, dist, row_max, norms }
}
