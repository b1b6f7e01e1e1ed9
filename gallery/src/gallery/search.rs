//! Answering queries: cost first ([`crate::budget`]), then the light path (one batched search on the search
//! threads) or the heavy path (the heavy threads, and the index read lock held only while reading it: re-ranking's
//! all-pairs pass runs on a copied neighbourhood, so an enrolment waiting for the write lock — and every plain
//! query queued behind that writer — never waits for a re-ranking to finish).

use super::{Gallery, GalleryError, normalise_checked};
use crate::budget::Cost;
use crate::index::Index;
use crate::openset;
use crate::payload::{self, Match, PayloadError, QueryOptions, QueryResult};
use crate::rerank;
use crate::topk::Hit;

/// Query vectors searched per read lock on the heavy path (without re-ranking).
const HEAVY_BATCH: usize = 64;

impl Gallery {
    /// The cost of `vectors` query vectors with `options` against this gallery now, refused when over the budget.
    pub fn cost(&self, vectors: usize, options: &QueryOptions) -> Result<Cost, GalleryError> {
        let budget = &self.config.budget;
        let cost = budget.cost(vectors, options, self.len(), &self.config.rerank);
        budget.check(&cost)?;
        Ok(cost)
    }

    /// Answers `vectors` (`n * dim`, not necessarily normalised) with `options`; refuses a request over the
    /// budget before searching.
    pub fn search(&self, vectors: &[f32], options: &QueryOptions) -> Result<Vec<QueryResult>, GalleryError> {
        let dim = self.dim();
        if vectors.is_empty() || !vectors.len().is_multiple_of(dim) {
            return Err(PayloadError {
                field: "embedding".into(),
                message: format!("{} values is not a whole number of {dim}-d embeddings", vectors.len()),
            }
            .into());
        }
        if options.k == 0 || options.k > payload::MAX_K {
            let message = format!("{} is outside 1..={}", options.k, payload::MAX_K);
            return Err(PayloadError { field: "k".into(), message }.into());
        }
        let cost = self.cost(vectors.len() / dim, options)?;
        let mut q = vectors.to_vec();
        for (i, v) in q.chunks_exact_mut(dim).enumerate() {
            normalise_checked(v, dim, &format!("embeddings[{i}]"))?;
        }
        let threshold = options.threshold.unwrap_or(self.config.threshold);
        if !cost.heavy {
            let index = self.read_index();
            let lists = self.topk(&index, &self.pool, &q, options.k, &options.filter);
            return Ok(lists.into_iter().map(|hits| result_of(describe_all(&index, &hits, None), threshold)).collect());
        }
        let mut out = Vec::with_capacity(q.len() / dim);
        if !options.rerank {
            for batch in q.chunks(HEAVY_BATCH * dim) {
                let index = self.read_index();
                let lists = self.topk(&index, &self.heavy_pool, batch, options.k, &options.filter);
                out.extend(lists.into_iter().map(|hits| result_of(describe_all(&index, &hits, None), threshold)));
            }
            return Ok(out);
        }
        let rr = &self.config.rerank;
        let depth = options.k.max(rr.candidates);
        for qv in q.chunks_exact(dim) {
            let (hits, hood) = {
                let index = self.read_index();
                let hits = self.topk(&index, &self.heavy_pool, qv, depth, &options.filter).pop().unwrap_or_default();
                let hood = self.heavy_pool.install(|| rerank::gather(&index, &hits, &options.filter, rr));
                (hits, hood)
            };
            let matches = if hits.is_empty() {
                Vec::new()
            } else {
                let reranked =
                    self.heavy_pool.install(|| rerank::order(&*self.rerank_backend, qv, &hits, &hood, &rr.params))?;
                let index = self.read_index();
                let kept: Vec<(Hit, f32)> = reranked
                    .iter()
                    .filter(|r| index.info(r.id).is_some()) // forgotten while re-ranking: not returned
                    .take(options.k)
                    .map(|r| (Hit { id: r.id, score: r.score }, r.distance))
                    .collect();
                kept.into_iter().map(|(h, d)| describe(&index, h, Some(d))).collect()
            };
            out.push(result_of(matches, threshold));
        }
        Ok(out)
    }
}

impl Gallery {
    /// Top-`k` of `queries` from the device when one is attached and takes `k`, else from the index on `pool`;
    /// a device that fails answers this request on the CPU (with a warning).
    fn topk(
        &self,
        index: &Index,
        pool: &rayon::ThreadPool,
        queries: &[f32],
        k: usize,
        filter: &crate::index::Filter,
    ) -> Vec<Vec<Hit>> {
        let device = self.device.read().unwrap_or_else(|p| p.into_inner());
        if let Some(d) = device.as_ref()
            && k <= d.max_k()
        {
            match d.search(index, queries, k, filter) {
                Ok(lists) => return lists,
                Err(e) => {
                    tracing::warn!(device = %d.name(), error = %e, "device top-k failed; this request answers on the CPU")
                }
            }
        }
        drop(device);
        pool.install(|| index.search(queries, k, filter))
    }
}

fn describe_all(index: &Index, hits: &[Hit], distance: Option<f32>) -> Vec<Match> {
    hits.iter().map(|&h| describe(index, h, distance)).collect()
}

fn describe(index: &Index, hit: Hit, rerank_distance: Option<f32>) -> Match {
    let info = index.info(hit.id);
    Match {
        id: hit.id,
        identity: info.as_ref().and_then(|i| i.identity.map(str::to_string)),
        score: hit.score,
        camera: info.as_ref().and_then(|i| i.camera.map(str::to_string)),
        timestamp_ms: info.as_ref().map_or(0, |i| i.timestamp_ms),
        track_id: info.and_then(|i| i.track_id),
        rerank_distance,
    }
}

/// The open-set verdict of `matches` at `threshold`.
pub(super) fn result_of(matches: Vec<Match>, threshold: f32) -> QueryResult {
    let v = openset::decide(matches.iter().map(|m| (m.identity.as_deref(), m.score)), threshold);
    QueryResult {
        matches,
        best_identity: v.identity,
        best_score: v.score,
        unknown: v.unknown,
        votes: v.votes,
        threshold,
    }
}
