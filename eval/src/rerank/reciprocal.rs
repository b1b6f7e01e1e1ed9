//! k-reciprocal neighbour sets, their expansion, the Gaussian-kernel weight vectors (Zhong et al. 2017, eq. 7-10)
//! and local query expansion (eq. 11), all as sparse rows.

use super::neighbours::Neighbours;
use super::sparse::SparseRows;
use crate::Matrix;
use crate::distance::dot;
use crate::progress::Progress;
use rayon::prelude::*;

/// `R(i, k)`: the items among `i`'s first `k` neighbours that also have `i` among their first `k`, in rank order.
fn reciprocal(nb: &Neighbours, i: u32, k: usize) -> Vec<u32> {
    nb.of(i as usize, k).iter().copied().filter(|&f| nb.of(f as usize, k).contains(&i)).collect()
}

/// The expanded k-reciprocal set of item `i`, sorted ascending and without duplicates.
///
/// A candidate's `round(k1/2)`-reciprocal set joins when more than two thirds of it is already in `R(i, k1)`.
/// The comparison is made in double precision exactly as the reference implementations write it.
pub(crate) fn expanded_set(nb: &Neighbours, i: u32, k1: usize) -> Vec<u32> {
    let r = reciprocal(nb, i, k1 + 1);
    let half = (k1 as f64 / 2.0).round_ties_even() as usize;
    let mut out = r.clone();
    for &c in &r {
        let rc = reciprocal(nb, c, half + 1);
        let inter = rc.iter().filter(|x| r.contains(x)).count();
        if inter as f64 > 2.0 / 3.0 * rc.len() as f64 {
            out.extend_from_slice(&rc);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The weight vectors `V`: for each item, `exp(-d)` over its expanded set, normalised to sum 1.
pub(crate) fn weights(nb: &Neighbours, feats: &Matrix, k1: usize, progress: &dyn Progress) -> SparseRows {
    let n = feats.rows();
    progress.stage("k-reciprocal sets", n as u64);
    let rows: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let set = expanded_set(nb, i as u32, k1);
            let listed = nb.of(i, nb.len);
            let listed_d = nb.dist_of(i, nb.len);
            let w: Vec<f32> = set
                .iter()
                .map(|&x| {
                    let d = match listed.iter().position(|&y| y == x) {
                        Some(p) => listed_d[p],
                        // Outside i's list (it came in through a candidate's set): compute it directly.
                        None => {
                            let raw = (nb.norms[i] + nb.norms[x as usize]
                                - 2.0 * dot(feats.row(i), feats.row(x as usize)))
                            .max(0.0);
                            nb.scale(i, raw)
                        }
                    };
                    (-d).exp()
                })
                .collect();
            let sum: f32 = w.iter().sum();
            progress.advance(1);
            set.into_iter().zip(w).map(|(x, wx)| (x, wx / sum)).collect()
        })
        .collect();
    progress.finish_stage();
    SparseRows::from_rows(rows)
}

/// Local query expansion: each item's vector becomes the mean of the vectors of its first `k2` neighbours
/// (summed in rank order, as the dense reference does). `k2 == 1` leaves `v` unchanged.
pub(crate) fn query_expansion(nb: &Neighbours, v: &SparseRows, k2: usize, progress: &dyn Progress) -> SparseRows {
    if k2 <= 1 {
        return v.clone();
    }
    let n = v.rows();
    progress.stage("query expansion", n as u64);
    let rows: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .with_min_len(64)
        .map(|i| {
            let members = nb.of(i, k2);
            let count = members.len() as f32;
            let mut pairs: Vec<(u32, f32)> = Vec::new();
            for &j in members {
                let (cs, vs) = v.row(j as usize);
                pairs.extend(cs.iter().copied().zip(vs.iter().copied()));
            }
            // Stable: equal columns keep rank order, so sums accumulate in the reference's order.
            pairs.sort_by_key(|p| p.0);
            let mut out: Vec<(u32, f32)> = Vec::with_capacity(pairs.len());
            for (c, x) in pairs {
                match out.last_mut() {
                    Some(last) if last.0 == c => last.1 += x,
                    _ => out.push((c, x)),
                }
            }
            for e in &mut out {
                e.1 /= count;
            }
            progress.advance(1);
            out
        })
        .collect();
    progress.finish_stage();
    SparseRows::from_rows(rows)
}
