//! What one query request may cost, and which lane it runs in.
//!
//! A request's cost is counted before any work is done, from its shape alone:
//! - **matches**: query vectors × `k` (what the reply carries);
//! - **re-ranking pairs** (re-ranked requests): the sum over its query vectors of `M²`, where
//!   `M = min(gallery size, max(k, candidates) × (k1 + 1))` bounds the candidate neighbourhood that re-ranking's
//!   all-pairs pass compares ([`crate::rerank`]: the `max(k, candidates)` top matches and each one's `k1 + 1`
//!   nearest items). Its time grows with `M² × dim`.
//!
//! A request over either limit of [`QueryBudget`] is refused before it runs, with an error that names the limit,
//! the request's cost and the field to change (`k`, or `rerank`). Within budget, re-ranked requests and requests
//! with more than [`QueryBudget::light_vectors`] query vectors are *heavy*: the gallery runs them on their own
//! search threads ([`crate::GalleryConfig::heavy_threads`]) and, behind the Zenoh server, in their own bounded
//! queue, so that plain queries never wait behind them.

use crate::payload::QueryOptions;
use crate::rerank::RerankConfig;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The limits on one request (see the module docs for how cost is counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryBudget {
    /// Most matches per request, query vectors × `k` (default 65,536: 1,024 vectors at k = 64, or 65 at k = 1,000).
    pub max_matches: u64,
    /// Most re-ranking pairs per request, the sum of `M²` over its query vectors (default 17,640,000: 16 vectors at
    /// the default 50 candidates and k1 = 20, `16 × 1,050²`; or one vector at k = 200).
    pub max_rerank_pairs: u64,
    /// Requests with more query vectors than this (or re-ranked ones) are heavy (default 16).
    pub light_vectors: usize,
}

impl Default for QueryBudget {
    fn default() -> Self {
        QueryBudget { max_matches: 65_536, max_rerank_pairs: 16 * 1050 * 1050, light_vectors: 16 }
    }
}

/// What one request costs, counted from its shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cost {
    /// Query vectors.
    pub vectors: usize,
    /// Candidates re-ranked per query vector (`max(k, candidates)`; 0 without re-ranking).
    pub rerank_candidates: usize,
    /// The neighbourhood bound `M` per query vector (0 without re-ranking).
    pub neighbourhood: u64,
    /// Query vectors × k.
    pub matches: u64,
    /// Sum of `M²` over the query vectors.
    pub rerank_pairs: u64,
    /// Runs in the heavy lane.
    pub heavy: bool,
}

/// A request over budget.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("request over budget: {what} = {cost}, more than the gallery's limit {limit} = {max}; {hint}")]
pub struct OverBudget {
    /// The request field to change (`k`, `rerank`).
    pub field: &'static str,
    /// The limit exceeded (`max_matches`, `max_rerank_pairs`).
    pub limit: &'static str,
    /// How the cost was counted.
    pub what: String,
    /// The request's cost.
    pub cost: u64,
    /// The limit's value.
    pub max: u64,
    /// What to do instead.
    pub hint: &'static str,
}

impl QueryBudget {
    /// The cost of `vectors` query vectors with `options` on a gallery of `gallery_len` items re-ranking with
    /// `rerank` (saturating, never overflowing).
    pub fn cost(&self, vectors: usize, options: &QueryOptions, gallery_len: usize, rerank: &RerankConfig) -> Cost {
        let n = vectors as u64;
        let matches = n.saturating_mul(options.k as u64);
        let (rerank_candidates, neighbourhood) = if options.rerank {
            let c = options.k.max(rerank.candidates);
            let m = (c as u64).saturating_mul(rerank.params.k1 as u64 + 1).min(gallery_len as u64);
            (c, m)
        } else {
            (0, 0)
        };
        let rerank_pairs = n.saturating_mul(neighbourhood.saturating_mul(neighbourhood));
        Cost {
            vectors,
            rerank_candidates,
            neighbourhood,
            matches,
            rerank_pairs,
            heavy: options.rerank || vectors > self.light_vectors,
        }
    }

    /// Refuses a cost over either limit.
    pub fn check(&self, cost: &Cost) -> Result<(), OverBudget> {
        if cost.matches > self.max_matches {
            return Err(OverBudget {
                field: "k",
                limit: "max_matches",
                what: format!("{} query vectors x k", cost.vectors),
                cost: cost.matches,
                max: self.max_matches,
                hint: "ask for a smaller k or send fewer vectors per request",
            });
        }
        if cost.rerank_pairs > self.max_rerank_pairs {
            return Err(OverBudget {
                field: "rerank",
                limit: "max_rerank_pairs",
                what: format!(
                    "re-ranking {} query vectors x {} candidates, a neighbourhood of up to {} items each, in pairs",
                    cost.vectors, cost.rerank_candidates, cost.neighbourhood
                ),
                cost: cost.rerank_pairs,
                max: self.max_rerank_pairs,
                hint: "re-rank with a smaller k or fewer vectors per request, or query without rerank",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_counts_matches_and_neighbourhood_pairs() {
        let b = QueryBudget::default();
        let rr = RerankConfig::default(); // 50 candidates, k1 = 20
        let plain = QueryOptions { k: 10, ..QueryOptions::default() };
        let c = b.cost(16, &plain, 100_000, &rr);
        assert_eq!((c.matches, c.rerank_pairs, c.heavy), (160, 0, false));
        assert!(b.cost(17, &plain, 100_000, &rr).heavy);
        let hostile = QueryOptions { k: 1000, rerank: true, ..QueryOptions::default() };
        let c = b.cost(16, &hostile, 100_000, &rr);
        assert_eq!((c.rerank_candidates, c.neighbourhood, c.rerank_pairs), (1000, 21_000, 16 * 21_000 * 21_000));
        let e = b.check(&c).unwrap_err();
        assert_eq!((e.field, e.limit, e.cost, e.max), ("rerank", "max_rerank_pairs", 7_056_000_000, 17_640_000));
        assert!(e.to_string().contains("max_rerank_pairs = 17640000") && e.to_string().contains("7056000000"));
        // The default re-ranking of 16 vectors is exactly at the limit; a small gallery bounds the neighbourhood.
        let default_rr = QueryOptions { k: 10, rerank: true, ..QueryOptions::default() };
        assert!(b.check(&b.cost(16, &default_rr, 100_000, &rr)).is_ok());
        assert!(b.check(&b.cost(17, &default_rr, 100_000, &rr)).is_err());
        assert_eq!(b.cost(16, &hostile, 120, &rr).rerank_pairs, 16 * 120 * 120);
        // Matches: 1,024 x 1,000 is over; 65 x 1,000 is not.
        let wide = QueryOptions { k: 1000, ..QueryOptions::default() };
        assert_eq!(b.check(&b.cost(1024, &wide, 10, &rr)).unwrap_err().limit, "max_matches");
        assert!(b.check(&b.cost(65, &wide, 10, &rr)).is_ok());
    }
}
