//! The web console (feature `console`): its JSON API over plain HTTP (bad input gets a JSON error naming what was
//! wrong and the server keeps serving; admin actions are refused without the operator token) and the page in a
//! real headless chromium driven over the DevTools protocol (no console errors; published identifications on
//! Live within a second; search by image; a hostile identity name shown as text; forget everywhere, checked after
//! a restart). Set REID_CONSOLE_SCREENSHOTS=DIR to also write a PNG of each page there.
#![cfg(feature = "console")]

mod cdp;

use super::net::{DIM, vector};

use reid_gallery::console::{Console, ConsoleOptions, Embedder, LiveFeed};
use reid_gallery::net::ingest::{Detection, FrameEmbeddings};
use reid_gallery::net::{KeySpace, NetConfig, Server, ServerOptions, ZenohConfig};
use reid_gallery::openset::{CalibrationCurve, calibrate, curve};
use reid_gallery::{Gallery, GalleryConfig, Metadata, NewEmbedding};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use zenoh::Wait;

const TOKEN: &str = "test-operator-token-0123456789";
/// An identity name that would run script if the page ever put it on the page as HTML.
const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script>";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Stands in for an ONNX model: an "image" is the text `reid-test-image:<identity>`; anything else is refused
/// as not an image, as the real embedder refuses undecodable bytes (the `reid` command's tests run a real model).
struct TestEmbedder;

impl Embedder for TestEmbedder {
    fn describe(&self) -> String {
        "test embedder".into()
    }

    fn embed(&self, image: &[u8]) -> Result<Vec<f32>, String> {
        let text = std::str::from_utf8(image).map_err(|_| "not an image: binary data of no known format".to_owned())?;
        let n: usize = text
            .strip_prefix("reid-test-image:")
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| "not an image: no JPEG, PNG or BMP header".to_owned())?;
        Ok(vector(n, 5))
    }
}

struct Running {
    gallery: Arc<Gallery>,
    server: Server,
    console: Console,
    keys: KeySpace,
    zenoh_port: u16,
}

fn enrol(gallery: &Gallery, who: &str, n: usize, camera: &str) {
    let items = (0..3)
        .map(|v| NewEmbedding {
            vector: vector(n, v),
            meta: Metadata {
                identity: Some(who.into()),
                camera: Some(camera.into()),
                timestamp_ms: reid_gallery::record::now_ms() - 60_000 + v as i64,
                track_id: None,
                source: Some("test".into()),
            },
        })
        .collect();
    gallery.enroll(items).unwrap();
}

fn start(db: &Path, token: Option<&str>, body_limit: usize) -> Running {
    let config = GalleryConfig { dim: Some(DIM), threshold: 0.8, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(db, config).unwrap());
    let keys = KeySpace::new("test/console", "main").unwrap();
    let zenoh_port = free_port();
    let net = NetConfig { listen: vec![format!("tcp/127.0.0.1:{zenoh_port}")], ..NetConfig::default() };
    let feed = LiveFeed::new();
    let options = ServerOptions { on_identified: Some(feed.tap()), ..ServerOptions::default() };
    let server = Server::start(gallery.clone(), &keys, &net, options).unwrap();
    let mut o = ConsoleOptions::new("127.0.0.1:0".parse().unwrap());
    o.token = token.map(str::to_owned);
    o.body_limit = body_limit;
    o.embedder = Some(Arc::new(TestEmbedder));
    let genuine: Vec<f32> = (0..200).map(|i| 0.6 + 0.35 * (i as f32 / 200.0)).collect();
    let impostor: Vec<f32> = (0..2000).map(|i| -0.2 + 0.9 * (i as f32 / 2000.0)).collect();
    o.calibration = Some(CalibrationCurve {
        target_fmr: 0.01,
        chosen: calibrate(&genuine, &impostor, 0.01).unwrap(),
        points: curve(&genuine, &impostor, 200),
    });
    let console = Console::start(gallery.clone(), feed, o).unwrap();
    Running { gallery, server, console, keys, zenoh_port }
}

