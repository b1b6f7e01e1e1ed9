//! Gallery behaviour against independent references: brute-force top-k, filters, forgetting, reopening, retention,
//! shard merging, re-ranking, and durability of acknowledged enrolments across a SIGKILL.

use reid_eval::Matrix;
use reid_eval::rerank::RerankParams;
use reid_gallery::kernels::Simd;
use reid_gallery::payload::QueryReply;
use reid_gallery::random::random_unit_rows;
use reid_gallery::record::Metadata;
use reid_gallery::rerank::RerankConfig;
use reid_gallery::{Filter, Forget, Gallery, GalleryConfig, Index, NewEmbedding, Precision, QueryOptions, TimeRange};
use std::collections::HashSet;

fn _assert_shareable() {
    fn is<T: Send + Sync>() {}
    is::<Gallery>();
    is::<Index>();
}

/// Exact top-k in f64 over `data` (ids = row + first_id), ordered by score then id.
fn brute(
    data: &[f32],
    dim: usize,
    q: &[f32],
    k: usize,
    keep: impl Fn(usize) -> bool,
    first_id: u64,
) -> Vec<(u64, f64)> {
    let mut all: Vec<(u64, f64)> = data
        .chunks_exact(dim)
        .enumerate()
        .filter(|(r, _)| keep(*r))
        .map(|(r, row)| (r as u64 + first_id, row.iter().zip(q).map(|(a, b)| *a as f64 * *b as f64).sum()))
        .collect();
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(k);
    all
}

#[test]
fn f32_top_k_equals_brute_force_on_scan_and_gemm_paths() {
    let (n, dim, k) = (20_011, 64, 10);
    let data = random_unit_rows(n, dim, 11);
    let queries = random_unit_rows(24, dim, 12);
    let index = Index::from_vectors(dim, Precision::F32, data.clone(), 1);
    // Batch 1 runs the scan, batch 24 the blocked kernel (AVX2) or the GEMM (portable); both kernel families.
    let mut runs = Vec::new();
    for simd in Simd::all_supported() {
        runs.push(queries.chunks_exact(dim).flat_map(|q| index.search_with(simd, q, k, &Filter::all())).collect());
        runs.push(index.search_with(simd, &queries, k, &Filter::all()));
    }
    for (i, q) in queries.chunks_exact(dim).enumerate() {
        let want = brute(&data, dim, q, k, |_| true, 1);
        for got in runs.iter().map(|r: &Vec<Vec<reid_gallery::topk::Hit>>| &r[i]) {
            let ids: Vec<u64> = got.iter().map(|h| h.id).collect();
            assert_eq!(ids, want.iter().map(|w| w.0).collect::<Vec<_>>(), "query {i}");
            for (h, w) in got.iter().zip(&want) {
                assert!((h.score as f64 - w.1).abs() < 1e-5, "query {i}: {} vs {}", h.score, w.1);
            }
        }
    }
}

#[test]
fn f16_recall_at_10_is_at_least_0_99() {
    let (n, dim, k) = (20_000, 128, 10);
    let data = random_unit_rows(n, dim, 21);
    let queries = random_unit_rows(40, dim, 22);
    let index = Index::from_vectors(dim, Precision::F16, data.clone(), 0);
    assert_eq!(index.stats().vector_bytes, n * dim * 2);
    let batched = index.search(&queries, k, &Filter::all());
    let (mut hit, mut total) = (0, 0);
    for (i, q) in queries.chunks_exact(dim).enumerate() {
        let want: HashSet<u64> = brute(&data, dim, q, k, |_| true, 0).iter().map(|w| w.0).collect();
        for got in [index.search(q, k, &Filter::all()).remove(0), batched[i].clone()] {
            total += k;
            hit += got.iter().filter(|h| want.contains(&h.id)).count();
            // f16 scores stay within 2e-3 of the exact ones.
            let exact = brute(&data, dim, q, 1, |r| r as u64 == got[0].id, 0)[0].1;
            assert!((got[0].score as f64 - exact).abs() < 2e-3);
        }
    }
    let recall = hit as f64 / total as f64;
    assert!(recall >= 0.99, "f16 recall@10 {recall}");
}

