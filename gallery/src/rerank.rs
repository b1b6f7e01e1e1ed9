//! k-reciprocal re-ranking at query time, over the query's candidate neighbourhood instead of the whole gallery.
//!
//! The neighbourhood is the query's top-`candidates` matches plus, when `expand` is on, the `k1` nearest gallery
//! items of each candidate (under the same filter), so the k-reciprocal sets of the candidates see the items they
//! would see in the full gallery. `reid_eval::rerank` (the field's algorithm: k-reciprocal sets, local query
//! expansion, Jaccard blend) runs on the query and that neighbourhood, ordered by id; the query's candidates
//! are then re-ordered by the re-ranked distance (ties by id). Items that only entered as neighbours give
//! context but are not returned. When the neighbourhood covers the whole gallery, the answer equals re-ranking
//! the query against the whole gallery.

use crate::index::{Filter, Index};
use crate::topk::Hit;
use reid_eval::Matrix;
use reid_eval::progress::NoProgress;
use reid_eval::rerank::{AllPairs, RerankError, RerankParams};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// How query-time re-ranking gathers its neighbourhood.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RerankConfig {
    /// The query's top matches that are re-ordered (at least `k`).
    pub candidates: usize,
    /// Add each candidate's `k1` nearest items to the neighbourhood (one batched search).
    pub expand: bool,
    /// k1, k2, lambda.
    pub params: RerankParams,
}

impl Default for RerankConfig {
    fn default() -> Self {
        RerankConfig { candidates: 50, expand: true, params: RerankParams::default() }
    }
}

/// A candidate after re-ranking.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reranked {
    /// Gallery id.
    pub id: u64,
    /// Its cosine score against the query (unchanged by re-ranking).
    pub score: f32,
    /// Re-ranked distance (smaller is closer).
    pub distance: f32,
}

/// The candidates' neighbourhood: candidate ids plus (optionally) their neighbours, sorted by id.
pub fn neighbourhood(index: &Index, candidates: &[Hit], filter: &Filter, config: &RerankConfig) -> Vec<u64> {
    let mut ids: BTreeSet<u64> = candidates.iter().map(|h| h.id).collect();
    if config.expand && !candidates.is_empty() {
        let mut queries = Vec::with_capacity(candidates.len() * index.dim());
        let cand: Vec<u64> = candidates.iter().map(|h| h.id).collect();
        index.vectors_into(&cand, &mut queries);
        for list in index.search(&queries, config.params.k1 + 1, filter) {
            ids.extend(list.iter().map(|h| h.id));
        }
    }
    ids.into_iter().collect()
}

/// A candidate neighbourhood copied out of the index, so that the all-pairs pass can run without holding it.
#[derive(Clone, Debug)]
pub struct Gathered {
    /// Neighbourhood ids, sorted.
    pub ids: Vec<u64>,
    /// Their vectors, one row per id.
    pub vectors: Matrix,
}

/// Gathers the neighbourhood of `candidates` ([`neighbourhood`]) and its vectors.
pub fn gather(index: &Index, candidates: &[Hit], filter: &Filter, config: &RerankConfig) -> Gathered {
    let ids = neighbourhood(index, candidates, filter, config);
    let dim = index.dim();
    let mut data = Vec::with_capacity(ids.len() * dim);
    index.vectors_into(&ids, &mut data);
    let vectors = Matrix::from_vec(ids.len(), dim, data).expect("neighbourhood is ids x dim");
    Gathered { ids, vectors }
}

/// Re-orders `candidates` of `query` (normalised) by k-reciprocal distance over a gathered neighbourhood, the
/// all-pairs pass run by `backend`.
pub fn order(
    backend: &dyn AllPairs,
    query: &[f32],
    candidates: &[Hit],
    hood: &Gathered,
    params: &RerankParams,
) -> Result<Vec<Reranked>, RerankError> {
    let distances = rerank_subset(backend, query, &hood.vectors, params)?;
    let mut out: Vec<Reranked> = candidates
        .iter()
        .map(|h| {
            let pos = hood.ids.binary_search(&h.id).expect("candidate is in its neighbourhood");
            Reranked { id: h.id, score: h.score, distance: distances[pos] }
        })
        .collect();
    out.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Re-orders `candidates` of `query` (normalised) by k-reciprocal distance over their neighbourhood, the
/// all-pairs pass run by `backend` ([`reid_eval::rerank::CpuAllPairs`] or a GPU): [`gather`] then [`order`].
pub fn rerank_candidates(
    backend: &dyn AllPairs,
    index: &Index,
    query: &[f32],
    candidates: &[Hit],
    filter: &Filter,
    config: &RerankConfig,
) -> Result<Vec<Reranked>, RerankError> {
    order(backend, query, candidates, &gather(index, candidates, filter, config), &config.params)
}

/// Re-ranked distances of one query to every row of `subset` (the runtime's full algorithm on that subset).
pub fn rerank_subset(
    backend: &dyn AllPairs,
    query: &[f32],
    subset: &Matrix,
    params: &RerankParams,
) -> Result<Vec<f32>, RerankError> {
    let q = Matrix::from_vec(1, query.len(), query.to_vec()).expect("1 x dim");
    Ok(reid_eval::rerank::rerank_on(backend, &q, subset, params, &NoProgress)?.into_vec())
}
