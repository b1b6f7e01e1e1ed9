//! `reid gallery serve` as a process: every acknowledged enrolment survives a SIGKILL mid-stream, and a Python
//! client (`eclipse-zenoh`, plain JSON) enrols, queries and forgets against it, in plaintext and over mutual TLS
//! with certificates from `reid gallery certs` (rights by common name).
#![cfg(feature = "gallery")]

use reid_gallery::net::{GalleryClient, KeySpace, NetConfig};
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DIM: usize = 32;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process killed (SIGKILL) when dropped, so a failing test never leaves one behind.
struct ServerProcess(Child);

impl ServerProcess {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `reid gallery serve` and waits for its `ready` line.
fn serve(db: &Path, port: u16, name: &str) -> ServerProcess {
    serve_with(db, name, &["--listen", &format!("tcp/127.0.0.1:{port}")])
}

/// Starts `reid gallery serve` with `net` (its endpoint and TLS flags) and waits for its `ready` line.
fn serve_with(db: &Path, name: &str, net: &[&str]) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reid"))
        .args(["gallery", "serve", "--db", db.to_str().unwrap(), "--dim", &DIM.to_string(), "--name", name])
        .args(net)
        .args(["--threshold", "0.9"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start reid gallery serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match lines.next() {
            Some(Ok(line)) if line == "ready" => break,
            Some(Ok(_)) => {}
            _ => panic!("reid gallery serve exited before it was ready"),
        }
        assert!(Instant::now() < deadline, "server not ready in 30 s");
    }
    ServerProcess(child)
}

fn connect(name: &str, port: u16) -> GalleryClient {
    let net = NetConfig { connect: vec![format!("tcp/127.0.0.1:{port}")], ..NetConfig::default() };
    let client = GalleryClient::connect(KeySpace::new("reid", name).unwrap(), &net, Duration::from_secs(2)).unwrap();
    for _ in 0..100 {
        if client.stats().is_ok() {
            return client;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no gallery on port {port}");
}

/// A distinct pseudo-random vector per `i` (splitmix64 of `i` and the coordinate).
fn vector(i: usize) -> Vec<f32> {
    (0..DIM)
        .map(|d| {
            let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (d as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((x ^ (x >> 31)) % 2001) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[test]
fn acknowledged_enrolments_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gallery.redb");
    let port = free_port();
    let mut server = serve(&db, port, "durable");
    let client = connect("durable", port);
    let acked: Arc<Mutex<Vec<(u64, usize)>>> = Arc::default();
    let writer = {
        let acked = acked.clone();
        std::thread::spawn(move || {
            for i in 0.. {
                let body = json!({ "embedding": vector(i), "identity": format!("p{i}"), "camera": "c1" });
                match client.enroll(&serde_json::to_vec(&body).unwrap()) {
                    Ok(reply) => acked.lock().unwrap().push((reply.ids[0], i)),
                    Err(_) => break,
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 200 {
        assert!(Instant::now() < deadline, "enrolments too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill(); // SIGKILL, mid-stream
    writer.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 200);

    let port = free_port();
    let mut server = serve(&db, port, "durable");
    let client = connect("durable", port);
    let stats = client.stats().unwrap();
    assert!(stats[0].store.embeddings as usize >= acked.len(), "{} < {}", stats[0].store.embeddings, acked.len());
    for chunk in acked.chunks(100) {
        let vectors: Vec<Vec<f32>> = chunk.iter().map(|(_, i)| vector(*i)).collect();
        let (reply, _) =
            client.query(&serde_json::to_vec(&json!({ "embeddings": vectors })).unwrap(), "k=1", 1).unwrap();
        for ((id, i), r) in chunk.iter().zip(&reply.results) {
            let top = &r.matches[0];
            assert_eq!(top.id, *id, "acknowledged embedding {i} (id {id}) is missing after the restart");
            assert!(top.score > 0.999);
        }
    }
    server.kill();
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("REID_PYTHON") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

#[test]
fn a_python_client_enrols_queries_and_forgets() {
    let py = python();
    assert!(py.exists(), "{} missing: run scripts/pyenv.sh (scripts/test.sh does)", py.display());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = serve(&dir.path().join("py.redb"), port, "py");
    connect("py", port);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/clients/gallery_client.py");
    let out = Command::new(&py)
        .arg(&script)
        .args(["--connect", &format!("tcp/127.0.0.1:{port}"), "--name", "py", "--dim", &DIM.to_string()])
        .output()
        .expect("run the Python client");
    server.kill();
    assert!(out.status.success(), "python client failed: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = |step: &str| -> (bool, serde_json::Value) {
        let r = &v[step][0];
        (r[0].as_bool().unwrap(), r[1].clone())
    };
    let (ok, enroll) = first("enroll");
    assert!(ok, "{enroll}");
    assert_eq!(enroll["ids"].as_array().unwrap().len(), 3);
    let (ok, query) = first("query");
    assert!(ok, "{query}");
    assert_eq!(query["results"][0]["best_identity"], "py1");
    assert_eq!(query["results"][0]["matches"].as_array().unwrap().len(), 3);
    let (ok, bad) = first("bad_query");
    assert!(!ok);
    assert!(bad["error"].as_str().unwrap().contains("embedding"), "{bad}");
    let (ok, forget) = first("forget");
    assert!(ok, "{forget}");
    assert_eq!(forget["removed"], 1);
    let (ok, after) = first("query_after_forget");
    assert!(ok);
    assert!(after["results"][0]["matches"].as_array().unwrap().iter().all(|m| m["identity"] != "py1"), "{after}");
    let (ok, stats) = first("stats");
    assert!(ok);
    assert_eq!(stats["store"]["embeddings"], 2);
}

/// `reid gallery <args>`: (success, stdout + stderr).
fn reid_gallery(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reid")).arg("gallery").args(args).output().expect("run reid gallery");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_site_made_by_reid_gallery_certs_serves_mutual_tls_with_rights_by_common_name() {
    let py = python();
    assert!(py.exists(), "{} missing: run scripts/pyenv.sh (scripts/test.sh does)", py.display());
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let other = dir.path().join("other");
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let (ok, text) = reid_gallery(&["certs", "--out", &s(&site), "--site", "lobby", "--clients", "cam1,admin,dash"]);
    assert!(ok, "{text}");
    assert!(text.contains("client admin: admin") && text.contains("client cam1: camera"), "{text}");
    assert!(text.contains("client dash: reader"), "{text}");
    let (ok, text) = reid_gallery(&["certs", "--out", &s(&other), "--site", "elsewhere", "--clients", "admin"]);
    assert!(ok, "{text}");
    let port = free_port();
    let endpoint = format!("tls/127.0.0.1:{port}");
    let config = site.join("gallery.json5");
    let mut server =
        serve_with(&dir.path().join("tls.redb"), "tls", &["--zenoh-config", &s(&config), "--listen", &endpoint]);
    let tls = |dir: &Path, name: &str| -> Vec<String> {
        vec![
            "--tls-ca".into(),
            s(&dir.join("ca.pem")),
            "--tls-cert".into(),
            s(&dir.join(format!("{name}.pem"))),
            "--tls-key".into(),
            s(&dir.join(format!("{name}.key"))),
        ]
    };
    let client = |dir: &Path, name: &str, cmd: &[&str], connect: &str| -> (bool, String) {
        let mut args: Vec<String> = cmd.iter().map(|a| a.to_string()).collect();
        args.extend([
            "--name".into(),
            "tls".into(),
            "--timeout".into(),
            "2".into(),
            "--connect".into(),
            connect.into(),
        ]);
        args.extend(tls(dir, name));
        reid_gallery(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // The server is up once the reader can read statistics over TLS.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client(&site, "dash", &["stats"], &endpoint).0 {
        assert!(Instant::now() < deadline, "no TLS gallery on {endpoint}");
    }
    // The Python client (eclipse-zenoh) as the admin: everything works over mutual TLS.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/clients/gallery_client.py");
    let run_py = |name: &str| -> serde_json::Value {
        let out = Command::new(&py)
            .arg(&script)
            .args(["--connect", &endpoint, "--name", "tls", "--dim", &DIM.to_string(), "--timeout", "2"])
            .args(tls(&site, name))
            .output()
            .expect("run the Python client");
        assert!(out.status.success(), "python client failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let admin = run_py("admin");
    assert_eq!(admin["enroll"][0][1]["ids"].as_array().unwrap().len(), 3, "{admin}");
    assert_eq!(admin["query"][0][1]["results"][0]["best_identity"], "py1", "{admin}");
    assert_eq!(admin["forget"][0][1]["removed"], 1, "{admin}");
    assert_eq!(admin["stats"][0][1]["store"]["embeddings"], 2, "{admin}");
    // The same script as a reader: look-ups answer, enrol and forget get no reply (denied by common name).
    let reader = run_py("dash");
    assert_eq!(reader["enroll"], json!([]), "{reader}");
    assert_eq!(reader["forget"], json!([]), "{reader}");
    let mut seen: Vec<&str> = reader["query"][0][1]["results"][0]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["identity"].as_str().unwrap())
        .collect();
    seen.sort();
    assert_eq!(seen, ["py0", "py2"], "{reader}");
    assert_eq!(reader["stats"][0][1]["store"]["embeddings"], 2, "{reader}");
    // A camera may not forget either; the CLI says what may have happened.
    let (ok, text) = client(&site, "cam1", &["forget", "--identity", "py0"], &endpoint);
    assert!(!ok && text.contains("access rules"), "{text}");
    // A certificate from another site's CA is refused at the handshake: no answer.
    let (ok, text) = client(&other, "admin", &["stats"], &endpoint);
    assert!(!ok && text.contains("no gallery answered"), "{text}");
    // A plaintext client reaches nothing; a plaintext endpoint beside TLS files is refused before connecting.
    let (ok, text) =
        reid_gallery(&["stats", "--name", "tls", "--timeout", "1", "--connect", &format!("tcp/127.0.0.1:{port}")]);
    assert!(!ok && text.contains("no gallery answered"), "{text}");
    let (ok, text) = client(&site, "admin", &["stats"], &format!("tcp/127.0.0.1:{port}"));
    assert!(!ok && text.contains("plaintext but TLS is configured"), "{text}");
    // Nothing the reader or the camera tried changed the store.
    let (ok, text) = client(&site, "admin", &["stats"], &endpoint);
    assert!(ok && text.contains("\"embeddings\":2"), "{text}");
    server.kill();
}