fn item(v: &[f32], who: Option<&str>, cam: &str, ts: i64) -> NewEmbedding {
    NewEmbedding {
        vector: v.to_vec(),
        meta: Metadata {
            identity: who.map(str::to_string),
            camera: Some(cam.to_string()),
            timestamp_ms: ts,
            track_id: Some(ts as u64),
            source: Some("test".into()),
        },
    }
}

/// A gallery of `n` random unit vectors: identity `p{i % 7}` on even rows, camera `c{i % 3}`, timestamp `1000 + i`.
fn populated(path: &std::path::Path, n: usize, dim: usize, precision: Precision) -> (Gallery, Vec<f32>) {
    let g = Gallery::open(path, GalleryConfig { dim: Some(dim), precision, threads: 2, ..GalleryConfig::default() })
        .unwrap();
    let data = random_unit_rows(n, dim, 5);
    let items: Vec<_> = data
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| {
            let who = format!("p{}", i % 7);
            item(v, (i % 2 == 0).then_some(who.as_str()), &format!("c{}", i % 3), 1000 + i as i64)
        })
        .collect();
    let ids = g.enroll(items).unwrap();
    assert_eq!(ids, (1..=n as u64).collect::<Vec<_>>());
    (g, data)
}

fn opts(k: usize, filter: Filter) -> QueryOptions {
    QueryOptions { k, filter, ..QueryOptions::default() }
}

#[test]
fn filters_match_a_filtered_brute_force() {
    for precision in [Precision::F32, Precision::Int8] {
        filters_match_in(precision);
    }
}

fn filters_match_in(precision: Precision) {
    let dir = tempfile::tempdir().unwrap();
    let (n, dim) = (3000, 32);
    let (g, data) = populated(&dir.path().join("g.redb"), n, dim, precision);
    if precision == Precision::Int8 {
        // Codes and one scale per row in memory; the exact vectors stay in the store.
        assert_eq!(g.stats().unwrap().index.vector_bytes, n * (dim + 4));
    }
    // Three single queries, then nine in one request (int8's batched path: decoded tiles, re-scored from the store).
    for nq in [3, 9] {
        filtered_queries_match(&g, &data, dim, nq, precision);
    }
}

fn filtered_queries_match(g: &Gallery, data: &[f32], dim: usize, nq: usize, precision: Precision) {
    let q = random_unit_rows(nq, dim, 99);
    let filter = Filter {
        cameras: Some(vec!["c1".into(), "c2".into()]),
        time: TimeRange { from_ms: Some(1500), to_ms: Some(2600) },
        identified_only: true,
    };
    let keep = |r: usize| !r.is_multiple_of(3) && (500..=1600).contains(&r) && r.is_multiple_of(2);
    let results = g.search(&q, &opts(15, filter)).unwrap();
    for (qi, res) in results.iter().enumerate() {
        let want = brute(data, dim, &q[qi * dim..(qi + 1) * dim], 15, keep, 1);
        let got: Vec<u64> = res.matches.iter().map(|m| m.id).collect();
        assert_eq!(got, want.iter().map(|w| w.0).collect::<Vec<_>>(), "{precision}");
        for (m, w) in res.matches.iter().zip(&want) {
            assert!((f64::from(m.score) - w.1).abs() < 1e-5, "{precision}: score {} vs exact {}", m.score, w.1);
            let r = (m.id - 1) as usize;
            assert_eq!(m.camera.as_deref(), Some(format!("c{}", r % 3).as_str()));
            assert_eq!(m.identity.as_deref(), Some(format!("p{}", r % 7).as_str()));
            assert_eq!((m.timestamp_ms, m.track_id), (1000 + r as i64, Some(1000 + r as u64)));
        }
        // Open-set: the best identity is the first match's (all are labelled here); score over threshold 0.
        assert_eq!(res.best_identity, res.matches[0].identity);
        assert!(!res.unknown || res.best_score.unwrap() < 0.5);
    }
}

#[test]
fn forget_removes_from_store_and_index_and_survives_reopen() {
    for precision in [Precision::F32, Precision::Int8] {
        forget_removes_in(precision);
    }
}

