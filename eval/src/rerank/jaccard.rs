//! Jaccard distances between the weight vectors of queries and gallery items through an inverted index
//! (Zhong et al. 2017, eq. 12), blended with the original distance (eq. 13).

use super::neighbours::Neighbours;
use super::sparse::SparseRows;
use crate::progress::Progress;
use rayon::prelude::*;

/// Overwrites `qg` (unscaled query x gallery distances, row-major) with the final re-ranked distances
/// `(1 - lambda) * jaccard + lambda * d / row_max`.
pub(crate) fn blend(
    nb: &Neighbours,
    v: &SparseRows,
    num_query: usize,
    lambda: f64,
    qg: &mut [f32],
    progress: &dyn Progress,
) {
    let n = v.rows();
    let num_gallery = n - num_query;
    if num_query == 0 || num_gallery == 0 {
        return;
    }
    // For each column, the gallery items (rows num_query..) with a non-zero weight there.
    let inverted = v.transpose_from(num_query, n);
    // Both weights rounded from double precision, as numpy rounds a Python float against float32 arrays.
    let keep = (1.0 - lambda) as f32;
    let lambda = lambda as f32;
    progress.stage("jaccard distances", num_query as u64);
    qg.par_chunks_mut(num_gallery).enumerate().for_each_init(
        || vec![0f32; num_gallery],
        |acc, (q, row)| {
            let (cs, vs) = v.row(q);
            for (&c, &vq) in cs.iter().zip(vs) {
                let (gs, ws) = inverted.row(c as usize);
                for (&g, &wg) in gs.iter().zip(ws) {
                    acc[g as usize] += vq.min(wg);
                }
            }
            let m = nb.row_max[q];
            for (out, shared) in row.iter_mut().zip(acc.iter_mut()) {
                let jaccard = 1.0 - *shared / (2.0 - *shared);
                let original = if m > 0.0 { *out / m } else { 0.0 };
                *out = jaccard * keep + original * lambda;
                *shared = 0.0;
            }
            progress.advance(1);
        },
    );
    progress.finish_stage();
}
