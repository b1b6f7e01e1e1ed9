//! Per-query ranks of the true matches from one filtered pass over the distance row.
//!
//! A query needs only the ranks of its few true matches, not a sorted row: the matches are sorted by
//! `(distance, gallery index)`, and a single pass over the row counts, for every gallery item that sorts
//! before the last match, which match it precedes (binary search over the sorted matches). Items beyond
//! the last match — most of the gallery — are rejected sixteen at a time.

use super::Label;
use crate::Matrix;
use crate::lanes::{LANES, all_finite, le_mask, lt_eq_masks, ordered_bits};
use crate::progress::{NoProgress, Progress};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

/// Evaluation inputs that cannot be evaluated.
#[derive(Debug, Error, PartialEq)]
pub enum EvalError {
    /// The label lists do not match the distance matrix.
    #[error("distance matrix is {rows}x{cols} but there are {queries} query and {gallery} gallery labels")]
    Shape {
        /// Matrix rows.
        rows: usize,
        /// Matrix columns.
        cols: usize,
        /// Query labels.
        queries: usize,
        /// Gallery labels.
        gallery: usize,
    },
    /// A distance is NaN or infinite.
    #[error("distance for query {query}, gallery item {gallery} is {value}, not a finite number")]
    NonFinite {
        /// Query row.
        query: usize,
        /// Gallery column.
        gallery: usize,
        /// The value.
        value: f32,
    },
    /// No query has a true match in the gallery.
    #[error("none of the {queries} queries has a true match in the gallery (same identity, different camera)")]
    NoValidQuery {
        /// Number of queries.
        queries: usize,
    },
}

/// Results of [`evaluate`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalResult {
    /// Mean average precision over valid queries.
    pub map: f64,
    /// Mean inverse negative penalty over valid queries.
    pub minp: f64,
    /// `cmc[k]`: share of valid queries whose first true match has rank `<= k + 1`; one entry per gallery item.
    pub cmc: Vec<f64>,
    /// Number of queries.
    pub num_queries: usize,
    /// Queries with at least one true match (the others are skipped).
    pub num_valid_queries: usize,
    /// Per query: average precision, or `None` when the query was skipped.
    pub average_precision: Vec<Option<f64>>,
}

impl EvalResult {
    /// CMC at rank `k` (1-based): rank-1 is `rank(1)`. Ranks past the gallery size give 1 for a non-empty gallery.
    pub fn rank(&self, k: usize) -> f64 {
        match self.cmc.len() {
            0 => 0.0,
            n => self.cmc[k.clamp(1, n) - 1],
        }
    }
}

/// What one query contributes.
#[derive(Clone, Copy, Debug)]
struct QueryScore {
    ap: f64,
    inp: f64,
    first_rank: usize,
}

/// Evaluates a query x gallery distance matrix (smaller is closer) under the protocol of the module docs.
pub fn evaluate(dist: &Matrix, query: &[Label], gallery: &[Label]) -> Result<EvalResult, EvalError> {
    evaluate_with_progress(dist, query, gallery, &NoProgress)
}

