//! `reidpublish` over mutual TLS to an in-process gallery server, with a site made in the test
//! (`reid_gallery::net::certs::make_site`, the server configured by the `gallery.json5` it writes): a camera's
//! certificate streams embeddings the server ingests; a reader's certificate connects but its frames are denied by
//! the access rules; bad files, a partial set of properties and plaintext endpoints fail the start, named.

use crate::common::*;
use crate::publish::{embedded_buffer, free_port};
use gst::prelude::*;
use gst_check::Harness;
use reid_gallery::net::certs::{Ca, Role, SiteFiles, SitePlan, make_site};
use reid_gallery::net::{GalleryClient, KeySpace, NetConfig, Server, ServerOptions, TlsFiles};
use reid_gallery::{Gallery, GalleryConfig};
use reid_protocol::tls::now_s;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

fn site(dir: &Path) -> SiteFiles {
    let plan = SitePlan {
        site: "test-site".into(),
        server: "gallery".into(),
        hosts: vec![],
        clients: vec![("cam1".into(), Role::Camera), ("dash".into(), Role::Reader)],
        days: 2,
        prefix: "reid".into(),
    };
    make_site(dir, &plan, now_s()).unwrap()
}

/// The element's TLS properties for `files`.
fn tls_properties(files: &TlsFiles) -> String {
    format!("tls-ca={} tls-cert={} tls-key={}", files.ca.display(), files.cert.display(), files.key.display())
}

/// A `reidpublish` harness for `camera` connecting to `port` over TLS with `files`.
fn tls_harness(camera: &str, port: u16, files: &TlsFiles) -> Harness {
    let mut h = Harness::new_parse(&format!(
        "reidpublish camera={camera} connect=tls/127.0.0.1:{port} {}",
        tls_properties(files)
    ));
    h.set_src_caps_str("video/x-raw,format=RGB,width=4,height=4,framerate=30/1");
    h
}

