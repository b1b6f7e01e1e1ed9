//! Scoring embeddings with `reid-runtime`'s protocol: L2 normalisation, squared euclidean distances, optional
//! k-reciprocal re-ranking, mAP and CMC.

use super::error::TrainError;
use super::history::Validation;
use reid_eval::Matrix;
use reid_eval::distance::{Metric, distance_matrix, l2_normalize_rows};
use reid_eval::metrics::{EvalResult, Label, evaluate};
use reid_eval::rerank::{RerankParams, rerank};

/// Scores of one evaluation, with the distances they came from.
#[derive(Clone, Debug)]
pub struct Scores {
    /// Without re-ranking.
    pub plain: EvalResult,
    /// With re-ranking, when asked for.
    pub reranked: Option<EvalResult>,
    /// The distances of the final result (re-ranked when re-ranking is on).
    pub distances: Matrix,
}

impl Scores {
    /// The final result (re-ranked when re-ranking is on).
    pub fn best(&self) -> &EvalResult {
        self.reranked.as_ref().unwrap_or(&self.plain)
    }
}

/// mAP and rank-1/5/10 of a result.
pub fn summary(r: &EvalResult) -> Validation {
    Validation { map: r.map, rank1: r.rank(1), rank5: r.rank(5), rank10: r.rank(10) }
}

/// Scores query embeddings against gallery embeddings.
pub fn score(
    mut query: Matrix,
    query_labels: &[Label],
    mut gallery: Matrix,
    gallery_labels: &[Label],
    rerank_params: Option<&RerankParams>,
) -> Result<Scores, TrainError> {
    let e = |m: String| TrainError::Eval(m);
    l2_normalize_rows(&mut query);
    l2_normalize_rows(&mut gallery);
    let dist = distance_matrix(&query, &gallery, Metric::SquaredEuclidean).map_err(|x| e(x.to_string()))?;
    let plain = evaluate(&dist, query_labels, gallery_labels).map_err(|x| e(x.to_string()))?;
    match rerank_params {
        Some(p) => {
            let re = rerank(&query, &gallery, p).map_err(|x| e(x.to_string()))?;
            let reranked = evaluate(&re, query_labels, gallery_labels).map_err(|x| e(x.to_string()))?;
            Ok(Scores { plain, reranked: Some(reranked), distances: re })
        }
        None => Ok(Scores { plain, reranked: None, distances: dist }),
    }
}