/// [`evaluate`] reporting one unit of progress per query.
pub fn evaluate_with_progress(
    dist: &Matrix,
    query: &[Label],
    gallery: &[Label],
    progress: &dyn Progress,
) -> Result<EvalResult, EvalError> {
    if dist.rows() != query.len() || dist.cols() != gallery.len() {
        return Err(EvalError::Shape {
            rows: dist.rows(),
            cols: dist.cols(),
            queries: query.len(),
            gallery: gallery.len(),
        });
    }
    let mut by_pid: HashMap<u32, Vec<usize>> = HashMap::new();
    for (j, g) in gallery.iter().enumerate() {
        by_pid.entry(g.pid).or_default().push(j);
    }
    progress.stage("evaluating", query.len() as u64);
    let scores: Vec<Option<QueryScore>> = (0..query.len())
        .into_par_iter()
        .with_min_len(16)
        .map(|i| {
            let row = dist.row(i);
            if !all_finite(row) {
                let j = row.iter().position(|v| !v.is_finite()).expect("a non-finite value");
                return Err(EvalError::NonFinite { query: i, gallery: j, value: row[j] });
            }
            let candidates = by_pid.get(&query[i].pid).map_or(&[][..], Vec::as_slice);
            let score = score_query(row, &query[i], gallery, candidates);
            progress.advance(1);
            Ok(score)
        })
        .collect::<Result<_, _>>()?;
    progress.finish_stage();

    let valid: Vec<&QueryScore> = scores.iter().flatten().collect();
    if valid.is_empty() {
        return Err(EvalError::NoValidQuery { queries: query.len() });
    }
    let n = valid.len() as f64;
    let mut first_hist = vec![0usize; gallery.len()];
    for s in &valid {
        first_hist[s.first_rank] += 1;
    }
    let mut cmc = Vec::with_capacity(gallery.len());
    let mut cum = 0usize;
    for h in first_hist {
        cum += h;
        cmc.push(cum as f64 / n);
    }
    Ok(EvalResult {
        map: valid.iter().map(|s| s.ap).sum::<f64>() / n,
        minp: valid.iter().map(|s| s.inp).sum::<f64>() / n,
        cmc,
        num_queries: query.len(),
        num_valid_queries: valid.len(),
        average_precision: scores.iter().map(|s| s.map(|s| s.ap)).collect(),
    })
}

/// The `(distance, gallery index)` order of a stable sort, as one integer.
#[inline]
fn sort_key(d: f32, j: usize) -> u64 {
    (u64::from(ordered_bits(d)) << 32) | j as u64
}

