//! k-reciprocal re-ranking (Zhong, Zheng, Cao, Li: "Re-ranking Person Re-identification with k-reciprocal
//! Encoding", CVPR 2017), computed sparsely so memory grows with N * k instead of N^2.
//!
//! Semantics follow the implementation the common ReID toolboxes share (the authors' code as used by
//! reid-strong-baseline, fast-reid and TAO): squared euclidean distances between all N = queries + gallery
//! items, each row divided by its maximum; `R(i, k1)` from the first `k1 + 1` neighbours; expansion by
//! `round(k1 / 2)`-reciprocal sets overlapping more than 2/3; Gaussian weights `exp(-d)` normalised per row;
//! query expansion over the first `k2` neighbours; Jaccard distance over the weights; final distance
//! `(1 - lambda) * jaccard + lambda * d`. Neighbour ties are broken by index (a stable sort).
//!
//! Instead of the dense N x N distance, rank and weight matrices, this version keeps each item's `k1 + 1`
//! nearest items from a tiled symmetric all-pairs pass, sparse weight rows, and an inverted index for the
//! Jaccard sums. Callers L2-normalise the embeddings first, as the protocol prescribes.

mod jaccard;
mod neighbours;
mod reciprocal;
mod sparse;
mod topk;

pub use neighbours::Neighbours;

use crate::Matrix;
use crate::progress::{NoProgress, Progress};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Re-ranking parameters, named as in the spec's `re_ranking` section.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RerankParams {
    /// Neighbourhood size of the k-reciprocal sets (`k1`, default 20).
    pub k1: usize,
    /// Neighbourhood size of local query expansion (`k2`, default 6; 1 disables it).
    pub k2: usize,
    /// Weight of the original distance against the Jaccard distance (`lambda_value`, default 0.3).
    pub lambda: f64,
}

impl Default for RerankParams {
    fn default() -> Self {
        Self { k1: 20, k2: 6, lambda: 0.3 }
    }
}

impl RerankParams {
    /// Checks the ranges the spec allows, naming the offending key.
    pub fn validate(&self) -> Result<(), RerankError> {
        if self.k1 == 0 {
            return Err(RerankError::Param { key: "k1", value: self.k1.to_string(), expected: "an integer > 0" });
        }
        if self.k2 == 0 {
            return Err(RerankError::Param { key: "k2", value: self.k2.to_string(), expected: "an integer > 0" });
        }
        if !(0.0..=1.0).contains(&self.lambda) {
            return Err(RerankError::Param {
                key: "lambda_value",
                value: self.lambda.to_string(),
                expected: "a number in [0, 1]",
            });
        }
        Ok(())
    }
}

/// Inputs that cannot be re-ranked.
#[derive(Debug, Error, PartialEq)]
pub enum RerankError {
    /// A parameter out of range.
    #[error("re_ranking.{key} = {value} is out of range: expected {expected}")]
    Param {
        /// Spec key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// Query and gallery embeddings differ in dimension.
    #[error("query embeddings are {query}-d but gallery embeddings are {gallery}-d")]
    Dimension {
        /// Query dimension.
        query: usize,
        /// Gallery dimension.
        gallery: usize,
    },
    /// An embedding holds NaN or infinity.
    #[error("{set} embedding {row} has a non-finite value {value} at position {col}")]
    NonFinite {
        /// "query" or "gallery".
        set: &'static str,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// The value.
        value: f32,
    },
    /// More items than 32-bit indices address.
    #[error("{0} items is more than re-ranking supports (2^32 - 1)")]
    TooMany(usize),
    /// The all-pairs backend (a GPU, say) failed.
    #[error("re-ranking backend {backend}: {message}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What went wrong.
        message: String,
    },
}

/// The all-pairs pass that dominates re-ranking: squared euclidean distances between all items (queries first,
/// then gallery), each item's `k` nearest and its largest distance, and the unscaled query x gallery block.
/// [`CpuAllPairs`] is the tiled CPU pass; a GPU backend implements the same contract.
pub trait AllPairs: Sync {
    /// Short name for logs and errors.
    fn name(&self) -> &'static str;

    /// Runs the pass over `feats` (`num_query` queries, then gallery items), writing the clamped unscaled
    /// query x gallery distances into `qg` (`num_query x (n - num_query)`, row-major).
    fn all_pairs(
        &self,
        feats: &Matrix,
        num_query: usize,
        k: usize,
        qg: &mut [f32],
        progress: &dyn Progress,
    ) -> Result<Neighbours, RerankError>;
}