fn forget_removes_in(precision: Precision) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.redb");
    let (n, dim) = (700, 16);
    let (g, data) = populated(&path, n, dim, precision);
    // p3 labels rows 3 mod 7 that are even: rows 10, 24, ... (i % 14 == 10).
    let p3: Vec<u64> = (0..n).filter(|i| i % 14 == 10).map(|i| i as u64 + 1).collect();
    let removed = g.forget(&Forget::Identity("p3".into())).unwrap();
    assert_eq!(removed, p3.len() as u64);
    let err = g.forget(&Forget::Identity("p3".into())).unwrap_err();
    assert_eq!(err.to_string(), "identity: no embeddings are enrolled or identified under that identity");
    assert_eq!(err.field(), Some("identity"));
    // A query equal to a forgotten row no longer finds it, before and after reopening.
    let row = (p3[0] - 1) as usize;
    let q = data[row * dim..(row + 1) * dim].to_vec();
    let check = |g: &Gallery| {
        assert_eq!(g.len(), n - p3.len());
        let res = g.search(&q, &opts(n, Filter::all())).unwrap().remove(0);
        assert!(res.matches.iter().all(|m| !p3.contains(&m.id) && m.identity.as_deref() != Some("p3")));
        assert_eq!(res.matches.len(), n - p3.len());
        assert!(g.vector(p3[0]).is_none());
    };
    check(&g);
    // Time range of camera c1 only.
    let in_range: Vec<u64> = (0..n)
        .filter(|&i| (1100..=1199).contains(&(1000 + i)) && i % 3 == 1 && i % 14 != 10)
        .map(|i| i as u64 + 1)
        .collect();
    let tr =
        Forget::TimeRange { range: TimeRange { from_ms: Some(1100), to_ms: Some(1199) }, camera: Some("c1".into()) };
    assert_eq!(g.forget(&tr).unwrap(), in_range.len() as u64);
    assert!(in_range.iter().all(|&id| g.vector(id).is_none()));
    let everything = Forget::TimeRange { range: TimeRange::ALL, camera: None };
    assert_eq!(g.forget(&everything).unwrap_err().field(), Some("all"));
    drop(g);
    let g = Gallery::open(&path, GalleryConfig { precision, ..GalleryConfig::default() }).unwrap();
    assert_eq!(g.dim(), dim);
    assert_eq!(g.len(), n - p3.len() - in_range.len());
    let res = g.search(&q, &opts(n, Filter::all())).unwrap().remove(0);
    assert!(res.matches.iter().all(|m| !p3.contains(&m.id) && !in_range.contains(&m.id)));
    let stats = g.stats().unwrap();
    assert_eq!(stats.store.embeddings as usize, g.len());
    assert_eq!(stats.store.next_id, n as u64 + 1);
    // Ids are never reused.
    assert_eq!(g.enroll(vec![item(&q, None, "c9", 5)]).unwrap(), vec![n as u64 + 1]);
}

#[test]
fn reopen_rebuilds_the_same_answers_in_every_precision() {
    for precision in [Precision::F32, Precision::F16, Precision::Int8] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.redb");
        let (g, _) = populated(&path, 2000, 48, precision);
        let q = random_unit_rows(9, 48, 3);
        let before = g.search(&q, &opts(20, Filter::all())).unwrap();
        drop(g);
        let g = Gallery::open(&path, GalleryConfig { precision, ..GalleryConfig::default() }).unwrap();
        assert_eq!(g.search(&q, &opts(20, Filter::all())).unwrap(), before);
        assert_eq!(g.stats().unwrap().index.precision, precision);
    }
}

#[test]
fn retention_expires_old_embeddings_now_and_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.redb");
    let (g, _) = populated(&path, 100, 8, Precision::F32);
    assert_eq!(g.expire_before(1030).unwrap(), 30);
    assert_eq!(g.len(), 70);
    assert!(g.vector(30).is_none() && g.vector(31).is_some());
    assert_eq!(g.expire_now().unwrap(), 0); // no TTL configured
    let now = reid_gallery::record::now_ms();
    g.enroll(vec![item(&[1.0; 8], Some("fresh"), "c0", now)]).unwrap();
    drop(g);
    // A one-hour TTL at open drops every 1970 timestamp and keeps the fresh one.
    let g = Gallery::open(&path, GalleryConfig { ttl_ms: Some(3_600_000), ..GalleryConfig::default() }).unwrap();
    assert_eq!(g.len(), 1);
    assert_eq!(g.stats().unwrap().store.embeddings, 1);
    assert_eq!(g.expire_now().unwrap(), 0);
}

