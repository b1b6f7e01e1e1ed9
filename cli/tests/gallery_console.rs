//! `reid gallery serve --http` as a process: search by image with a real ONNX model on tract (a hand-built
//! pool-and-project network whose embeddings are computed here independently), a non-image refused with a JSON
//! error, admin actions refused without the operator token from `--http-token-file`, and a non-loopback address
//! refused without one.
#![cfg(feature = "gallery")]

use reid_runtime::onnx_graph::{self, Attr, Graph};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const D: usize = 4;
const H: u32 = 16;
const W: u32 = 8;
const MEAN: [f32; 3] = [0.5, 0.5, 0.5];
const STD: [f32; 3] = [0.25, 0.25, 0.25];

/// The projection `[3, D]` of the model: the mean colour to a 4-d embedding.
fn weights() -> Vec<f32> {
    vec![1.0, 0.2, -0.3, 0.1, -0.4, 1.0, 0.3, 0.2, 0.1, -0.2, 1.0, 0.5]
}

/// `input [N,3,H,W] -> GlobalAveragePool -> Flatten -> MatMul(weights) -> embedding [N, D]`, with the `reid.*`
/// metadata `reid export` writes.
fn write_model(path: &Path) {
    let mut g = Graph::default();
    g.op_into("GlobalAveragePool", &["input"], "pooled", vec![]);
    g.op_into("Flatten", &["pooled"], "flat", vec![("axis", Attr::Int(1))]);
    let w = g.weight("w", &[3, D], &weights());
    g.op_into("MatMul", &["flat", &w], "embedding", vec![]);
    let (h, w_) = (H.to_string(), W.to_string());
    let meta = onnx_graph::metadata(&[
        ("reid.format", "1"),
        ("reid.input_height", &h),
        ("reid.input_width", &w_),
        ("reid.color", "RGB"),
        ("reid.pixel_scale", "0.00392156862745098"),
        ("reid.pixel_mean", "0.5,0.5,0.5"),
        ("reid.pixel_std", "0.25,0.25,0.25"),
        ("reid.feat_dim", "4"),
        ("reid.l2_normalized", "false"),
        ("reid.resize", "bilinear"),
    ]);
    let model = g.finish(("input", [3, H as usize, W as usize]), ("embedding", D), meta);
    std::fs::write(path, onnx_graph::encode(&model)).unwrap();
}

/// The model's embedding of a crop of one colour, by hand: normalise the colour, project.
fn embedding_of(rgb: [u8; 3]) -> Vec<f32> {
    let v: Vec<f32> = (0..3).map(|c| (rgb[c] as f32 / 255.0 - MEAN[c]) / STD[c]).collect();
    let w = weights();
    (0..D).map(|j| (0..3).map(|c| v[c] * w[c * D + j]).sum()).collect()
}

/// A PNG crop of one colour (any size: the server resizes it).
fn png(rgb: [u8; 3], w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `reid gallery serve` with `extra`; returns the process and the console's address from its output.
fn serve(db: &Path, extra: &[&str]) -> (Serve, String) {
    let zenoh = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_reid"))
        .args(["gallery", "serve", "--db", db.to_str().unwrap(), "--dim", &D.to_string(), "--name", "console"])
        .args(["--listen", &format!("tcp/127.0.0.1:{zenoh}"), "--threshold", "0.9"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut addr = None;
    loop {
        match lines.next() {
            Some(Ok(line)) if line == "ready" => break,
            Some(Ok(line)) => {
                if let Some(a) = line.strip_prefix("console on http://") {
                    addr = Some(a.trim_end_matches('/').to_owned());
                }
            }
            _ => panic!("reid gallery serve exited before it was ready"),
        }
        assert!(Instant::now() < deadline, "not ready in 60 s");
    }
    (Serve(child), addr.expect("a `console on` line"))
}

fn post(addr: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, Value) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
}

#[test]
fn serve_http_searches_by_image_with_a_real_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("colour.onnx");
    write_model(&model);
    let token_file = dir.path().join("console.token");
    let (_server, addr) = serve(
        &dir.path().join("g.redb"),
        &[
            "--http",
            "127.0.0.1:0",
            "--http-token-file",
            token_file.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--model-engine",
            "tract",
        ],
    );
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_owned();
    assert_eq!(token.len(), 64);
    let colours = [("red", [220u8, 30, 30]), ("green", [30, 200, 40]), ("blue", [20, 40, 210])];
    let items: Vec<Value> = colours
        .iter()
        .map(|(who, rgb)| json!({ "identity": who, "camera": "c1", "embedding": embedding_of(*rgb) }))
        .collect();
    let enrol = serde_json::to_vec(&json!({ "items": items })).unwrap();
    // Without the token: refused, nothing enrolled.
    let (status, body) = post(&addr, "/api/enroll", None, &enrol);
    assert_eq!((status, body["field"].as_str()), (401, Some("authorization")), "{body}");
    let (status, body) = post(&addr, "/api/enroll", Some(&token), &enrol);
    assert_eq!(status, 200, "{body}");
    // Each colour's crop (a different size than the model's input, a slightly different shade) finds its identity.
    for (who, rgb) in colours {
        let shade = rgb.map(|c| c.saturating_add(8));
        let (status, body) = post(&addr, "/api/search?k=3", None, &png(shade, 40, 90));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["result"]["matches"][0]["identity"], who, "{body}");
        assert_eq!(body["result"]["best_identity"], who, "{body}");
        assert!(body["model"].as_str().unwrap().contains("colour.onnx"), "{body}");
    }
    // The exact crop scores 1 against its enrolled embedding (the model and the hand computation agree).
    let (_, body) = post(&addr, "/api/search?k=1", None, &png([220, 30, 30], W, H));
    let s = body["result"]["matches"][0]["score"].as_f64().unwrap();
    assert!((s - 1.0).abs() < 1e-5, "{body}");
    let (status, body) = post(&addr, "/api/search", None, b"GIF89a... truncated nonsense");
    assert_eq!((status, body["field"].as_str()), (400, Some("image")), "{body}");
    let (status, body) = post(&addr, "/api/search", None, b"plain text");
    assert_eq!((status, body["field"].as_str()), (400, Some("image")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("not an image"), "{body}");
}

#[test]
fn serve_http_refuses_a_network_address_without_a_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_reid"))
        .args(["gallery", "serve", "--db", dir.path().join("g.redb").to_str().unwrap(), "--dim", "4"])
        .args(["--listen", "tcp/127.0.0.1:0", "--http", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a loopback address") && err.contains("--http-token-file"), "{err}");
}
