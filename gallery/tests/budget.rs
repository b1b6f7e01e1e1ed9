//! Fair under hostile queries: a request over the query budget is refused before any work, naming the limit and
//! its cost; error replies stay small whatever was sent.

use reid_gallery::budget::QueryBudget;
use reid_gallery::random::random_unit_rows;
use reid_gallery::{Gallery, GalleryConfig, Metadata, NewEmbedding};
use serde_json::json;

fn gallery(dir: &std::path::Path, n: usize, dim: usize) -> Gallery {
    let g = Gallery::open(dir.join("g.redb"), GalleryConfig { dim: Some(dim), ..GalleryConfig::default() }).unwrap();
    let items = random_unit_rows(n, dim, 3)
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| NewEmbedding {
            vector: v.to_vec(),
            meta: Metadata { identity: Some(format!("p{}", i / 4)), ..Metadata::default() },
        })
        .collect();
    g.enroll(items).unwrap();
    g
}

fn error_of(reply: reid_gallery::WireReply) -> serde_json::Value {
    assert!(!reply.ok);
    serde_json::from_slice(&reply.body).unwrap()
}

#[test]
fn over_budget_requests_are_refused_naming_the_limit_and_cost() {
    let dir = tempfile::tempdir().unwrap();
    let (n, dim) = (2000, 16);
    let g = gallery(dir.path(), n, dim);
    let vectors: Vec<Vec<f32>> = random_unit_rows(16, dim, 4).chunks_exact(dim).map(<[f32]>::to_vec).collect();
    // The issue's hostile request: 16 vectors, k = 1000, re-ranked. Neighbourhood min(2000, 1000 x 21) = 2000.
    let hostile = serde_json::to_vec(&json!({ "embeddings": vectors, "k": 1000, "rerank": true })).unwrap();
    let started = std::time::Instant::now();
    let e = error_of(g.handle_query(&hostile, ""));
    assert!(started.elapsed().as_millis() < 1000, "refused before any work");
    assert_eq!(e["field"], "rerank");
    let text = e["error"].as_str().unwrap();
    assert!(
        text.contains("max_rerank_pairs = 17640000") && text.contains(&(16u64 * 2000 * 2000).to_string()),
        "{text}"
    );
    // Within budget: one vector re-ranked at k = 50 (pairs 1050^2) is answered.
    let one = serde_json::to_vec(&json!({ "embedding": vectors[0], "k": 50, "rerank": true })).unwrap();
    let ok = g.handle_query(&one, "");
    assert!(ok.ok, "{}", String::from_utf8_lossy(&ok.body));
    // Matches: 100 vectors x k = 1000 is over max_matches.
    let many: Vec<Vec<f32>> = random_unit_rows(100, dim, 5).chunks_exact(dim).map(<[f32]>::to_vec).collect();
    let wide = serde_json::to_vec(&json!({ "embeddings": many, "k": 1000 })).unwrap();
    let e = error_of(g.handle_query(&wide, ""));
    assert_eq!(e["field"], "k");
    assert!(e["error"].as_str().unwrap().contains("max_matches = 65536"), "{e}");
    // 100 plain vectors at k = 10 are heavy (more than 16) but within budget: answered, 100 results.
    let heavy = serde_json::to_vec(&json!({ "embeddings": many, "k": 10 })).unwrap();
    let r = g.handle_query(&heavy, "");
    let reply: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(r.ok && reply["results"].as_array().unwrap().len() == 100);
    // A gallery configured with a larger budget accepts the hostile shape (the limit is the operator's).
    let cost = g.cost(16, &reid_gallery::QueryOptions { k: 1000, rerank: true, ..Default::default() });
    assert!(cost.is_err());
    let lenient = QueryBudget { max_rerank_pairs: u64::MAX, ..QueryBudget::default() };
    let c = lenient.cost(
        16,
        &reid_gallery::QueryOptions { k: 1000, rerank: true, ..Default::default() },
        n,
        &g.config().rerank,
    );
    assert!(lenient.check(&c).is_ok() && c.heavy);
}

#[test]
fn error_replies_to_huge_values_are_small() {
    let dir = tempfile::tempdir().unwrap();
    let g = gallery(dir.path(), 10, 4);
    let camera = "c".repeat(50 << 20);
    let body = serde_json::to_vec(&json!({ "embedding": [1, 0, 0, 0], "cameras": [camera] })).unwrap();
    let reply = g.handle_query(&body, "");
    assert!(!reply.ok && reply.body.len() < 1024, "a {} byte reply", reply.body.len());
    let body = serde_json::to_vec(&json!({ "items": [{ "embedding": [1, 0, 0, 0], "camera": camera }] })).unwrap();
    let reply = g.handle_enroll(&body);
    assert!(!reply.ok && reply.body.len() < 1024, "a {} byte reply", reply.body.len());
    let reply = g.handle_query(br#"{"embedding": [1, 0, 0, 0]}"#, &format!("cameras=x&{camera}=1"));
    assert!(!reply.ok && reply.body.len() < 2048, "a {} byte reply", reply.body.len());
    let body = serde_json::to_vec(&json!({ "identity": camera })).unwrap();
    let reply = g.handle_forget(&body);
    assert!(!reply.ok && reply.body.len() < 1024, "a {} byte reply", reply.body.len());
}