/// One HTTP/1.1 request; returns status, headers (lower-case names) and body. The body is written from another
/// thread so that a server refusing a large body early still has its reply read.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        for chunk in body.chunks(1 << 16) {
            if w.write_all(chunk).is_err() {
                break;
            }
        }
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) =
        text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP reply to {method} {path}: {text:?}"));
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    (status, head.to_ascii_lowercase(), serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = &rest[n + 2..];
    }
    out
}

fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, _, body) = request(addr, "GET", path, &[], Vec::new());
    (status, body)
}

fn post_json(addr: SocketAddr, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    let (status, _, body) = request(addr, "POST", path, &headers, serde_json::to_vec(body).unwrap());
    (status, body)
}

#[test]
fn the_api_answers_bad_input_with_json_errors_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(&dir.path().join("g.redb"), Some(TOKEN), 1 << 20);
    enrol(&r.gallery, "p1", 1, "c1");
    let addr = r.console.addr();
    let (status, head, body) = request(addr, "GET", "/", &[], Vec::new());
    assert_eq!(status, 200);
    assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"), "{head}");
    assert!(body.as_str().unwrap().contains("<script src=\"/app.js\">"));

    // A 50 MB upload: refused by the body limit, as JSON.
    let (status, _, body) = request(addr, "POST", "/api/search", &[], vec![0u8; 50 << 20]);
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["field"], "body");
    assert!(body["error"].as_str().unwrap().contains("limit of 1048576 bytes"), "{body}");
    // Not an image.
    let (status, _, body) = request(addr, "POST", "/api/search", &[], b"%PDF-1.7 not a picture".to_vec());
    assert_eq!((status, body["field"].as_str()), (400, Some("image")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("not an image"));
    // An empty upload; a bad search option.
    let (status, _, body) = request(addr, "POST", "/api/search", &[], Vec::new());
    assert_eq!((status, body["field"].as_str()), (400, Some("image")), "{body}");
    let (status, _, body) = request(addr, "POST", "/api/search?k=lots", &[], b"reid-test-image:1".to_vec());
    assert_eq!((status, body["field"].as_str()), (400, Some("k")), "{body}");
    // Malformed API requests: broken JSON, a wrong dimension, an unknown field, wrong route and method.
    let (status, _, body) = request(addr, "POST", "/api/query", &[], b"{\"embedding\": [1, 2".to_vec());
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let (status, body) = post_json(addr, "/api/query", None, &json!({ "embedding": [1.0, 2.0] }));
    assert_eq!((status, body["field"].as_str()), (400, Some("embedding")), "{body}");
    let (status, body) = post_json(addr, "/api/query", None, &json!({ "embedding": vector(1, 0), "colour": "red" }));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("colour"), "{body}");
    let (status, body) = get(addr, "/api/nothing-here");
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("/api/nothing-here"));
    let (status, body) = get(addr, "/api/forget");
    assert_eq!(status, 405, "{body}");
    let (status, body) = get(addr, &format!("/api/identities/{}", "%FF%FE"));
    assert_eq!((status, body["field"].as_str()), (400, Some("identity")), "{body}");
    // A good query still works.
    let (status, body) = post_json(addr, "/api/query?k=2", None, &json!({ "embedding": vector(1, 9) }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["results"][0]["best_identity"], "p1");
    assert_eq!(body["results"][0]["matches"].as_array().unwrap().len(), 2);

    // Admin actions without the token, or with a wrong one: 401, nothing changed.
    let n = r.gallery.len();
    for token in [None, Some("wrong-token-wrong-token-00"), Some("")] {
        let (status, body) = post_json(addr, "/api/forget", token, &json!({ "identity": "p1" }));
        assert_eq!((status, body["field"].as_str()), (401, Some("authorization")), "{body}");
        let enrol = json!({ "items": [{ "embedding": vector(3, 0), "identity": "p3" }] });
        assert_eq!(post_json(addr, "/api/enroll", token, &enrol).0, 401);
        let label = json!({ "camera": "c1", "track_id": 1, "identity": "p3" });
        assert_eq!(post_json(addr, "/api/label", token, &label).0, 401);
    }
    assert_eq!(r.gallery.len(), n);
    // With it: enrol, then a malformed forget is a 400 naming the field.
    let enrol = json!({ "items": [{ "embedding": vector(3, 0), "identity": "p3", "camera": "c2" }] });
    let (status, body) = post_json(addr, "/api/enroll", Some(TOKEN), &enrol);
    assert_eq!(status, 200, "{body}");
    assert_eq!(r.gallery.len(), n + 1);
    let (status, body) = post_json(addr, "/api/forget", Some(TOKEN), &json!({ "identity": "p1", "from_ms": 5 }));
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        post_json(addr, "/api/label", Some(TOKEN), &json!({ "camera": "c9", "track_id": 4, "identity": "x" }));
    assert_eq!((status, body["field"].as_str()), (400, Some("track_id")), "{body}");
    let (status, body) = post_json(addr, "/api/label", Some(TOKEN), &json!({ "camera": "c9", "identity": "\u{7}" }));
    assert_eq!((status, body["field"].as_str()), (400, Some("identity")), "{body}");
    // Still serving.
    let (status, body) = get(addr, "/api/stats");
    assert_eq!(status, 200);
    assert_eq!(body["gallery"]["index"]["rows"], n + 1);
    let (status, body) = get(addr, "/api/calibration");
    assert_eq!(status, 200);
    assert_eq!(body["curve"]["points"].as_array().unwrap().len(), 201);
    drop(r);

    // A console without a token is read-only: admin actions are 403 whatever is sent.
    let r = start(&dir.path().join("ro.redb"), None, 1 << 20);
    let (status, body) = post_json(r.console.addr(), "/api/forget", Some(TOKEN), &json!({ "all": true }));
    assert_eq!((status, body["field"].as_str()), (403, Some("authorization")), "{body}");
}

