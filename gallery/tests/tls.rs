//! The gallery over mutual TLS with access control by certificate common name, in-process on loopback, with a site
//! made in the test (`net::certs::make_site`): an admin enrols and forgets; a reader can look up but not enrol or
//! forget; a camera may stream embeddings, a reader may not; a client with another CA's certificate, a plaintext
//! client and a configuration mixing TLS with a plaintext endpoint are refused.
#![cfg(feature = "net")]

use reid_gallery::net::certs::{Ca, Role, SiteFiles, SitePlan, make_site};
use reid_gallery::net::ingest::{Detection, FrameEmbeddings};
use reid_gallery::net::{GalleryClient, KeySpace, NetConfig, NetError, Server, ServerOptions, TlsFiles, ZenohConfig};
use reid_gallery::{Gallery, GalleryConfig};
use reid_protocol::tls::now_s;
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zenoh::Wait;

const DIM: usize = 8;
const PREFIX: &str = "tls";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn site(dir: &Path) -> SiteFiles {
    let plan = SitePlan {
        site: "test-site".into(),
        server: "gallery".into(),
        hosts: vec![],
        clients: vec![("admin".into(), Role::Admin), ("cam1".into(), Role::Camera), ("dash".into(), Role::Reader)],
        days: 2,
        prefix: PREFIX.into(),
    };
    make_site(dir, &plan, now_s()).unwrap()
}

fn one_hot(i: usize) -> Vec<f32> {
    (0..DIM).map(|d| if d == i { 1.0 } else { 0.01 }).collect()
}

fn tls_client(keys: &KeySpace, port: u16, files: TlsFiles, timeout: Duration) -> GalleryClient {
    let net = NetConfig { connect: vec![format!("tls/127.0.0.1:{port}")], ..NetConfig::default() }.with_tls(files);
    GalleryClient::connect(keys.clone(), &net, timeout).unwrap()
}