/// The CPU all-pairs pass (tiled symmetric GEMM on the rayon pool).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuAllPairs;

impl AllPairs for CpuAllPairs {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn all_pairs(
        &self,
        feats: &Matrix,
        num_query: usize,
        k: usize,
        qg: &mut [f32],
        progress: &dyn Progress,
    ) -> Result<Neighbours, RerankError> {
        Ok(neighbours::all_pairs(feats, num_query, k, qg, progress))
    }
}

/// Re-ranked `query x gallery` distances for (L2-normalised) embeddings.
pub fn rerank(query: &Matrix, gallery: &Matrix, params: &RerankParams) -> Result<Matrix, RerankError> {
    rerank_with_progress(query, gallery, params, &NoProgress)
}

/// [`rerank`] reporting its stages to `progress`.
pub fn rerank_with_progress(
    query: &Matrix,
    gallery: &Matrix,
    params: &RerankParams,
    progress: &dyn Progress,
) -> Result<Matrix, RerankError> {
    rerank_on(&CpuAllPairs, query, gallery, params, progress)
}

/// [`rerank_with_progress`] with the all-pairs pass run by `backend` (the rest runs on the CPU).
pub fn rerank_on(
    backend: &dyn AllPairs,
    query: &Matrix,
    gallery: &Matrix,
    params: &RerankParams,
    progress: &dyn Progress,
) -> Result<Matrix, RerankError> {
    params.validate()?;
    if query.rows() > 0 && gallery.rows() > 0 && query.cols() != gallery.cols() {
        return Err(RerankError::Dimension { query: query.cols(), gallery: gallery.cols() });
    }
    for (set, m) in [("query", query), ("gallery", gallery)] {
        if let Some((row, col, value)) = m.first_non_finite() {
            return Err(RerankError::NonFinite { set, row, col, value });
        }
    }
    let (nq, ng) = (query.rows(), gallery.rows());
    let n = nq + ng;
    if n >= u32::MAX as usize {
        return Err(RerankError::TooMany(n));
    }
    let mut out = Matrix::zeros(nq, ng);
    if nq == 0 || ng == 0 {
        return Ok(out);
    }
    let feats =
        query.vstack(gallery).map_err(|_| RerankError::Dimension { query: query.cols(), gallery: gallery.cols() })?;
    let k = (params.k1 + 1).max(params.k2);
    let nb = backend.all_pairs(&feats, nq, k, out.as_mut_slice(), progress)?;
    if nb.items() != n || nb.len_per_item() != k.min(n) {
        return Err(RerankError::Backend {
            backend: backend.name(),
            message: format!(
                "returned {} items x {} neighbours, expected {n} x {}",
                nb.items(),
                nb.len_per_item(),
                k.min(n)
            ),
        });
    }
    let v = reciprocal::weights(&nb, &feats, params.k1, progress);
    let v = reciprocal::query_expansion(&nb, &v, params.k2, progress);
    drop(feats);
    tracing::debug!(nnz = v.nnz(), items = n, "k-reciprocal weights");
    jaccard::blend(&nb, &v, nq, params.lambda, out.as_mut_slice(), progress);
    Ok(out)
}

