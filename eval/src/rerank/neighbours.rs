//! The all-pairs pass: squared euclidean distances of every item to every item, tile by tile, keeping only
//! each row's k nearest, each row's maximum, and the query x gallery block that the final matrix needs.
//!
//! The distance matrix is symmetric, so only tiles on or above the diagonal are computed (half the GEMM work);
//! each tile feeds both its rows and, read column-wise, the rows of its columns. Workers pull tile rows
//! from a shared counter (largest first) and keep private k-nearest lists that are merged at the end, so no
//! N x N matrix is ever held.

use super::topk::{TopK, key_dist, key_index};
use crate::Matrix;
use crate::distance::{gemm_nt, squared_norms};
use crate::progress::Progress;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Each item's nearest items by row-max-scaled squared euclidean distance: what the all-pairs pass hands to the
/// rest of re-ranking (built here on the CPU, or by another backend through [`Neighbours::from_nearest`]).
#[derive(Clone, Debug)]
pub struct Neighbours {
    /// List length per item: `min(k, n)`.
    pub(crate) len: usize,
    /// Item indices, `len` per item, nearest first (ties by index).
    pub(crate) idx: Vec<u32>,
    /// Scaled distances parallel to `idx`.
    pub(crate) dist: Vec<f32>,
    /// Largest unscaled distance of each item to any item (the row scale).
    pub(crate) row_max: Vec<f32>,
    /// Squared norms of the features.
    pub(crate) norms: Vec<f32>,
}

impl Neighbours {
    /// Builds the lists from another backend's all-pairs pass over `n` items: for each item, its `len` nearest
    /// items (`idx`) with their unscaled, clamped (`max(d, 0)`) squared euclidean distances (`dist`), nearest first
    /// with ties by index; each item's largest distance to any item (`row_max`); and the squared norms of the
    /// features (`norms`, as [`crate::distance::squared_norms`] computes them). Scales and re-sorts as the CPU
    /// pass does. Errors when the lengths disagree or an index is out of range.
    pub fn from_nearest(
        len: usize,
        idx: Vec<u32>,
        dist: Vec<f32>,
        row_max: Vec<f32>,
        norms: Vec<f32>,
    ) -> Result<Neighbours, String> {
        let n = row_max.len();
        if norms.len() != n || idx.len() != n * len || dist.len() != n * len || len > n {
            return Err(format!(
                "all-pairs result has {} indices, {} distances, {} row maxima and {} norms for {n} items x {len}",
                idx.len(),
                dist.len(),
                row_max.len(),
                norms.len()
            ));
        }
        if let Some(&bad) = idx.iter().find(|&&j| j as usize >= n) {
            return Err(format!("all-pairs result names item {bad} of {n}"));
        }
        let mut top = TopK::new(n, len.max(1));
        for i in 0..n {
            for (&j, &d) in idx[i * len..(i + 1) * len].iter().zip(&dist[i * len..(i + 1) * len]) {
                top.offer(i, if d > 0.0 { d } else { 0.0 }, j);
            }
            top.max[i] = row_max[i];
        }
        Ok(finish(top, n, len, norms))
    }

    /// List length per item.
    pub fn len_per_item(&self) -> usize {
        self.len
    }

    /// Number of items.
    pub fn items(&self) -> usize {
        self.row_max.len()
    }

    /// Largest unscaled distance of item `i` to any item.
    pub fn row_max(&self, i: usize) -> f32 {
        self.row_max[i]
    }

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
    pub(crate) fn scale(&self, i: usize, d: f32) -> f32 {
        let m = self.row_max[i];
        if m > 0.0 { d / m } else { 0.0 }
    }
}

/// Rows per tile row (measured best among 256..1024 at 256-d and 2048-d on 2 cores).
pub(crate) const TILE: usize = 512;

