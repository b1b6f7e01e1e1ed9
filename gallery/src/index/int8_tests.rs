//! int8 storage against f32: recall of the code scan plus re-scoring, exact scores, kernel families, filters and
//! removal.

use super::{Filter, Index, MemoryVectors, Precision, VectorSource};
use crate::kernels::{self, Simd};
use crate::random::random_unit_rows;
use crate::record::{Metadata, TimeRange};
use crate::topk::Hit;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An int8 index over `data` (ids `0..`) whose exact vectors come from an in-memory source.
fn int8_index(dim: usize, data: &[f32]) -> Index {
    let mut ix = Index::from_vectors(dim, Precision::Int8, data.to_vec(), 0);
    ix.set_vector_source(Arc::new(MemoryVectors::from_rows(dim, data, 0)));
    ix
}

fn exact(data: &[f32], dim: usize, id: u64, q: &[f32]) -> f64 {
    let row = &data[id as usize * dim..(id as usize + 1) * dim];
    row.iter().zip(q).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum()
}

/// Queries: `random` unrelated unit vectors, then `near` gallery rows with noise (the re-identification case).
fn queries(data: &[f32], dim: usize, random: usize, near: usize, seed: u64) -> Vec<f32> {
    let mut q = random_unit_rows(random, dim, seed);
    let noise = random_unit_rows(near, dim, seed + 1);
    for i in 0..near {
        let row = &data[(i * 997) * dim..(i * 997 + 1) * dim];
        let mut v: Vec<f32> = row.iter().zip(&noise[i * dim..(i + 1) * dim]).map(|(a, b)| a + 0.7 * b).collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
        q.extend(v);
    }
    q
}

#[test]
fn int8_top10_recall_is_at_least_0_99_with_exact_f32_scores() {
    let (n, dim, k) = (20_000, 256, 10);
    let data = random_unit_rows(n, dim, 31);
    let qs = queries(&data, dim, 40, 20, 32);
    let f32i = Index::from_vectors(dim, Precision::F32, data.clone(), 0);
    let int8 = int8_index(dim, &data);
    // Codes and a scale per row: a quarter of f32's bytes plus 4 (no f32 copy held).
    assert_eq!(int8.stats().vector_bytes, n * (dim + 4));
    let mut families = Vec::new();
    for simd in Simd::all_supported() {
        let (mut hit, mut total) = (0, 0);
        let mut singles = Vec::new();
        for q in qs.chunks_exact(dim) {
            let want = f32i.search_with(simd, q, k, &Filter::all()).remove(0);
            let got = int8.search_with(simd, q, k, &Filter::all()).remove(0);
            assert_eq!(got.len(), k);
            let ids: HashSet<u64> = want.iter().map(|h| h.id).collect();
            total += k;
            hit += got.iter().filter(|h| ids.contains(&h.id)).count();
            for h in &got {
                // Bit-for-bit the f32 index's score where both return the row, and exact to f32 rounding always.
                if let Some(w) = want.iter().find(|w| w.id == h.id) {
                    assert!((h.score - w.score).abs() <= 1e-6, "{simd:?}: {} vs f32 {}", h.score, w.score);
                }
                assert!((f64::from(h.score) - exact(&data, dim, h.id, q)).abs() < 1e-5);
            }
            assert!(got.windows(2).all(|w| w[0].score >= w[1].score), "ordered by score");
            singles.push(got);
        }
        let recall = hit as f64 / total as f64;
        eprintln!("{simd:?}: int8 recall@10 {recall:.4} over {} queries", qs.len() / dim);
        assert!(recall >= 0.99, "{simd:?}: int8 recall@10 {recall}");
        // A batch past the int8 threshold runs the batched kernels over decoded tiles, then re-scores exactly: the
        // f32 answer (ids; scores to f32 summation order).
        let batch = &qs[..(super::GEMM_MIN_BATCH_I8 + 4) * dim];
        let (got, want) =
            (int8.search_with(simd, batch, k, &Filter::all()), f32i.search_with(simd, batch, k, &Filter::all()));
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.iter().map(|h| h.id).collect::<Vec<_>>(), w.iter().map(|h| h.id).collect::<Vec<_>>());
            assert!(g.iter().zip(w).all(|(a, b)| (a.score - b.score).abs() <= 1e-6), "{simd:?}");
        }
        families.push(singles);
    }
    // Kernel families agree (ids exactly, scores to f32 summation order).
    for other in &families[1..] {
        for (a, b) in families[0].iter().zip(other) {
            assert_eq!(a.iter().map(|h| h.id).collect::<Vec<_>>(), b.iter().map(|h| h.id).collect::<Vec<_>>());
            assert!(a.iter().zip(b).all(|(x, y)| (x.score - y.score).abs() <= 1e-6));
        }
    }
}