/// The all-pairs dot-product GEMM that dominates re-ranking, alone (full N x N, tiled, results discarded),
/// for benchmarks that compare re-ranking against it. Returns a checksum so the work cannot be optimised away.
pub fn bare_all_pairs_gemm(feats: &Matrix) -> f64 {
    use rayon::prelude::*;
    let (n, dim) = (feats.rows(), feats.cols());
    let tile = neighbours::TILE;
    (0..n.div_ceil(tile))
        .into_par_iter()
        .map_init(
            || vec![0f32; tile * n],
            |buf, t| {
                let r0 = t * tile;
                let r1 = (r0 + tile).min(n);
                crate::distance::gemm_nt(
                    &feats.as_slice()[r0 * dim..r1 * dim],
                    r1 - r0,
                    feats.as_slice(),
                    n,
                    dim,
                    buf,
                    n,
                );
                buf[0] as f64
            },
        )
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_embeddings_give_finite_equal_distances() {
        // Every distance is 0, so every row maximum is 0: the scaled distances are defined as 0 (not NaN).
        let q = Matrix::from_rows(&[[0.6f32, 0.8], [0.6, 0.8]]).unwrap();
        let g = Matrix::from_rows(&[[0.6f32, 0.8], [0.6, 0.8], [0.6, 0.8]]).unwrap();
        let d = rerank(&q, &g, &RerankParams::default()).unwrap();
        assert_eq!((d.rows(), d.cols()), (2, 3));
        assert!(d.as_slice().iter().all(|v| v.is_finite()));
        let first = d.get(0, 0);
        assert!(d.as_slice().iter().all(|&v| (v - first).abs() < 1e-6), "{:?}", d.as_slice());
    }

    /// A backend that builds the lists from the full distance matrix (as a GPU or any other backend would hand
    /// them over): re-ranking through it equals the CPU pass.
    struct BruteForce;

    impl AllPairs for BruteForce {
        fn name(&self) -> &'static str {
            "brute-force"
        }

        fn all_pairs(
            &self,
            feats: &Matrix,
            nq: usize,
            k: usize,
            qg: &mut [f32],
            _: &dyn Progress,
        ) -> Result<Neighbours, RerankError> {
            let n = feats.rows();
            let norms = crate::distance::squared_norms(feats);
            let (mut idx, mut dist, mut row_max) = (Vec::new(), Vec::new(), Vec::new());
            for i in 0..n {
                let d: Vec<f32> = (0..n)
                    .map(|j| (norms[i] + norms[j] - 2.0 * crate::distance::dot(feats.row(i), feats.row(j))).max(0.0))
                    .collect();
                row_max.push(d.iter().copied().fold(0.0, f32::max));
                let mut order: Vec<usize> = (0..n).collect();
                order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
                for &j in &order[..k.min(n)] {
                    idx.push(j as u32);
                    dist.push(d[j]);
                }
                if i < nq {
                    qg[i * (n - nq)..(i + 1) * (n - nq)].copy_from_slice(&d[nq..]);
                }
            }
            Neighbours::from_nearest(k.min(n), idx, dist, row_max, norms)
                .map_err(|message| RerankError::Backend { backend: "brute-force", message })
        }
    }

    #[test]
    fn another_all_pairs_backend_gives_the_cpu_answer() {
        let mut s = 7u64;
        let mut rows = |n: usize| {
            let data: Vec<f32> = (0..n * 8)
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                })
                .collect();
            let mut m = Matrix::from_vec(n, 8, data).unwrap();
            crate::distance::l2_normalize_rows(&mut m);
            m
        };
        let (q, g) = (rows(7), rows(60));
        let params = RerankParams { k1: 6, k2: 3, lambda: 0.3 };
        let cpu = rerank(&q, &g, &params).unwrap();
        let other = rerank_on(&BruteForce, &q, &g, &params, &NoProgress).unwrap();
        for (a, b) in cpu.as_slice().iter().zip(other.as_slice()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
        // A backend whose lists have the wrong shape is an error naming it, not a panic.
        let bad = Neighbours::from_nearest(3, vec![0; 5], vec![0.0; 5], vec![0.0; 2], vec![0.0; 2]);
        assert!(bad.unwrap_err().contains("5 indices"));
        let bad = Neighbours::from_nearest(1, vec![9, 0], vec![0.0; 2], vec![0.0; 2], vec![0.0; 2]);
        assert!(bad.unwrap_err().contains("item 9 of 2"));
    }

    #[test]
    fn empty_sides_and_bad_inputs() {
        let q = Matrix::from_rows(&[[1.0f32, 0.0]]).unwrap();
        let empty = Matrix::zeros(0, 2);
        assert_eq!(rerank(&q, &empty, &RerankParams::default()).unwrap().cols(), 0);
        let g3 = Matrix::from_rows(&[[1.0f32, 0.0, 0.0]]).unwrap();
        assert_eq!(rerank(&q, &g3, &RerankParams::default()), Err(RerankError::Dimension { query: 2, gallery: 3 }));
        let nan = Matrix::from_rows(&[[1.0f32, f32::NAN]]).unwrap();
        let err = rerank(&q, &nan, &RerankParams::default()).unwrap_err();
        assert_eq!(err.to_string(), "gallery embedding 0 has a non-finite value NaN at position 1");
        let bad = RerankParams { lambda: 1.5, ..RerankParams::default() };
        assert_eq!(
            rerank(&q, &q, &bad).unwrap_err().to_string(),
            "re_ranking.lambda_value = 1.5 is out of range: expected a number in [0, 1]"
        );
        let bad = RerankParams { k2: 0, ..RerankParams::default() };
        assert!(rerank(&q, &q, &bad).unwrap_err().to_string().contains("re_ranking.k2"));
    }
}