/// Scores one query; `None` when it has no true match. `candidates` are the gallery items of its identity.
fn score_query(row: &[f32], q: &Label, gallery: &[Label], candidates: &[usize]) -> Option<QueryScore> {
    let mut matches: Vec<u64> = Vec::with_capacity(candidates.len());
    let mut removed: Vec<u64> = Vec::new();
    for &j in candidates {
        let key = sort_key(row[j], j);
        if q.same_view(&gallery[j]) { removed.push(key) } else { matches.push(key) }
    }
    if matches.is_empty() {
        return None;
    }
    matches.sort_unstable();
    let m = matches.len();
    let last_key = matches[m - 1];
    let d_last = row[(last_key & 0xffff_ffff) as usize];

    // The match distances, padded to whole lanes with +inf, for counting by vector compares.
    let mut match_d: Vec<f32> = matches.iter().map(|&k| row[(k & 0xffff_ffff) as usize]).collect();
    match_d.resize(m.div_ceil(LANES) * LANES, f32::INFINITY);
    // hist[t]: gallery items (matches and removed items included) sorting after match t-1 and not after match t.
    let mut hist = vec![0usize; m];
    let mut count = |d: f32, j: usize| {
        let (mut lt, mut eq) = (0u32, 0u32);
        for lanes in match_d.chunks_exact(LANES) {
            let (a, b) = lt_eq_masks(lanes.try_into().expect("exact chunk"), d);
            lt += a.count_ones();
            eq |= b;
        }
        if eq == 0 {
            // Below the last match and equal to none: `lt` matches sort before it.
            if (lt as usize) < m {
                hist[lt as usize] += 1;
            }
        } else {
            // A distance tie with a match: the gallery index decides.
            let key = sort_key(d, j);
            if key <= last_key {
                hist[matches.partition_point(|&mk| mk < key)] += 1;
            }
        }
    };
    let mut chunks = row.chunks_exact(LANES);
    for (c, chunk) in (&mut chunks).enumerate() {
        let chunk: &[f32; LANES] = chunk.try_into().expect("exact chunk");
        let mut mask = le_mask(chunk, d_last);
        while mask != 0 {
            let o = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            count(chunk[o], c * LANES + o);
        }
    }
    let tail = row.len() - chunks.remainder().len();
    for (o, &d) in chunks.remainder().iter().enumerate() {
        count(d, tail + o);
    }
    let mut ap = 0.0f64;
    let mut prefix = 0usize;
    let mut rank = 0usize;
    let mut first_rank = 0usize;
    for (t, &mk) in matches.iter().enumerate() {
        prefix += hist[t];
        let removed_before = removed.iter().filter(|&&r| r < mk).count();
        // `prefix` counts match t itself and everything sorting before it, removed items included.
        rank = prefix - 1 - removed_before;
        if t == 0 {
            first_rank = rank;
        }
        ap += (t + 1) as f64 / (rank + 1) as f64;
    }
    Some(QueryScore { ap: ap / m as f64, inp: m as f64 / (rank + 1) as f64, first_rank })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(pid: u32, cam: u32) -> Label {
        Label::new(pid, Some(cam))
    }

    #[test]
    fn hand_computed_query() {
        // Query pid 1 cam 1. Gallery order by distance: g2 (pid 2), g0 (pid 1 cam 1: removed), g1 (pid 1 cam 2),
        // g3 (pid 3), g4 (pid 1 cam 3). Valid ranking: g2, g1, g3, g4 -> matches at ranks 1 and 3 (0-based).
        let dist = Matrix::from_rows(&[[0.2f32, 0.3, 0.1, 0.4, 0.5]]).unwrap();
        let gallery = [l(1, 1), l(1, 2), l(2, 1), l(3, 2), l(1, 3)];
        let r = evaluate(&dist, &[l(1, 1)], &gallery).unwrap();
        let ap = (1.0 / 2.0 + 2.0 / 4.0) / 2.0;
        assert!((r.map - ap).abs() < 1e-12);
        assert!((r.minp - 2.0 / 4.0).abs() < 1e-12);
        assert_eq!(r.cmc, vec![0.0, 1.0, 1.0, 1.0, 1.0]);
        assert_eq!(r.rank(1), 0.0);
        assert_eq!(r.rank(5), 1.0);
    }

    #[test]
    fn ties_follow_gallery_order_and_invalid_queries_are_skipped() {
        // All distances equal: ranks follow gallery order. Query 1 (pid 9) has no match and is skipped.
        let dist = Matrix::from_rows(&[[0.5f32; 4], [0.5; 4]]).unwrap();
        let gallery = [l(2, 1), l(1, 2), l(3, 1), l(1, 3)];
        let r = evaluate(&dist, &[l(1, 1), l(9, 1)], &gallery).unwrap();
        assert_eq!(r.num_valid_queries, 1);
        assert_eq!(r.average_precision[1], None);
        assert!((r.map - (1.0 / 2.0 + 2.0 / 4.0) / 2.0).abs() < 1e-12);
        assert_eq!(r.cmc[0], 0.0);
        assert_eq!(r.cmc[1], 1.0);
    }

    #[test]
    fn errors_name_the_problem() {
        let dist = Matrix::from_rows(&[[0.5f32, f32::NAN]]).unwrap();
        let g = [l(1, 2), l(1, 3)];
        assert_eq!(
            evaluate(&dist, &[l(1, 1)], &g).unwrap_err().to_string(),
            "distance for query 0, gallery item 1 is NaN, not a finite number"
        );
        assert!(matches!(evaluate(&dist, &[], &g), Err(EvalError::Shape { .. })));
        let ok = Matrix::from_rows(&[[0.5f32, 0.1]]).unwrap();
        assert_eq!(evaluate(&ok, &[l(7, 1)], &g), Err(EvalError::NoValidQuery { queries: 1 }));
    }

    #[test]
    fn unknown_cameras_remove_nothing() {
        let dist = Matrix::from_rows(&[[0.1f32, 0.2]]).unwrap();
        let g = [Label::new(1, None), Label::new(2, None)];
        let r = evaluate(&dist, &[Label::new(1, None)], &g).unwrap();
        assert_eq!(r.map, 1.0);
    }
}