/// The code scan's own scores and ranking, as the index would return them without re-scoring.
fn code_scores(data: &[f32], dim: usize, q: &[f32]) -> Vec<Hit> {
    let mut qc = vec![0i8; dim];
    let qs = kernels::quantize_i8(q, &mut qc);
    let mut rc = vec![0i8; dim];
    let mut hits: Vec<Hit> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(r, row)| {
            let rs = kernels::quantize_i8(row, &mut rc);
            Hit { id: r as u64, score: kernels::portable_dot_i8(&qc, &rc) as f32 * rs * qs }
        })
        .collect();
    hits.sort_by(crate::topk::rank_order);
    hits
}

#[test]
fn int8_rescoring_fixes_scores_and_order_that_codes_get_wrong() {
    let (n, dim) = (3000, 64);
    let data = random_unit_rows(n, dim, 41);
    let qs = random_unit_rows(60, dim, 42);
    let int8 = int8_index(dim, &data);
    let (mut reordered, mut off) = (0, 0);
    for q in qs.chunks_exact(dim) {
        let codes = code_scores(&data, dim, q);
        let got = int8.search(q, 1, &Filter::all()).remove(0);
        let mut best: Vec<(u64, f64)> = (0..n as u64).map(|id| (id, exact(&data, dim, id, q))).collect();
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        assert_eq!(got[0].id, best[0].0, "the exact best row");
        assert!((f64::from(got[0].score) - best[0].1).abs() < 1e-6, "{} vs exact {}", got[0].score, best[0].1);
        reordered += usize::from(codes[0].id != best[0].0);
        let code_score = codes.iter().find(|h| h.id == got[0].id).unwrap().score;
        off += usize::from((f64::from(code_score) - best[0].1).abs() > 1e-4);
    }
    // Without re-scoring these would fail: the codes alone rank some queries' best row wrong and score most off.
    assert!(reordered > 0, "no query where the codes' top-1 differs: the test data is too easy");
    assert!(off > 30, "only {off} of 60 code scores differ from exact by > 1e-4");
}

#[test]
fn int8_filters_and_removal_match_f32() {
    let (n, dim, k) = (5000, 64, 10);
    let data = random_unit_rows(n, dim, 51);
    let mut ixs = [Index::new(dim, Precision::F32), Index::new(dim, Precision::Int8)];
    ixs[1].set_vector_source(Arc::new(MemoryVectors::from_rows(dim, &data, 0)));
    for ix in ixs.iter_mut() {
        for (i, v) in data.chunks_exact(dim).enumerate() {
            let meta = Metadata {
                identity: i.is_multiple_of(3).then(|| format!("p{}", i % 11)),
                camera: Some(format!("c{}", i % 5)),
                timestamp_ms: i as i64,
                ..Metadata::default()
            };
            ix.insert(i as u64, &meta, v).unwrap();
        }
    }
    let filter = Filter {
        cameras: Some(vec!["c1".into(), "c3".into()]),
        time: TimeRange { from_ms: Some(1000), to_ms: Some(4000) },
        identified_only: true,
    };
    let keep = |id: u64| matches!(id % 5, 1 | 3) && (1000..=4000).contains(&id) && id.is_multiple_of(3);
    let qs = random_unit_rows(12, dim, 52);
    let check = |ixs: &[Index; 2], gone: &HashSet<u64>| {
        for q in qs.chunks_exact(dim) {
            let want = ixs[0].search(q, k, &filter).remove(0);
            let got = ixs[1].search(q, k, &filter).remove(0);
            assert_eq!(got.len(), k);
            assert!(got.iter().all(|h| keep(h.id) && !gone.contains(&h.id)), "filter or removal ignored");
            assert_eq!(got.iter().map(|h| h.id).collect::<Vec<_>>(), want.iter().map(|h| h.id).collect::<Vec<_>>());
            assert!(got.iter().zip(&want).all(|(a, b)| (a.score - b.score).abs() <= 1e-6));
        }
    };
    check(&ixs, &HashSet::new());
    // Forget every row that was among the answers, plus others: the survivors must answer instead.
    let mut gone: HashSet<u64> = HashSet::new();
    for q in qs.chunks_exact(dim) {
        gone.extend(ixs[1].search(q, k, &filter)[0].iter().map(|h| h.id));
    }
    gone.extend((0..n as u64).filter(|id| id.is_multiple_of(7)));
    let gone_list: Vec<u64> = gone.iter().copied().collect();
    for ix in ixs.iter_mut() {
        assert_eq!(ix.remove(&gone_list), gone.len());
        assert_eq!(ix.len(), n - gone.len());
    }
    check(&ixs, &gone);
    let moved = ixs[1].rows_f32();
    assert_eq!(moved.1.len(), (n - gone.len()) * dim);
    for (r, id) in moved.0.iter().enumerate() {
        assert_eq!(&moved.1[r * dim..(r + 1) * dim], &data[*id as usize * dim..(*id as usize + 1) * dim]);
        assert_eq!(ixs[1].vector(*id).unwrap(), moved.1[r * dim..(r + 1) * dim].to_vec());
    }
}