/// Waits until `client` gets statistics (the TLS link is up); false after `limit`.
fn reaches(client: &GalleryClient, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if client.stats().map(|s| !s.is_empty()).unwrap_or(false) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn mutual_tls_with_rights_by_common_name() {
    let dir = tempfile::tempdir().unwrap();
    let site = site(&dir.path().join("site"));
    let keys = KeySpace::new(PREFIX, "main").unwrap();
    let port = free_port();
    let config = GalleryConfig { dim: Some(DIM), threshold: 0.8, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(dir.path().join("g.redb"), config).unwrap());
    // The server takes everything from the site's config file (TLS and the rules); only the endpoint is a flag.
    let net = NetConfig {
        listen: vec![format!("tls/127.0.0.1:{port}")],
        config_file: Some(site.gallery_config.clone()),
        ..NetConfig::default()
    };
    let _server = Server::start(gallery.clone(), &keys, &net, ServerOptions::default()).unwrap();

    let admin = tls_client(&keys, port, site.tls("admin"), Duration::from_secs(3));
    assert!(reaches(&admin, Duration::from_secs(20)), "the admin never reached the server over TLS");
    let items: Vec<_> =
        (0..3).map(|i| json!({"embedding": one_hot(i), "identity": format!("p{i}"), "camera": "c1"})).collect();
    let reply = admin.enroll(&serde_json::to_vec(&json!({ "items": items })).unwrap()).unwrap();
    assert_eq!(reply.ids.len(), 3);

    // A reader looks up, but its enrol and forget never reach the gallery.
    let dash = tls_client(&keys, port, site.tls("dash"), Duration::from_secs(1));
    assert!(reaches(&dash, Duration::from_secs(20)), "the reader could not look up");
    let (answer, _) = dash.query(&serde_json::to_vec(&json!({ "embedding": one_hot(1) })).unwrap(), "", 1).unwrap();
    assert_eq!(answer.results[0].best_identity.as_deref(), Some("p1"));
    let enrol = json!({ "embedding": one_hot(5), "identity": "intruder" });
    assert!(matches!(dash.enroll(&serde_json::to_vec(&enrol).unwrap()), Err(NetError::NoReply { .. })));
    assert!(matches!(dash.forget(br#"{"identity": "p1"}"#), Err(NetError::NoReply { .. })));
    assert_eq!(gallery.len(), 3, "the reader changed the gallery");

    // Streams: the camera's frames are ingested, the reader's are dropped by the rules.
    let frame = |camera: &str, i: usize| FrameEmbeddings {
        camera: camera.to_owned(),
        timestamp_ms: reid_gallery::record::now_ms(),
        frame: Some(i as u64),
        model: None,
        detections: vec![Detection { track_id: Some(1), bbox: None, embedding: one_hot(i) }],
    };
    let cam = tls_client(&keys, port, site.tls("cam1"), Duration::from_secs(1));
    assert!(reaches(&cam, Duration::from_secs(20)));
    for (client, camera) in [(&dash, "dash"), (&cam, "cam1")] {
        let body = serde_json::to_vec(&frame(camera, 4)).unwrap();
        client.session().put(keys.embeddings(camera), body).wait().unwrap();
    }
    let start = Instant::now();
    while gallery.len() < 4 && start.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(gallery.len(), 4, "exactly the camera's sighting is stored (the reader's is refused)");

    // The admin forgets.
    assert_eq!(admin.forget(br#"{"identity": "p2"}"#).unwrap(), 1);

    // A client whose certificate comes from another CA (same common name `admin`) never gets a TLS link.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let now = now_s();
    let rogue_ca = Ca::generate("test-site", now - 60, now + 86_400).unwrap();
    let rogue = rogue_ca.issue("admin", &["admin".into()], now - 60, now + 86_400).unwrap();
    std::fs::write(other.join("ca.pem"), rogue_ca.cert_pem()).unwrap();
    std::fs::write(other.join("admin.pem"), &rogue.cert_pem).unwrap();
    std::fs::write(other.join("admin.key"), &rogue.key_pem).unwrap();
    let forged = TlsFiles { ca: other.join("ca.pem"), cert: other.join("admin.pem"), key: other.join("admin.key") };
    let forger = tls_client(&keys, port, forged.clone(), Duration::from_millis(500));
    assert!(!reaches(&forger, Duration::from_secs(3)), "a certificate from another CA was accepted");
    assert!(forger.forget(br#"{"identity": "p0"}"#).is_err());
    // The same with the right CA file but the forged certificate: the server refuses the client certificate.
    let mixed = TlsFiles { ca: site.dir.join("ca.pem"), ..forged };
    let forger = tls_client(&keys, port, mixed, Duration::from_millis(500));
    assert!(!reaches(&forger, Duration::from_secs(3)), "a client certificate from another CA was accepted");

    // A plaintext client cannot talk to the TLS endpoint.
    let plain_net = NetConfig { connect: vec![format!("tcp/127.0.0.1:{port}")], ..NetConfig::default() };
    let plain = GalleryClient::connect(keys.clone(), &plain_net, Duration::from_millis(500)).unwrap();
    assert!(!reaches(&plain, Duration::from_secs(3)), "a plaintext client was answered");
    // And TLS with a plaintext endpoint is refused before anything is sent, naming the endpoint.
    let mixed_net = NetConfig { connect: vec![format!("tcp/127.0.0.1:{port}")], ..NetConfig::default() }
        .with_tls(site.tls("admin"));
    let err = mixed_net.to_zenoh().unwrap_err().to_string();
    assert!(err.contains(&format!("tcp/127.0.0.1:{port}")) && err.contains("plaintext"), "{err}");
    // The site's config file with a plaintext listen endpoint is refused the same way.
    let file_net = NetConfig {
        listen: vec!["tcp/127.0.0.1:0".into()],
        config_file: Some(site.gallery_config.clone()),
        ..NetConfig::default()
    };
    assert!(file_net.to_zenoh().unwrap_err().to_string().contains("plaintext"));

    // After all of that the gallery holds exactly the admin's two remaining people and the camera's sighting.
    assert_eq!(gallery.len(), 3);
}

#[test]
fn bad_certificate_files_are_named_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let site = site(&dir.path().join("site"));
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello\n").unwrap();
    let expired = dir.path().join("expired.pem");
    let ca = Ca::load(
        &std::fs::read_to_string(site.dir.join("ca.pem")).unwrap(),
        &std::fs::read_to_string(site.dir.join("ca.key")).unwrap(),
    )
    .unwrap();
    let now = now_s();
    let old = ca.issue("cam1", &["cam1".into()], now - 10 * 86_400, now - 86_400).unwrap();
    std::fs::write(&expired, &old.cert_pem).unwrap();
    for (files, expect) in [
        (TlsFiles { cert: junk.clone(), ..site.tls("cam1") }, "not PEM"),
        (TlsFiles { ca: junk.clone(), ..site.tls("cam1") }, "not PEM"),
        (TlsFiles { cert: expired.clone(), ..site.tls("cam1") }, "expired"),
        (TlsFiles { key: site.dir.join("cam1.pem"), ..site.tls("cam1") }, "PRIVATE KEY"),
        (TlsFiles { ca: dir.path().join("missing.pem"), ..site.tls("cam1") }, "cannot read"),
    ] {
        let net = NetConfig::client_default().with_tls(files);
        let err = net.to_zenoh().unwrap_err().to_string();
        assert!(err.contains(expect), "{err}");
        assert!(err.contains(".pem"), "the error names no file: {err}");
    }
}
