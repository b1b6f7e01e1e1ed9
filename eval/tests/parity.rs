//! Parity with the numpy reference (`tools/reference/reid_reference.py`), on fixtures written by
//! `tools/reference/gen_fixtures.py`. Tolerances: AP/CMC/mINP 1e-6, distances and re-ranked distances 1e-5.

use reid_eval::Matrix;
use reid_eval::distance::{Metric, distance_matrix};
use reid_eval::metrics::{Label, evaluate};
use reid_eval::rerank::{RerankParams, rerank};
use serde::Deserialize;
use std::path::PathBuf;

fn fixture<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn matrix(rows: &[Vec<f32>]) -> Matrix {
    Matrix::from_rows(rows).unwrap()
}

fn max_abs_diff(a: &Matrix, b: &Matrix) -> f32 {
    assert_eq!((a.rows(), a.cols()), (b.rows(), b.cols()), "shapes differ");
    a.as_slice().iter().zip(b.as_slice()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[derive(Deserialize)]
struct Expected {
    #[serde(rename = "mAP")]
    map: f64,
    #[serde(rename = "mINP")]
    minp: f64,
    cmc: Vec<f64>,
    ap: Vec<Option<f64>>,
    num_valid_queries: usize,
}

#[derive(Deserialize)]
struct EvalCase {
    dist: Vec<Vec<f32>>,
    q_pids: Vec<u32>,
    g_pids: Vec<u32>,
    q_cams: Vec<i64>,
    g_cams: Vec<i64>,
    expected: Expected,
}

fn labels(pids: &[u32], cams: &[i64]) -> Vec<Label> {
    pids.iter().zip(cams).map(|(&p, &c)| Label::new(p, u32::try_from(c).ok())).collect()
}

fn check_eval(name: &str) {
    let case: EvalCase = fixture(name);
    let r = evaluate(&matrix(&case.dist), &labels(&case.q_pids, &case.q_cams), &labels(&case.g_pids, &case.g_cams))
        .unwrap();
    let e = &case.expected;
    assert_eq!(r.num_valid_queries, e.num_valid_queries, "{name}: valid queries");
    assert!((r.map - e.map).abs() < 1e-6, "{name}: mAP {} vs {}", r.map, e.map);
    assert!((r.minp - e.minp).abs() < 1e-6, "{name}: mINP {} vs {}", r.minp, e.minp);
    assert_eq!(r.cmc.len(), e.cmc.len(), "{name}: CMC length");
    for (k, (a, b)) in r.cmc.iter().zip(&e.cmc).enumerate() {
        assert!((a - b).abs() < 1e-6, "{name}: CMC at rank {} is {a}, reference {b}", k + 1);
    }
    for (q, (a, b)) in r.average_precision.iter().zip(&e.ap).enumerate() {
        match (a, b) {
            (Some(a), Some(b)) => assert!((a - b).abs() < 1e-6, "{name}: AP of query {q}: {a} vs {b}"),
            (None, None) => {}
            _ => panic!("{name}: query {q} skipped in one implementation only ({a:?} vs {b:?})"),
        }
    }
}

#[test]
fn evaluation_matches_reference_on_random_distances() {
    check_eval("eval_random.json");
}

#[test]
fn evaluation_matches_reference_with_exact_ties() {
    check_eval("eval_ties.json");
}

#[test]
fn evaluation_matches_reference_with_unknown_cameras() {
    check_eval("eval_unknown_cameras.json");
}

#[derive(Deserialize)]
struct DistanceCase {
    a: Vec<Vec<f32>>,
    b: Vec<Vec<f32>>,
    sq_euclidean: Vec<Vec<f32>>,
    cosine: Vec<Vec<f32>>,
}

#[test]
fn distances_match_reference() {
    let c: DistanceCase = fixture("distances.json");
    let (a, b) = (matrix(&c.a), matrix(&c.b));
    for (metric, expected) in [(Metric::SquaredEuclidean, &c.sq_euclidean), (Metric::Cosine, &c.cosine)] {
        let d = distance_matrix(&a, &b, metric).unwrap();
        // Squared euclidean values here reach ~100, so allow float32 rounding relative to magnitude.
        let diff = max_abs_diff(&d, &matrix(expected));
        assert!(diff < 1e-4, "{metric}: max diff {diff}");
    }
}

#[derive(Deserialize)]
struct RerankCase {
    query: Vec<Vec<f32>>,
    gallery: Vec<Vec<f32>>,
    k1: usize,
    k2: usize,
    lambda: f64,
    expected: Vec<Vec<f32>>,
}

fn check_rerank(name: &str) {
    let c: RerankCase = fixture(name);
    let params = RerankParams { k1: c.k1, k2: c.k2, lambda: c.lambda };
    let got = rerank(&matrix(&c.query), &matrix(&c.gallery), &params).unwrap();
    let diff = max_abs_diff(&got, &matrix(&c.expected));
    assert!(diff < 1e-5, "{name}: re-ranked distances differ from the dense reference by {diff}");
}

#[test]
fn rerank_matches_dense_reference_random() {
    check_rerank("rerank_random.json");
}

#[test]
fn rerank_matches_dense_reference_clustered() {
    check_rerank("rerank_clustered.json");
}

#[test]
fn rerank_matches_dense_reference_small_k_without_query_expansion() {
    check_rerank("rerank_small_k.json");
}

#[test]
fn rerank_matches_dense_reference_odd_k_lambda_zero() {
    check_rerank("rerank_odd_k.json");
}

#[test]
fn rerank_matches_dense_reference_when_k1_exceeds_the_set() {
    check_rerank("rerank_tiny.json");
}

#[test]
fn rerank_matches_dense_reference_with_exact_ties_and_duplicates() {
    check_rerank("rerank_ties.json");
}