/// Columns per GEMM call (a multiple of `TILE`): a 512 x 512 block of distances (1 MiB) per worker.
/// (Measured: wider panels, 1024 and 2048, are no faster with the AVX-512 kernel.)
const PANEL: usize = TILE;

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
    progress.stage("all-pairs distances", (0..tiles).map(|t| (n - t * TILE).div_ceil(PANEL) as u64).sum());

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
                let mut tile = vec![0f32; TILE * PANEL];
                loop {
                    let ti = next.fetch_add(1, Ordering::Relaxed);
                    if ti >= tiles {
                        break;
                    }
                    let out = slots[ti].lock().expect("slot lock").take().expect("each tile row is claimed once");
                    let r0 = ti * TILE;
                    let r1 = (r0 + TILE).min(n);
                    let fr = &feats.as_slice()[r0 * dim..r1 * dim];
                    // Columns r0.. in panels; the first TILE columns are the diagonal block, whose mirror
                    // entries are in the block itself, so only columns from r1 on feed the column lists.
                    let mut c0 = r0;
                    while c0 < n {
                        let c1 = (c0 + PANEL).min(n);
                        let width = c1 - c0;
                        let fc = &feats.as_slice()[c0 * dim..c1 * dim];
                        gemm_nt(fr, r1 - r0, fc, width, dim, &mut tile, width);
                        let col_from = r1.saturating_sub(c0);
                        for (lr, row) in tile[..(r1 - r0) * width].chunks_exact_mut(width).enumerate() {
                            let gr = r0 + lr;
                            state.scan(gr, row, norms[gr], &norms[c0..c1], c0, col_from);
                            if gr < num_query && c1 > num_query {
                                let from = c0.max(num_query);
                                let dst = &mut out
                                    [lr * num_gallery + (from - num_query)..lr * num_gallery + (c1 - num_query)];
                                dst.copy_from_slice(&row[from - c0..]);
                            }
                        }
                        progress.advance(1);
                        c0 = c1;
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
        debug_assert_eq!(top.list(i).len(), len);
        pairs.clear();
        for &key in &top.keys[i * top.k..i * top.k + len] {
            let d = key_dist(key);
            pairs.push((if m > 0.0 { d / m } else { 0.0 }, key_index(key)));
        }
        pairs.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
        for &(d, j) in &pairs {
            dist.push(d);
            idx.push(j);
        }
    }
    Neighbours { len, idx, dist, row_max, norms }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::{Metric, distance_matrix, l2_normalize_rows};
    use crate::progress::NoProgress;

    #[test]
    fn tiled_pass_equals_brute_force_across_panels_and_workers() {
        // 2,600 items: 11 tile rows, three column panels, a ragged last tile; 16-d so neighbours are distinct.
        let (n, nq, dim, k) = (2600, 300, 16, 21);
        let mut s = 12345u64;
        let data: Vec<f32> = (0..n * dim)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect();
        let mut feats = Matrix::from_vec(n, dim, data).unwrap();
        l2_normalize_rows(&mut feats);
        let mut qg = vec![0f32; nq * (n - nq)];
        let nb = all_pairs(&feats, nq, k, &mut qg, &NoProgress);

        let full = distance_matrix(&feats, &feats, Metric::SquaredEuclidean).unwrap();
        for i in 0..n {
            let row = full.row(i);
            let max = row.iter().copied().fold(0.0f32, f32::max);
            assert!((nb.row_max[i] - max).abs() < 1e-5, "row max of {i}");
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| row[a].partial_cmp(&row[b]).unwrap().then(a.cmp(&b)));
            let expected: Vec<u32> = order[..k].iter().map(|&j| j as u32).collect();
            assert_eq!(nb.of(i, k), &expected[..], "neighbours of {i}");
        }
        for q in 0..nq {
            for g in 0..n - nq {
                assert!((qg[q * (n - nq) + g] - full.get(q, nq + g)).abs() < 1e-5, "query {q} gallery {g}");
            }
        }
    }
}
