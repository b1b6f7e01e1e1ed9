//! The gallery over Zenoh, in-process on loopback: enrol / query / forget / stats round trips, error replies,
//! two shards answering like one server, and streamed frame embeddings identified and published.
#![cfg(feature = "net")]

use reid_gallery::net::ingest::{Detection, FrameEmbeddings, IdentifiedFrame};
use reid_gallery::net::{GalleryClient, KeySpace, NetConfig, NetError, Server, ServerOptions};
use reid_gallery::{Gallery, GalleryConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use zenoh::Wait;

/// The dimension of the vectors of these tests (and the console's).
pub(crate) const DIM: usize = 16;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn endpoint(port: u16) -> String {
    format!("tcp/127.0.0.1:{port}")
}

/// A deterministic unit-ish vector per (identity, variant).
pub(crate) fn vector(identity: usize, variant: usize) -> Vec<f32> {
    (0..DIM)
        .map(|d| {
            let base = if d % 8 == identity % 8 { 3.0 } else { 0.0 } + if d == 8 + identity % 8 { 2.0 } else { 0.0 };
            base + 0.05 * (((identity * 31 + variant * 7 + d * 13) % 17) as f32 - 8.0) / 8.0
        })
        .collect()
}

fn server(dir: &std::path::Path, name: &str, keys: &KeySpace, listen: u16, connect: &[u16]) -> (Server, Arc<Gallery>) {
    let config = GalleryConfig { dim: Some(DIM), threshold: 0.8, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(dir.join(format!("{name}.redb")), config).unwrap());
    let net = NetConfig {
        listen: vec![endpoint(listen)],
        connect: connect.iter().map(|p| endpoint(*p)).collect(),
        ..NetConfig::default()
    };
    let server = Server::start(gallery.clone(), keys, &net, ServerOptions::default()).unwrap();
    (server, gallery)
}

fn client(keys: &KeySpace, ports: &[u16]) -> GalleryClient {
    let net = NetConfig { connect: ports.iter().map(|p| endpoint(*p)).collect(), ..NetConfig::default() };
    let client = GalleryClient::connect(keys.clone(), &net, Duration::from_secs(5)).unwrap();
    // Wait until every server's queryable is reachable.
    for _ in 0..100 {
        if client.stats().map(|s| s.len()).unwrap_or(0) == ports.len() {
            return client;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the servers on {ports:?} did not answer");
}

fn enroll_body(items: &[(usize, usize, &str)]) -> Vec<u8> {
    let items: Vec<_> = items
        .iter()
        .map(|(id, variant, camera)| json!({"embedding": vector(*id, *variant), "identity": format!("p{id}"), "camera": camera}))
        .collect();
    serde_json::to_vec(&json!({ "items": items })).unwrap()
}

#[test]
fn enrol_query_forget_and_errors_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySpace::new("test/rt", "main").unwrap();
    let port = free_port();
    let (_server, gallery) = server(dir.path(), "a", &keys, port, &[]);
    let client = client(&keys, &[port]);

    let reply = client.enroll(&enroll_body(&[(1, 0, "c1"), (1, 1, "c2"), (2, 0, "c1"), (3, 0, "c2")])).unwrap();
    assert_eq!(reply.ids.len(), 4);
    assert_eq!(gallery.len(), 4);

    let body = serde_json::to_vec(&json!({ "embedding": vector(2, 5) })).unwrap();
    let (answer, shards) = client.query(&body, "k=3", 3).unwrap();
    assert_eq!(shards, 1);
    let r = &answer.results[0];
    assert_eq!(r.best_identity.as_deref(), Some("p2"));
    assert!(!r.unknown);
    assert_eq!(r.matches.len(), 3);
    // A camera filter given as a selector parameter.
    let (answer, _) = client.query(&body, "k=3;cameras=c2", 3).unwrap();
    assert!(answer.results[0].matches.iter().all(|m| m.camera.as_deref() == Some("c2")));

    // Error replies name the problem; the server keeps serving.
    let bad = |body: &[u8], params: &str| match client.query(body, params, 10) {
        Err(NetError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    };
    assert!(bad(b"{not json", "").contains("body"));
    let short = serde_json::to_vec(&json!({ "embedding": [1.0, 2.0] })).unwrap();
    assert!(bad(&short, "").contains("embedding"));
    assert!(bad(&body, "k=1000000000").contains('k'));
    assert!(bad(&body, "treshold=0.3").contains("treshold"));
    match client.forget(br#"{"identity": "nobody"}"#) {
        Err(NetError::Refused(message)) => {
            assert!(message.contains("no embeddings are enrolled") && !message.contains("nobody"), "{message}")
        }
        other => panic!("{other:?}"),
    }

    assert_eq!(client.forget(br#"{"identity": "p1"}"#).unwrap(), 2);
    assert_eq!(gallery.len(), 2);
    let (answer, _) =
        client.query(&serde_json::to_vec(&json!({ "embedding": vector(1, 0) })).unwrap(), "", 10).unwrap();
    assert!(answer.results[0].matches.iter().all(|m| m.identity.as_deref() != Some("p1")));
    let stats = client.stats().unwrap();
    assert_eq!(stats.len(), 1);
}

#[test]
fn two_shards_answer_like_one_server() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySpace::new("test/shards", "main").unwrap();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let (_a, shard_a) = server(dir.path(), "a", &keys, pa, &[]);
    let (_b, shard_b) = server(dir.path(), "b", &keys, pb, &[pa]);
    let single_keys = KeySpace::new("test/single", "main").unwrap();
    let (_c, _) = server(dir.path(), "c", &single_keys, pc, &[]);

    let items: Vec<(usize, usize, &str)> =
        (0..24).map(|i| (i % 8, i / 8, if i % 2 == 0 { "c1" } else { "c2" })).collect();
    let sharded = client(&keys, &[pa, pb]);
    let one = client(&single_keys, &[pc]);
    // Half the items on each shard (enrolled in-process: over Zenoh an enrolment goes to whichever shard answers
    // first), all of them on the single server (over Zenoh).
    let (first, second) = items.split_at(12);
    assert!(shard_a.handle_enroll(&enroll_body(first)).ok);
    assert!(shard_b.handle_enroll(&enroll_body(second)).ok);
    one.enroll(&enroll_body(&items)).unwrap();
    let total: u64 = sharded.stats().unwrap().iter().map(|s| s.store.embeddings).sum();
    assert_eq!(total, 24);

    for q in 0..8 {
        let body = serde_json::to_vec(&json!({ "embeddings": [vector(q, 9), vector((q + 3) % 8, 11)] })).unwrap();
        let (merged, shards) = sharded.query(&body, "k=5", 5).unwrap();
        assert_eq!(shards, 2);
        let (single, _) = one.query(&body, "k=5", 5).unwrap();
        for (m, s) in merged.results.iter().zip(&single.results) {
            let key = |r: &reid_gallery::QueryResult| -> Vec<(Option<String>, i64)> {
                r.matches.iter().map(|x| (x.identity.clone(), (x.score * 1e5).round() as i64)).collect()
            };
            assert_eq!(key(m), key(s), "query {q}");
            assert_eq!(m.best_identity, s.best_identity);
            assert_eq!(m.unknown, s.unknown);
        }
    }
    // Forgetting an identity held by both shards removes it everywhere.
    assert_eq!(sharded.forget(br#"{"identity": "p3"}"#).unwrap(), 3);
}

#[test]
fn streamed_frames_are_identified_and_published() {
    let dir = tempfile::tempdir().unwrap();
    let keys = KeySpace::new("test/stream", "main").unwrap();
    let port = free_port();
    let (server, gallery) = server(dir.path(), "a", &keys, port, &[]);
    let client = client(&keys, &[port]);
    client.enroll(&enroll_body(&[(1, 0, "a"), (2, 0, "a"), (3, 0, "a")])).unwrap();

    let session = client.session();
    let answers = session.declare_subscriber(keys.identified("cam-b")).wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let frame = FrameEmbeddings {
        camera: "cam-b".to_owned(),
        timestamp_ms: reid_gallery::record::now_ms(),
        frame: Some(42),
        model: Some("test".to_owned()),
        detections: vec![
            Detection { track_id: Some(7), bbox: Some([1.0, 2.0, 30.0, 60.0]), embedding: vector(2, 4) },
            Detection {
                track_id: Some(8),
                bbox: None,
                embedding: (0..DIM).map(|d| if d == 15 { -1.0 } else { 0.01 }).collect(),
            },
        ],
    };
    let publisher = session.declare_publisher(keys.embeddings("cam-b")).wait().unwrap();
    // Malformed messages first: counted and dropped, the stream goes on. An unknown field, a timestamp that
    // would never expire and one from 1970 are refused like a wrong type.
    publisher.put(b"{\"camera\": 3}".to_vec()).wait().unwrap();
    let mut odd = serde_json::to_value(&frame).unwrap();
    odd["fps"] = json!(30);
    publisher.put(serde_json::to_vec(&odd).unwrap()).wait().unwrap();
    for ts in [i64::MAX, 0] {
        let absurd = FrameEmbeddings { timestamp_ms: ts, ..frame.clone() };
        publisher.put(serde_json::to_vec(&absurd).unwrap()).wait().unwrap();
    }
    publisher.put(serde_json::to_vec(&frame).unwrap()).wait().unwrap();
    let sample = answers.recv_timeout(Duration::from_secs(5)).unwrap().expect("an answer for the frame");
    let answer: IdentifiedFrame = serde_json::from_slice(&sample.payload().to_bytes()).unwrap();
    assert_eq!(answer.frame, Some(42));
    assert_eq!(answer.detections.len(), 2);
    assert_eq!(answer.detections[0].identity.as_deref(), Some("p2"));
    assert_eq!(answer.detections[0].track_id, Some(7));
    assert!(answer.detections[1].unknown && answer.detections[1].identity.is_none());
    // The sightings are kept (unlabelled) and count in the store.
    assert_eq!(gallery.len(), 5);
    let c = server.counters();
    use std::sync::atomic::Ordering::Relaxed;
    assert_eq!((c.frames.load(Relaxed), c.identified.load(Relaxed), c.unknown.load(Relaxed)), (1, 1, 1));
    assert_eq!(c.rejected.load(Relaxed), 4);
}

#[test]
fn the_acl_example_lets_only_the_named_peer_enrol() {
    let dir = tempfile::tempdir().unwrap();
    let acl = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/zenoh/gallery-acl.json5");
    let admin_config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/zenoh/admin-client.json5");
    let keys = KeySpace::new("reid", "acl").unwrap();
    let port = free_port();
    let config = GalleryConfig { dim: Some(DIM), threshold: 0.8, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(dir.path().join("acl.redb"), config).unwrap());
    let net = NetConfig { listen: vec![endpoint(port)], config_file: Some(acl), ..NetConfig::default() };
    let _server = Server::start(gallery.clone(), &keys, &net, ServerOptions::default()).unwrap();
    let connect = |config_file: Option<std::path::PathBuf>| {
        let net = NetConfig { connect: vec![endpoint(port)], config_file, ..NetConfig::default() };
        GalleryClient::connect(keys.clone(), &net, Duration::from_secs(2)).unwrap()
    };
    let admin = connect(Some(admin_config));
    let other = connect(None);
    for c in [&admin, &other] {
        let mut up = false;
        for _ in 0..100 {
            if c.stats().is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(up, "stats must be open to every peer");
    }
    assert_eq!(admin.enroll(&enroll_body(&[(1, 0, "c1"), (2, 0, "c1")])).unwrap().ids.len(), 2);
    match other.enroll(&enroll_body(&[(3, 0, "c1")])) {
        Err(NetError::NoReply { .. }) => {}
        r => panic!("an unnamed peer must not enrol: {r:?}"),
    }
    assert!(matches!(other.forget(br#"{"identity": "p1"}"#), Err(NetError::NoReply { .. })));
    assert_eq!(gallery.len(), 2);
    let body = serde_json::to_vec(&json!({ "embedding": vector(2, 3) })).unwrap();
    let (answer, _) = other.query(&body, "", 3).unwrap();
    assert_eq!(answer.results[0].best_identity.as_deref(), Some("p2"));
    assert_eq!(admin.forget(br#"{"identity": "p1"}"#).unwrap(), 1);
}
