//! The plugin as GStreamer loads it from disk: the `gst-launch-1.0` binary runs
//! `reidsynthsrc ! reidembed ! reidpublish` with `GST_PLUGIN_PATH` at the cdylib this build produced, while a
//! Zenoh subscriber here counts the frame messages. Skipped (with a printed `SKIPPED`) without `gst-launch-1.0`.
//!
//! `cargo test` builds the package's library with all its crate types before the tests, so the cdylib of this
//! very build lies beside this test binary, `target/debug/deps/libgstreid.so` (cargo copies it up to
//! `target/debug/` only on `cargo build`). `deps/` holds other shared objects too (proc macros), so the test
//! links the plugin alone into a private folder and points `GST_PLUGIN_PATH` there.

use crate::common::*;
use gstreid::reidpublish::zenoh_config;
use reid_protocol::{NetConfig, decode_frame};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zenoh::Wait;

/// `name` found on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?).map(|dir| dir.join(name)).find(|p| p.is_file())
}

/// The cdylib of this build: `libgstreid.so` beside this test binary (`deps/`), else in the profile folder above.
fn plugin_library() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    [Some(deps), deps.parent()].into_iter().flatten().map(|d| d.join("libgstreid.so")).find(|p| p.is_file())
}

/// A private folder holding only the plugin (a hard link, else a copy).
fn plugin_dir(library: &Path, dir: &Path) -> PathBuf {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let target = plugins.join("libgstreid.so");
    if std::fs::hard_link(library, &target).is_err() {
        std::fs::copy(library, &target).unwrap();
    }
    plugins
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs `gst-launch-1.0 args` with the plugin folder, a private registry, and a deadline.
fn gst_launch(launch: &Path, plugins: &Path, registry: &Path, args: &[String]) -> (bool, String) {
    let mut child = Command::new(launch)
        .args(args)
        .env("GST_PLUGIN_PATH", plugins)
        .env("GST_REGISTRY", registry)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (status.is_some_and(|s| s.success()), text)
}

#[test]
fn gst_launch_runs_the_plugin_from_disk() {
    let Some(launch) = on_path("gst-launch-1.0") else {
        println!("SKIPPED: gst-launch-1.0 is not on PATH");
        return;
    };
    let library = plugin_library().expect("libgstreid.so is missing beside the test binary: cargo test builds it");
    init();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(&library, dir.path());
    println!("plugin: {}", library.display());
    let model = write_model(dir.path());
    let registry = dir.path().join("registry.bin");

    // gst-inspect finds the three elements in the shared library.
    let inspect = launch.with_file_name("gst-inspect-1.0");
    if inspect.is_file() {
        let out = Command::new(&inspect)
            .arg("reid")
            .env("GST_PLUGIN_PATH", &plugins)
            .env("GST_REGISTRY", &registry)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for element in ["reidembed", "reidsynthsrc", "reidpublish"] {
            assert!(text.contains(element), "gst-inspect-1.0 reid does not list {element}:\n{text}");
        }
    }

    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let net = NetConfig { listen: vec![endpoint.clone()], ..Default::default() };
    let session = zenoh::open(zenoh_config(&net).unwrap()).wait().unwrap();
    let subscriber = session.declare_subscriber("reid/embeddings/**").wait().unwrap();

    // Live at 30 fps: 3 s of frames, so Zenoh has connected and learnt of the subscriber well before the end.
    const FRAMES: u64 = 90;
    let pipeline = format!(
        "reidsynthsrc is-live=true fps=30 num-buffers={FRAMES} width=160 height=120 persons=4 seed=5 camera=door \
         ! reidembed model={} engine=tract min-size=4 ! reidpublish camera=door connect={endpoint}",
        model.display()
    );
    let args: Vec<String> =
        std::iter::once("-q".to_owned()).chain(pipeline.split_whitespace().map(str::to_owned)).collect();
    let (ok, output) = gst_launch(&launch, &plugins, &registry, &args);
    assert!(ok, "gst-launch-1.0 failed:\n{output}");

    let mut frames = Vec::new();
    let mut detections = 0;
    while let Ok(Some(sample)) = subscriber.recv_timeout(Duration::from_millis(1000)) {
        assert_eq!(sample.key_expr().as_str(), "reid/embeddings/door");
        let m = decode_frame(&sample.payload().to_bytes(), D).unwrap();
        assert_eq!(m.camera, "door");
        assert_eq!(m.model.as_deref().unwrap_or("tiny-reid.onnx"), "tiny-reid.onnx");
        for d in &m.detections {
            assert!(d.track_id.is_some());
            let norm: f32 = d.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "norm {norm}");
        }
        detections += m.detections.len();
        frames.push(m.frame.unwrap());
    }
    println!("gst-launch-1.0: {} of {FRAMES} frame messages received, {detections} detections", frames.len());
    // The frame numbers are the source's offsets, each at most once, and the last frames (sent long after the
    // connection) all arrived.
    let mut unique = frames.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), frames.len(), "a frame arrived twice");
    assert!(frames.iter().all(|&f| f < FRAMES), "{frames:?}");
    for f in FRAMES - 30..FRAMES {
        assert!(frames.contains(&f), "frame {f} never arrived ({} received)", frames.len());
    }
    assert!(detections > 0, "no person was published");
    drop(subscriber);
    session.close().wait().unwrap();
}