#[test]
fn tls_camera_streams_and_a_reader_is_denied() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let site = site(&dir.path().join("site"));
    let gallery = Arc::new(
        Gallery::open(dir.path().join("g.redb"), GalleryConfig { dim: Some(3), ..GalleryConfig::default() }).unwrap(),
    );
    let port = free_port();
    // TLS and the access rules come from the site's config file; only the endpoint is given here.
    let net = NetConfig {
        listen: vec![format!("tls/127.0.0.1:{port}")],
        config_file: Some(site.gallery_config.clone()),
        ..NetConfig::default()
    };
    let server = Server::start(gallery.clone(), &KeySpace::default(), &net, ServerOptions::default()).unwrap();
    let frames = || server.counters().frames.load(Relaxed);

    // The camera: push frames until the server has ingested some (Zenoh connects asynchronously; bounded).
    let mut h = tls_harness("cam1", port, &site.tls("cam1"));
    let element = h.find_element("reidpublish").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pushed = 0u64;
    while frames() < 3 && Instant::now() < deadline {
        h.push(embedded_buffer(pushed as f32)).unwrap();
        pushed += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(h);
    assert!(frames() >= 3, "the server ingested {} frames of cam1's {pushed} over TLS in 20 s", frames());
    assert_eq!(element.property::<u64>("failed"), 0);
    assert_eq!(server.counters().rejected.load(Relaxed), 0, "the server refused a message");
    let stored = gallery.len();
    assert!(stored >= 3, "{stored} sightings stored");

    // The reader's certificate is good (it reaches the server's statistics) ...
    let dash_net =
        NetConfig { connect: vec![format!("tls/127.0.0.1:{port}")], ..NetConfig::default() }.with_tls(site.tls("dash"));
    let dash = GalleryClient::connect(KeySpace::default(), &dash_net, Duration::from_secs(1)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !dash.stats().is_ok_and(|s| !s.is_empty()) {
        assert!(Instant::now() < deadline, "the reader never reached the server over TLS");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ... but what reidpublish streams with it is denied by the rules (only cameras may put embeddings).
    std::thread::sleep(Duration::from_millis(300));
    let before = frames();
    let mut h = tls_harness("dash", port, &site.tls("dash"));
    let element = h.find_element("reidpublish").unwrap();
    for i in 0..60 {
        h.push(embedded_buffer(i as f32)).unwrap();
        std::thread::sleep(Duration::from_millis(25));
    }
    drop(h);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(element.property::<u64>("published") + element.property::<u64>("dropped"), 60);
    assert!(element.property::<u64>("published") > 0, "the reader's element sent nothing");
    assert_eq!(frames(), before, "the server ingested frames streamed with a reader's certificate");
    assert_eq!(gallery.len(), stored);
    server.stop();
}

/// The error the start of a `reidpublish` with `properties` posts (the state change must fail).
fn start_error(properties: &[(&str, String)]) -> String {
    let mut builder = gst::ElementFactory::make("reidpublish");
    for (name, value) in properties {
        builder = builder.property(name, value);
    }
    let sink = builder.build().unwrap();
    let pipeline = gst::Pipeline::new();
    pipeline.add(&sink).unwrap();
    assert!(pipeline.set_state(gst::State::Paused).is_err(), "{properties:?} must fail the start");
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .unwrap();
    let gst::MessageView::Error(err) = message.view() else { unreachable!() };
    pipeline.set_state(gst::State::Null).unwrap();
    err.error().to_string()
}

#[test]
fn bad_tls_settings_fail_the_start_naming_the_file() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let site = site(&dir.path().join("site"));
    let cam1 = site.tls("cam1");
    let ca = Ca::load(
        &std::fs::read_to_string(site.dir.join("ca.pem")).unwrap(),
        &std::fs::read_to_string(site.dir.join("ca.key")).unwrap(),
    )
    .unwrap();
    let now = now_s();
    let old = ca.issue("cam1", &["cam1".into()], now - 10 * 86_400, now - 86_400).unwrap();
    let expired = dir.path().join("expired-cam1.pem");
    std::fs::write(&expired, &old.cert_pem).unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello, not a certificate\n").unwrap();
    let path = |p: &Path| p.display().to_string();
    let tls = |ca: &Path, cert: &Path, key: &Path| {
        vec![
            ("connect", "tls/127.0.0.1:9".to_owned()),
            ("tls-ca", path(ca)),
            ("tls-cert", path(cert)),
            ("tls-key", path(key)),
        ]
    };
    let expired_text = start_error(&tls(&cam1.ca, &expired, &cam1.key));
    assert!(
        expired_text.contains(&format!("tls-cert` {}", expired.display())) && expired_text.contains("expired on"),
        "{expired_text}"
    );
    let junk_text = start_error(&tls(&cam1.ca, &junk, &cam1.key));
    assert!(
        junk_text.contains(&format!("tls-cert` {}", junk.display())) && junk_text.contains("not PEM"),
        "{junk_text}"
    );
    let not_ca = start_error(&tls(&cam1.cert, &cam1.cert, &cam1.key));
    assert!(not_ca.contains("tls-ca") && not_ca.contains("not a certificate authority"), "{not_ca}");
    let not_key = start_error(&tls(&cam1.ca, &cam1.cert, &cam1.cert));
    assert!(not_key.contains(&format!("tls-key` {}", cam1.cert.display())), "{not_key}");
    // A partial set names the missing property.
    let partial = start_error(&[("tls-ca", path(&cam1.ca)), ("tls-key", path(&cam1.key))]);
    assert!(partial.contains("`tls-cert` is not set"), "{partial}");
    // A plaintext endpoint beside TLS is refused, naming it (only the default tcp/127.0.0.1:7447 becomes tls/).
    let mut plain = tls(&cam1.ca, &cam1.cert, &cam1.key);
    plain[0].1 = "tcp/127.0.0.1:7448".to_owned();
    let plain_text = start_error(&plain);
    assert!(plain_text.contains("`tcp/127.0.0.1:7448` is plaintext"), "{plain_text}");
    // TLS from a `config` file: the same checks on the files and endpoints it brings.
    let config_plain = start_error(&[("config", path(&site.gallery_config)), ("connect", "tcp/127.0.0.1:7447".into())]);
    // (The site file sets no listen endpoint: Zenoh's default peer listener `tcp/[::]:0` is named first.)
    assert!(config_plain.contains("is plaintext but TLS is configured"), "{config_plain}");
    let bad_config = dir.path().join("bad.json5");
    let body = serde_json::json!({"transport": {"link": {"tls": {"root_ca_certificate": path(&junk)}}}});
    std::fs::write(&bad_config, body.to_string()).unwrap();
    let config_junk = start_error(&[("config", path(&bad_config)), ("connect", "tls/127.0.0.1:9".into())]);
    assert!(
        config_junk.contains(&format!("root_ca_certificate` {}", junk.display())) && config_junk.contains("not PEM"),
        "{config_junk}"
    );
}