fn publish(r: &Running, session: &zenoh::Session, camera: &str, detections: Vec<(u64, Vec<f32>)>) {
    let frame = FrameEmbeddings {
        camera: camera.into(),
        timestamp_ms: reid_gallery::record::now_ms(),
        frame: None,
        model: None,
        detections: detections
            .into_iter()
            .map(|(track, embedding)| Detection { track_id: Some(track), bbox: None, embedding })
            .collect(),
    };
    session.put(r.keys.embeddings(camera), serde_json::to_vec(&frame).unwrap()).wait().unwrap();
}

fn shoot(tab: &mut cdp::Tab, name: &str) {
    if let Ok(dir) = std::env::var("REID_CONSOLE_SCREENSHOTS") {
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(Path::new(&dir).join(name), tab.screenshot()).unwrap();
    }
}

/// The text of the rows of table `id` (cells joined by `|`).
fn rows(tab: &mut cdp::Tab, id: &str) -> Vec<String> {
    let v = tab.eval(&format!(
        "Array.from(document.querySelectorAll('#{id} tbody tr')).map(r => Array.from(r.cells).map(c => c.textContent).join('|'))"
    ));
    v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect()
}

#[test]
fn the_console_in_a_headless_browser() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("g.redb");
    let r = start(&db, Some(TOKEN), 1 << 20);
    enrol(&r.gallery, "p1", 1, "c1");
    enrol(&r.gallery, "p2", 2, "c2");
    enrol(&r.gallery, HOSTILE, 5, "c1");
    let url = format!("http://{}/", r.console.addr());
    let browser = cdp::Browser::launch();
    let mut tab = browser.tab();
    tab.open(&url);
    tab.wait("document.body.dataset.live === 'connected'", Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(tab.errors(), Vec::<String>::new(), "console errors on load");

    // Live: a published frame shows up within a second (p1 identified, one unknown).
    let net = NetConfig { connect: vec![format!("tcp/127.0.0.1:{}", r.zenoh_port)], ..NetConfig::default() };
    let session = zenoh::open(net.to_zenoh().unwrap()).wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let unknown: Vec<f32> = (0..DIM).map(|d| if d == 15 { -1.0 } else { 0.01 }).collect();
    let published = std::time::Instant::now();
    publish(&r, &session, "c1", vec![(11, vector(1, 3)), (12, unknown.clone())]);
    tab.wait("document.querySelector('#live-rows tr[data-identity=\"p1\"]') !== null", Duration::from_secs(5));
    let took = published.elapsed();
    assert!(took < Duration::from_secs(1), "the row took {took:?}");
    let live = rows(&mut tab, "live-rows");
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().any(|r| r.contains("|c1|12|unknown|")), "{live:?}");
    assert!(live.iter().any(|r| r.contains("|c1|11|p1|")), "{live:?}");
    for cam in 0..3 {
        publish(&r, &session, &format!("cam{cam}"), vec![(20 + cam, vector(2, cam as usize))]);
    }
    tab.wait("document.querySelectorAll('#live-rows tbody tr').length === 5", Duration::from_secs(5));
    tab.wait("document.querySelectorAll('#cameras tbody tr').length === 4", Duration::from_secs(3));
    shoot(&mut tab, "console-live.png");

    // Identities: counts per camera, and the hostile name shown as text, never run.
    tab.eval("location.hash = '#identities'");
    tab.wait("document.body.dataset.identities === '3'", Duration::from_secs(5));
    let ids = rows(&mut tab, "identities");
    assert!(ids.iter().any(|r| r.starts_with("p1|3|1|c1: 4|")), "{ids:?}");
    assert!(ids.iter().any(|r| r.starts_with("p2|3|3|c2: 3, cam0: 1, cam1: 1, cam2: 1|")), "{ids:?}");
    assert!(ids.iter().any(|r| r.starts_with(&format!("{HOSTILE}|3|0|"))), "{ids:?}");
    let injected = tab.eval(
        "[typeof window.__pwned, document.querySelectorAll('img').length, document.scripts.length, \
          document.querySelector('#identities tbody').innerHTML.includes('<img')]",
    );
    assert_eq!(injected, json!(["undefined", 0, 1, false]));
    tab.eval("document.querySelector('#identities tr[data-identity=\"p2\"] button').click()");
    tab.wait("document.querySelectorAll('#sightings tbody tr').length === 6", Duration::from_secs(5));
    assert_eq!(tab.eval("document.querySelectorAll('#timeline-svg circle').length"), json!(6));
    shoot(&mut tab, "console-identities.png");

    // Search by image: the right identity on top; a non-image is a clear error on the page.
    tab.eval("location.hash = '#search'");
    let image = dir.path().join("crop.png");
    std::fs::write(&image, "reid-test-image:2").unwrap();
    tab.set_file("#search-file", &image);
    tab.eval("document.getElementById('search-form').requestSubmit()");
    tab.wait("document.body.dataset.searched !== undefined", Duration::from_secs(5));
    let found = rows(&mut tab, "search-results");
    assert!(found[0].starts_with("1|p2"), "{found:?}");
    assert!(tab.eval("document.getElementById('search-info').textContent").as_str().unwrap().contains("answer: p2"));
    shoot(&mut tab, "console-search.png");
    let junk = dir.path().join("junk.png");
    std::fs::write(&junk, b"\x00\x01 definitely not a picture").unwrap();
    tab.set_file("#search-file", &junk);
    tab.eval("document.getElementById('search-form').requestSubmit()");
    tab.wait("document.body.dataset.searched === 'error'", Duration::from_secs(5));
    let error = tab.eval("document.getElementById('error').textContent");
    let error = error.as_str().unwrap();
    assert!(error.starts_with("search: not an image") && error.ends_with("[image]"), "{error}");

    // Calibration: the curve drawn.
    tab.eval("location.hash = '#calibration'");
    tab.wait("document.body.dataset.calibration === 'drawn'", Duration::from_secs(5));
    assert_eq!(tab.eval("document.querySelectorAll('#calibration-svg polyline').length"), json!(3));
    shoot(&mut tab, "console-calibration.png");

    // Admin without the token: refused, nothing forgotten.
    tab.eval("location.hash = '#admin'");
    tab.wait("document.body.dataset.admin === 'no'", Duration::from_secs(5));
    tab.eval("document.getElementById('forget-identity').value = 'p1'; document.getElementById('forget-identity-form').requestSubmit()");
    tab.wait("document.getElementById('admin-result').textContent.startsWith('refused')", Duration::from_secs(5));
    assert!(
        tab.eval("document.getElementById('admin-result').textContent").as_str().unwrap().contains("operator token")
    );
    assert!(r.gallery.identities().unwrap().iter().any(|s| s.identity == "p1"));
    // With it: label the unknown track, then forget p1.
    tab.eval(&format!(
        "document.getElementById('token').value = '{TOKEN}'; document.getElementById('token-form').requestSubmit()"
    ));
    tab.wait("document.body.dataset.admin === 'yes'", Duration::from_secs(5));
    tab.wait("document.querySelectorAll('#unknown tbody tr').length === 1", Duration::from_secs(5));
    shoot(&mut tab, "console-admin.png");
    tab.eval("const f = document.querySelector('#unknown tbody form'); f.querySelector('input').value = 'visitor'; f.requestSubmit()");
    tab.wait(
        "document.getElementById('admin-result').textContent.startsWith('labelled: 1 embeddings enrolled, 1')",
        Duration::from_secs(5),
    );
    let before = r.gallery.len();
    tab.eval("document.getElementById('forget-identity').value = 'p1'; document.getElementById('forget-identity-form').requestSubmit()");
    tab.wait(
        "document.getElementById('admin-result').textContent === 'forgotten: 4 embeddings removed'",
        Duration::from_secs(5),
    );
    assert_eq!(r.gallery.len(), before - 4);
    // Gone from Live (this tab, by the server's `forgotten` event) and Identities.
    tab.wait("document.querySelector('#live-rows tr[data-identity=\"p1\"]') === null", Duration::from_secs(3));
    tab.eval("location.hash = '#identities'");
    tab.wait("document.querySelector('#identities tr[data-identity=\"p1\"]') === null && document.body.dataset.identities === '3'", Duration::from_secs(5));
    assert!(rows(&mut tab, "identities").iter().any(|r| r.starts_with("visitor|1|1|c1: 2|")));
    assert_eq!(tab.errors(), Vec::<String>::new(), "console errors");

    // After a restart: not in the store, not on any page, not found by a search.
    drop(session);
    let Running { gallery, server, console, .. } = r;
    drop(console);
    server.stop();
    drop(gallery);
    let r = start(&db, Some(TOKEN), 1 << 20);
    assert!(!r.gallery.identities().unwrap().iter().any(|s| s.identity == "p1"));
    assert!(r.gallery.sightings("p1").unwrap().is_empty());
    let url = format!("http://{}/", r.console.addr());
    tab.open(&format!("{url}#identities"));
    tab.wait("document.body.dataset.identities === '3'", Duration::from_secs(5));
    assert!(!rows(&mut tab, "identities").iter().any(|r| r.starts_with("p1|")));
    assert_eq!(get(r.console.addr(), "/api/identities/p1").0, 404);
    tab.eval("location.hash = '#search'");
    let p1 = dir.path().join("p1.png");
    std::fs::write(&p1, "reid-test-image:1").unwrap();
    tab.set_file("#search-file", &p1);
    tab.eval("document.getElementById('search-form').requestSubmit()");
    tab.wait("document.body.dataset.searched !== undefined", Duration::from_secs(5));
    let found = rows(&mut tab, "search-results");
    assert!(!found.is_empty() && !found.iter().any(|r| r.contains("|p1")), "{found:?}");
    assert_eq!(tab.errors(), Vec::<String>::new(), "console errors after the restart");
}