/// A source that counts the ids it is asked for and can lose ids (as the store does for a record being forgotten).
#[derive(Debug)]
struct Counting {
    inner: MemoryVectors,
    asked: AtomicUsize,
}

impl VectorSource for Counting {
    fn fetch(&self, ids: &[u64], out: &mut [f32], found: &mut [bool]) -> Result<(), String> {
        self.asked.fetch_add(ids.len(), Ordering::Relaxed);
        self.inner.fetch(ids, out, found)
    }
}

#[test]
fn int8_rescores_from_the_source_only_its_candidates_and_drops_what_it_lacks() {
    let (n, dim, k) = (4000, 64, 5);
    let data = random_unit_rows(n, dim, 61);
    let source = Arc::new(Counting { inner: MemoryVectors::from_rows(dim, &data, 0), asked: AtomicUsize::new(0) });
    let mut int8 = Index::from_vectors(dim, Precision::Int8, data.clone(), 0);
    int8.set_vector_source(source.clone());
    let f32i = Index::from_vectors(dim, Precision::F32, data.clone(), 0);
    let q = &data[17 * dim..18 * dim];
    let got = int8.search(q, k, &Filter::all()).remove(0);
    assert_eq!(got[0].id, 17);
    // One read of k x rescore candidates per query, not of the gallery.
    assert_eq!(source.asked.load(Ordering::Relaxed), k * int8.rescore_factor());
    // A batch reads the union of its queries' candidates once.
    let batch: Vec<f32> = (0..16).flat_map(|i| data[i * 31 * dim..(i * 31 + 1) * dim].to_vec()).collect();
    source.asked.store(0, Ordering::Relaxed);
    let hits = int8.search(&batch, k, &Filter::all());
    assert!(source.asked.load(Ordering::Relaxed) <= 16 * k * int8.rescore_factor());
    assert!(hits.iter().enumerate().all(|(i, h)| h[0].id == (i * 31) as u64 && (h[0].score - 1.0).abs() < 1e-5));
    // Scores are the source's: change a vector there and the returned score follows it (it is not held here).
    let mut moved = data[17 * dim..18 * dim].to_vec();
    moved.iter_mut().for_each(|x| *x *= 0.5);
    source.inner.insert(17, &moved);
    let got = int8.search(q, k, &Filter::all()).remove(0);
    let hit = got.iter().find(|h| h.id == 17).expect("still a candidate");
    assert!((hit.score - 0.5).abs() < 1e-5, "{}", hit.score);
    assert_eq!(int8.vector(17).unwrap(), moved);
    // An id the source lost (forgotten in the store, not yet out of the index) is never returned, and the rest
    // are the f32 index's answer without it.
    source.inner.remove(17);
    let got = int8.search(q, k, &Filter::all()).remove(0);
    assert!(got.iter().all(|h| h.id != 17));
    let want: Vec<u64> = f32i.search(q, k + 1, &Filter::all())[0].iter().map(|h| h.id).filter(|&id| id != 17).collect();
    assert_eq!(got.iter().map(|h| h.id).collect::<Vec<_>>(), want[..got.len()].to_vec());
    assert!(got.len() >= k - 1);
    assert_eq!(int8.vector(17), None);
    // Without a source the index answers from its codes (approximate scores, same best row).
    let bare = Index::from_vectors(dim, Precision::Int8, data.clone(), 0);
    let top = bare.search(q, 1, &Filter::all()).remove(0);
    assert_eq!(top[0].id, 17);
    assert!((top[0].score - 1.0).abs() < 2e-2 && (top[0].score - 1.0).abs() > 0.0, "{}", top[0].score);
}