#[test]
fn two_shards_merged_equal_one_gallery() {
    let dir = tempfile::tempdir().unwrap();
    let (n, dim, k) = (1500, 24, 12);
    let data = random_unit_rows(n, dim, 8);
    let cfg = GalleryConfig { dim: Some(dim), threads: 1, ..GalleryConfig::default() };
    let one = Gallery::open(dir.path().join("one.redb"), cfg.clone()).unwrap();
    let shards = [
        Gallery::open(dir.path().join("a.redb"), cfg.clone()).unwrap(),
        Gallery::open(dir.path().join("b.redb"), cfg).unwrap(),
    ];
    for (i, v) in data.chunks_exact(dim).enumerate() {
        // Unique identities, so the merged and single answers can be compared item by item.
        let it = item(v, Some(&format!("person{i}")), "c0", i as i64);
        one.enroll(vec![it.clone()]).unwrap();
        shards[(i * 7919) % 2].enroll(vec![it]).unwrap();
    }
    let q = random_unit_rows(5, dim, 9);
    let single = one.search(&q, &opts(k, Filter::all())).unwrap();
    let parts: Vec<_> = shards.iter().map(|s| s.search(&q, &opts(k, Filter::all())).unwrap()).collect();
    for qi in 0..5 {
        let merged = reid_gallery::merge_topk(&[parts[0][qi].clone(), parts[1][qi].clone()], k, None);
        let who = |r: &reid_gallery::QueryResult| -> Vec<(Option<String>, f32)> {
            r.matches.iter().map(|m| (m.identity.clone(), m.score)).collect()
        };
        assert_eq!(who(&merged), who(&single[qi]));
        assert_eq!(
            (&merged.best_identity, merged.best_score, merged.unknown),
            (&single[qi].best_identity, single[qi].best_score, single[qi].unknown)
        );
    }
}

#[test]
fn rerank_over_a_covering_neighbourhood_equals_full_rerank() {
    let dir = tempfile::tempdir().unwrap();
    // int8: the neighbourhood's vectors come from the store (the index holds codes only).
    rerank_covering(&dir.path().join("int8.redb"), Precision::Int8);
    let (g, rerank, q, dim, n) = rerank_covering(&dir.path().join("g.redb"), Precision::F32);
    // A small neighbourhood (candidates < n) still returns k re-ordered candidates, closest first.
    let small = Gallery::open(
        dir.path().join("small.redb"),
        GalleryConfig { dim: Some(dim), rerank: RerankConfig { candidates: 40, ..rerank }, ..GalleryConfig::default() },
    )
    .unwrap();
    small.enroll((1..=n as u64).map(|id| item(&g.vector(id).unwrap(), None, "c0", 0)).collect()).unwrap();
    let r = small.search(&q, &QueryOptions { k: 10, rerank: true, ..QueryOptions::default() }).unwrap().remove(0);
    assert_eq!(r.matches.len(), 10);
    assert!(r.matches.windows(2).all(|w| w[0].rerank_distance <= w[1].rerank_distance));
    assert!(r.unknown && r.best_identity.is_none()); // nothing labelled in this gallery
}

