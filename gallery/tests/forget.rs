//! Forget means forgotten: a person's labelled records and the streamed sightings identified as them leave the
//! index, the store and the store file's bytes, and no log line names them.
#![cfg(feature = "net")]

use reid_gallery::net::ingest::{Detection, FrameEmbeddings, IdentifiedFrame};
use reid_gallery::net::{GalleryClient, KeySpace, NetConfig, Server, ServerOptions};
use reid_gallery::record::now_ms;
use reid_gallery::{Gallery, GalleryConfig, Metadata, NewEmbedding};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zenoh::Wait;

const DIM: usize = 16;
const FORGOTTEN: &str = "alice-to-be-forgotten";
const KEPT: &str = "bob-who-stays";

/// A vector near identity `who`'s direction (variant `v` perturbs it).
fn vector(who: usize, v: usize) -> Vec<f32> {
    (0..DIM)
        .map(|d| if d == who { 3.0 } else { 0.0 } + 0.05 * (((who * 31 + v * 7 + d * 13) % 17) as f32 - 8.0) / 8.0)
        .collect()
}

fn le_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn forget_removes_streamed_sightings_and_their_bytes_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.redb");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let keys = KeySpace::new("test/forget", "main").unwrap();
    let config = GalleryConfig { dim: Some(DIM), threshold: 0.8, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(&path, config.clone()).unwrap());
    let net = NetConfig { listen: vec![endpoint.clone()], ..NetConfig::default() };
    let server = Server::start(gallery.clone(), &keys, &net, ServerOptions::default()).unwrap();
    let client_net = NetConfig { connect: vec![endpoint], ..NetConfig::default() };
    let client = GalleryClient::connect(keys.clone(), &client_net, Duration::from_secs(5)).unwrap();
    for _ in 0..100 {
        if client.stats().is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // Ids 1, 2: alice; 3: bob.
    let items = json!({ "items": [
        { "embedding": vector(1, 0), "identity": FORGOTTEN, "camera": "door" },
        { "embedding": vector(1, 1), "identity": FORGOTTEN, "camera": "door" },
        { "embedding": vector(2, 0), "identity": KEPT, "camera": "door" },
    ]});
    assert_eq!(client.enroll(&serde_json::to_vec(&items).unwrap()).unwrap().ids, vec![1, 2, 3]);

    // Three frames: ids 4 (alice), 5 (bob), 6 (alice), 7 (alice), stored unlabelled.
    let session = client.session();
    let answers = session.declare_subscriber(keys.identified("hall")).wait().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let publisher = session.declare_publisher(keys.embeddings("hall")).wait().unwrap();
    let frames = [vec![vector(1, 2), vector(2, 5)], vec![vector(1, 3)], vec![vector(1, 4)]];
    let mut identified = Vec::new();
    for (i, detections) in frames.iter().enumerate() {
        let frame = FrameEmbeddings {
            camera: "hall".into(),
            timestamp_ms: now_ms(),
            frame: Some(i as u64),
            model: None,
            detections: detections
                .iter()
                .map(|e| Detection { track_id: Some(i as u64), bbox: None, embedding: e.clone() })
                .collect(),
        };
        publisher.put(serde_json::to_vec(&frame).unwrap()).wait().unwrap();
        let sample = answers.recv_timeout(Duration::from_secs(5)).unwrap().expect("an answer");
        let answer: IdentifiedFrame = serde_json::from_slice(&sample.payload().to_bytes()).unwrap();
        identified.extend(answer.detections.into_iter().map(|d| d.identity));
    }
    let who = |s: &str| Some(s.to_owned());
    assert_eq!(identified, vec![who(FORGOTTEN), who(KEPT), who(FORGOTTEN), who(FORGOTTEN)]);
    assert_eq!(gallery.len(), 7);
    // Later records around them (ids 8..=807), so that their pages are not simply the file's last ones.
    let filler = reid_gallery::random::random_unit_rows(800, DIM, 9)
        .chunks_exact(DIM)
        .map(|v| NewEmbedding { vector: v.to_vec(), meta: Metadata { timestamp_ms: now_ms(), ..Metadata::default() } })
        .collect();
    gallery.enroll(filler).unwrap();
    let (forgotten, kept) = ([1u64, 2, 4, 6, 7], [3u64, 5]);
    let stored = |id: u64| le_bytes(&gallery.vector(id).unwrap());
    let forgotten_bytes: Vec<Vec<u8>> = forgotten.iter().map(|&id| stored(id)).collect();
    let kept_bytes: Vec<Vec<u8>> = kept.iter().map(|&id| stored(id)).collect();
    // The search finds them before forgetting (so its not finding them afterwards means something).
    let file = std::fs::read(&path).unwrap();
    assert!(forgotten_bytes.iter().all(|b| contains(&file, b)));
    assert!(contains(&file, FORGOTTEN.as_bytes()));

    assert_eq!(client.forget(&serde_json::to_vec(&json!({ "identity": FORGOTTEN })).unwrap()).unwrap(), 5);
    let probe = serde_json::to_vec(&json!({ "embedding": vector(1, 2), "k": 10 })).unwrap();
    let (answer, _) = client.query(&probe, "", 10).unwrap();
    let ids: Vec<u64> = answer.results[0].matches.iter().map(|m| m.id).collect();
    assert!(ids.iter().all(|id| !forgotten.contains(id)), "{ids:?}");
    drop((answers, publisher, client));
    server.stop();
    drop(gallery); // clean shutdown: the store is closed

    let file = std::fs::read(&path).unwrap();
    assert!(!dir.path().join("g.redb.scrub").exists(), "the rewrite's scratch file is gone");
    for (id, b) in forgotten.iter().zip(&forgotten_bytes) {
        assert!(!contains(&file, b), "the vector of forgotten record {id} is still in the file");
    }
    assert!(!contains(&file, FORGOTTEN.as_bytes()), "the forgotten name is still in the file");
    assert!(kept_bytes.iter().all(|b| contains(&file, b)) && contains(&file, KEPT.as_bytes()));

    // Restarted, the gallery neither holds nor finds them.
    let g = Gallery::open(&path, config).unwrap();
    assert_eq!(g.len(), 802);
    let q = reid_gallery::QueryOptions { k: 10, ..Default::default() };
    let res = g.search(&vector(1, 2), &q).unwrap().remove(0);
    assert!(res.matches.iter().all(|m| !forgotten.contains(&m.id)) && res.best_identity.as_deref() != Some(FORGOTTEN));
    assert!(forgotten.iter().all(|&id| g.vector(id).is_none()));
    assert_eq!(g.forget(&reid_gallery::Forget::Identity(FORGOTTEN.into())).unwrap_err().field(), Some("identity"));
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn logs_never_carry_a_forgotten_name() {
    let dir = tempfile::tempdir().unwrap();
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("reid_gallery=trace"))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The process-wide subscriber (the only test that sets one): a thread-local one raced with other tests'
    // threads, which cached "no interest" for the gallery's debug callsites while this test ran.
    tracing::subscriber::set_global_default(subscriber).expect("no other test sets a global subscriber");
    {
        tracing::callsite::rebuild_interest_cache();
        let config = GalleryConfig { dim: Some(DIM), ..GalleryConfig::default() };
        let g = Gallery::open(dir.path().join("g.redb"), config).unwrap();
        let meta = |identity: Option<&str>| Metadata {
            identity: identity.map(str::to_owned),
            timestamp_ms: now_ms(),
            ..Metadata::default()
        };
        g.enroll(vec![NewEmbedding { vector: vector(1, 0), meta: meta(Some(FORGOTTEN)) }]).unwrap();
        let sighting = NewEmbedding { vector: vector(1, 1), meta: meta(None) };
        g.enroll_sightings(vec![sighting], &[Some(FORGOTTEN.to_owned())]).unwrap();
        let body = serde_json::to_vec(&json!({ "identity": FORGOTTEN })).unwrap();
        let first = g.handle_forget(&body);
        assert_eq!((first.ok, first.body), (true, br#"{"removed":2}"#.to_vec()));
        let again = g.handle_forget(&body); // unknown now: an error reply, logged at debug level
        assert!(!again.ok && !String::from_utf8_lossy(&again.body).contains(FORGOTTEN));
        let all = g.handle_forget(br#"{"from_ms": 0}"#); // covers all time: needs all: true
        assert!(!all.ok && String::from_utf8_lossy(&all.body).contains("all: true"));
    }
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("forgotten") && logs.contains("request refused"), "{logs}");
    assert!(!logs.contains(FORGOTTEN), "{logs}");
}