/// The covering-neighbourhood check at `precision`; returns the gallery and what the rest of the test reuses.
fn rerank_covering(path: &std::path::Path, precision: Precision) -> (Gallery, RerankConfig, Vec<f32>, usize, usize) {
    let (n, dim, k) = (120, 16, 30);
    let params = RerankParams { k1: 8, k2: 3, lambda: 0.3 };
    let rerank = RerankConfig { candidates: 1000, expand: true, params };
    let cfg = GalleryConfig { dim: Some(dim), rerank, threads: 2, precision, ..GalleryConfig::default() };
    let g = Gallery::open(path, cfg).unwrap();
    // Clustered data so re-ranking changes the order.
    let centres = random_unit_rows(6, dim, 1);
    let noise = random_unit_rows(n, dim, 2);
    let items: Vec<_> = (0..n)
        .map(|i| {
            let c = &centres[(i % 6) * dim..(i % 6 + 1) * dim];
            let v: Vec<f32> = c.iter().zip(&noise[i * dim..(i + 1) * dim]).map(|(a, b)| a + 0.6 * b).collect();
            item(&v, Some(&format!("p{}", i % 6)), "c0", i as i64)
        })
        .collect();
    g.enroll(items).unwrap();
    let q: Vec<f32> = centres[..dim].iter().zip(&noise[..dim]).map(|(a, b)| a - 0.5 * b).collect();
    let res = g.search(&q, &QueryOptions { k, rerank: true, ..QueryOptions::default() }).unwrap().remove(0);
    // Reference: the runtime's full re-ranking of the (normalised) query against the whole gallery.
    let all: Vec<f32> = (1..=n as u64).flat_map(|id| g.vector(id).unwrap()).collect();
    let norm = q.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let qn: Vec<f32> = q.iter().map(|&x| (x as f64 / norm) as f32).collect();
    let d = reid_eval::rerank::rerank(
        &Matrix::from_vec(1, dim, qn).unwrap(),
        &Matrix::from_vec(n, dim, all).unwrap(),
        &params,
    )
    .unwrap()
    .into_vec();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| d[a].total_cmp(&d[b]).then(a.cmp(&b)));
    let want: Vec<u64> = order[..k].iter().map(|&i| i as u64 + 1).collect();
    let got: Vec<u64> = res.matches.iter().map(|m| m.id).collect();
    assert_eq!(got, want, "{precision}");
    for m in &res.matches {
        assert!((m.rerank_distance.unwrap() - d[(m.id - 1) as usize]).abs() < 1e-6);
    }
    // Re-ranking changed the order relative to plain cosine on this data (otherwise the test proves little).
    let plain = g.search(&q, &opts(k, Filter::all())).unwrap().remove(0);
    assert_ne!(plain.matches.iter().map(|m| m.id).collect::<Vec<_>>(), got);

    (g, rerank, q, dim, n)
}

#[test]
fn wire_handlers_reply_with_errors_that_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let g =
        Gallery::open(dir.path().join("g.redb"), GalleryConfig { dim: Some(4), ..GalleryConfig::default() }).unwrap();
    let ok = g.handle_enroll(
        br#"{"items": [{"embedding": [1, 0, 0, 0], "identity": "amy", "camera": "c1"},
        {"embedding_b64": "AACAPwAAAAAAAAAAAAAAAA==", "identity": "bob"}]}"#,
    );
    assert!(ok.ok, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(String::from_utf8(ok.body).unwrap(), r#"{"ids":[1,2]}"#);
    let q = g.handle_query(br#"{"embedding": [0.9, 0.1, 0, 0], "threshold": 0.995}"#, "k=1");
    assert!(q.ok);
    let reply: QueryReply = serde_json::from_slice(&q.body).unwrap();
    let r = &reply.results[0];
    assert_eq!(r.matches.len(), 1);
    assert_eq!(r.best_identity.as_deref(), Some("amy")); // tie with bob (same vector): smaller id wins
    // cos = 0.9 / sqrt(0.82) = 0.9939 < 0.995: the nearest identity is reported but flagged unknown.
    assert!(r.unknown && (r.best_score.unwrap() - 0.99388).abs() < 1e-4, "{r:?}");
    for (body, params, field) in [
        (&b"{not json"[..], "", "body"),
        (br#"{"embedding": [1, 0, 0]}"#, "", "embedding"),
        (br#"{"embedding": [1, 0, 0, 0], "k": 1000000000}"#, "", "k"),
        (br#"{"embedding": [1, 0, 0, 0]}"#, "k=0", "k"),
        (br#"{"embedding": [1, 0, 0, 0], "treshold": 0.5}"#, "", "treshold"),
    ] {
        let r = g.handle_query(body, params);
        assert!(!r.ok);
        let e: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(e["field"], field, "{e}");
        assert!(e["error"].as_str().unwrap().starts_with(&format!("{field}: ")), "{e}");
    }
    let f = g.handle_forget(br#"{"identity": "nobody"}"#);
    assert!(!f.ok);
    let body = String::from_utf8(f.body).unwrap();
    assert!(body.contains("no embeddings are enrolled") && !body.contains("nobody"), "{body}");
    let f = g.handle_forget(br#"{"identity": "amy"}"#);
    assert_eq!((f.ok, f.body), (true, br#"{"removed":1}"#.to_vec()));
    let s = g.handle_stats();
    let stats: serde_json::Value = serde_json::from_slice(&s.body).unwrap();
    assert_eq!(stats["store"]["embeddings"], 1);
    // Raw f32 bytes with a metadata attachment.
    let raw: Vec<u8> = [0.0f32, 1.0, 0.0, 0.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let r = g.handle_enroll_raw(&raw, Some(br#"{"identity": "cy", "camera": "c2"}"#));
    assert!(r.ok);
    let r = g.handle_query_raw(&raw, "k=1;cameras=c2");
    let reply: QueryReply = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(reply.results[0].matches[0].identity.as_deref(), Some("cy"));
}

#[test]
fn store_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.redb");
    std::fs::write(&junk, vec![0x5a; 8192]).unwrap();
    let e = Gallery::open(&junk, GalleryConfig { dim: Some(4), ..GalleryConfig::default() }).unwrap_err();
    assert!(e.to_string().contains("junk.redb"), "{e}");
    let fresh = dir.path().join("new.redb");
    let e = Gallery::open(&fresh, GalleryConfig::default()).unwrap_err();
    assert!(e.to_string().contains("new.redb") && e.to_string().contains("dimension"), "{e}");
    drop(Gallery::open(&fresh, GalleryConfig { dim: Some(4), ..GalleryConfig::default() }).unwrap());
    let e = Gallery::open(&fresh, GalleryConfig { dim: Some(8), ..GalleryConfig::default() }).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("gallery store {}: holds 4-d embeddings but 8-d were requested", fresh.display())
    );
    // A redb database that is not a gallery store.
    let foreign = dir.path().join("foreign.redb");
    {
        let db = redb::Database::create(&foreign).unwrap();
        let t = db.begin_write().unwrap();
        t.open_table(redb::TableDefinition::<u64, u64>::new("other")).unwrap().insert(1, 2).unwrap();
        t.commit().unwrap();
    }
    let e = Gallery::open(&foreign, GalleryConfig { dim: Some(4), ..GalleryConfig::default() }).unwrap_err();
    assert!(e.to_string().contains("foreign.redb") && e.to_string().contains("not a reid gallery store"), "{e}");
}

const CHILD_ENV: &str = "REID_GALLERY_CRASH_STORE";

/// Run by `acknowledged_enrolments_survive_sigkill` in a child process: enrols forever, printing each ack.
#[test]
#[ignore = "helper process for the SIGKILL test"]
fn crash_child_enroller() {
    let Ok(path) = std::env::var(CHILD_ENV) else { return };
    let g = Gallery::open(&path, GalleryConfig { dim: Some(8), ..GalleryConfig::default() }).unwrap();
    for i in 0u64.. {
        let v: Vec<f32> = (0..8).map(|d| ((i * 8 + d) % 13) as f32 + 1.0).collect();
        let ids = g.enroll(vec![item(&v, Some(&format!("p{i}")), "c0", i as i64)]).unwrap();
        println!("ACK {}", ids[0]);
    }
}

#[test]
fn acknowledged_enrolments_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let child = crate::child::spawn(module_path!(), "crash_child_enroller", CHILD_ENV, &path);
    let acked = crate::child::kill_after_acks(child, 40);
    assert_eq!(acked.len(), 40, "child stopped early");
    let g = Gallery::open(&path, GalleryConfig::default()).unwrap();
    for id in &acked {
        assert!(g.vector(*id).is_some(), "acknowledged id {id} lost");
    }
    assert!(g.len() >= acked.len());
}
