//! `reidembed` throughput on 1920x1080 NV12 frames (caps without colorimetry, so GStreamer's default for HD,
//! BT.709 limited range) with 10 person boxes each, and the element's own cost
//! (colour conversion, crop, resize, normalisation, metas) as a share of the engine's time, both measured in the
//! same run by the element's `stats-*` properties. Prints numbers; asserts nothing about speed.
//!
//! ```sh
//! cargo bench -p gst-reid                    # tract
//! cargo bench -p gst-reid                    # + ort-cpu when ~/.local/share/reid/onnxruntime/lib/libonnxruntime.so exists
//! ```
//!
//! The model: `REID_BENCH_MODEL` if set (`stand-in` for the stand-in below), else the quick-start model `results/quickstart/export/model.onnx`
//! (`scripts/quickstart.sh`), else a hand-built stand-in (three strided 3x3 convolutions, global pooling, a
//! 256-wide projection at 256x128 input; about 80 M multiply-adds per crop) written to a temporary folder.
//! `REID_BENCH_FRAMES` sets the measured frames (default 30, after 3 warm-up frames).

use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoRegionOfInterestMeta;
use reid_runtime::onnx_graph::{self, Attr, Graph};
use std::path::{Path, PathBuf};
use std::time::Instant;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const BOXES: u32 = 10;

/// Deterministic weights in `-0.1..0.1`.
fn weights(n: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 7919 + 13) % 2003) as f32 / 1001.5 - 1.0) * 0.1).collect()
}

/// The stand-in model (see the module documentation), with `reid.*` preprocessing metadata.
fn stand_in_model() -> Vec<u8> {
    let mut g = Graph::default();
    let mut x = "input".to_owned();
    for (i, (cin, cout)) in [(3, 32), (32, 64), (64, 128)].into_iter().enumerate() {
        let w = g.weight(&format!("w{i}"), &[cout, cin, 3, 3], &weights(cout * cin * 9));
        let b = g.weight(&format!("b{i}"), &[cout], &weights(cout));
        let attrs = vec![
            ("kernel_shape", Attr::Ints(vec![3, 3])),
            ("strides", Attr::Ints(vec![2, 2])),
            ("pads", Attr::Ints(vec![1, 1, 1, 1])),
        ];
        let c = g.op("Conv", &[&x, &w, &b], attrs);
        x = g.op("Relu", &[&c], vec![]);
    }
    let pool = g.op("GlobalAveragePool", &[&x], vec![]);
    let flat = g.op("Flatten", &[&pool], vec![]);
    let proj = g.weight("proj", &[128, 256], &weights(128 * 256));
    g.op_into("MatMul", &[&flat, &proj], "embedding", vec![]);
    let metadata = onnx_graph::metadata(&[
        ("reid.format", "1"),
        ("reid.input_height", "256"),
        ("reid.input_width", "128"),
        ("reid.color", "RGB"),
        ("reid.pixel_mean", "0.485,0.456,0.406"),
        ("reid.pixel_std", "0.229,0.224,0.225"),
        ("reid.feat_dim", "256"),
        ("reid.l2_normalized", "false"),
        ("reid.resize", "bilinear"),
    ]);
    onnx_graph::encode(&g.finish(("input", [3, 256, 128]), ("embedding", 256), metadata))
}

/// The model to measure and how to describe it.
fn model(dir: &Path) -> (PathBuf, String) {
    let chosen = std::env::var_os("REID_BENCH_MODEL");
    if let Some(path) = chosen.filter(|p| p != "stand-in") {
        let path = PathBuf::from(path);
        return (path.clone(), format!("{} (REID_BENCH_MODEL)", path.display()));
    }
    let quickstart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/quickstart/export/model.onnx");
    if quickstart.is_file() && std::env::var_os("REID_BENCH_MODEL").is_none() {
        return (quickstart, "the quick-start model (results/quickstart/export/model.onnx)".to_owned());
    }
    let path = dir.join("stand-in.onnx");
    std::fs::write(&path, stand_in_model()).expect("writing the stand-in model");
    let why = if quickstart.is_file() { "REID_BENCH_MODEL=stand-in" } else { "no quick-start model found" };
    (path, format!("a stand-in conv net, 256x128 input ({why})"))
}

/// A deterministic 1920x1080 NV12 frame, laid out as GStreamer lays it out.
fn nv12_frame() -> gst::Buffer {
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, WIDTH, HEIGHT).build().unwrap();
    let mut data = vec![0u8; info.size()];
    let (s0, s1) = (info.stride()[0] as usize, info.stride()[1] as usize);
    let (o0, o1) = (info.offset()[0], info.offset()[1]);
    for y in 0..HEIGHT as usize {
        for x in 0..WIDTH as usize {
            data[o0 + y * s0 + x] = (16 + (x * 7 + y * 3 + (x * y) % 31) % 220) as u8;
        }
    }
    for y in 0..(HEIGHT / 2) as usize {
        for x in 0..WIDTH as usize {
            data[o1 + y * s1 + x] = (16 + (x * 13 + y * 5) % 225) as u8;
        }
    }
    gst::Buffer::from_mut_slice(data)
}

/// Ten person-shaped boxes, 180 to 540 pixels high, spread over the frame.
fn boxes() -> Vec<(u32, u32, u32, u32)> {
    (0..BOXES)
        .map(|i| {
            let h = 180 + (i * 40) % 361;
            let w = h * 2 / 5;
            let x = (i * 181) % (WIDTH - w);
            let y = (i * 97) % (HEIGHT - h);
            (x, y, w, h)
        })
        .collect()
}

fn stat(element: &gst::Element, name: &str) -> u64 {
    element.property::<u64>(name)
}

/// Measures one engine; `None` when it cannot start.
fn measure(model: &Path, engine: &str, extra: &str, frames: u32) -> Option<()> {
    let line = format!("reidembed model={} engine={engine} {extra}", model.display());
    // The harness asserts that its element starts: check first that this one does.
    let probe = gst::Pipeline::new();
    probe.add(&gst::parse::bin_from_description(&line, false).ok()?).ok()?;
    let starts = probe.set_state(gst::State::Paused).is_ok();
    let _ = probe.set_state(gst::State::Null);
    if !starts {
        println!("{engine}: the element does not start (model or engine unavailable)");
        return None;
    }
    let mut h = Harness::new_parse(&line);
    h.set_src_caps_str(&format!("video/x-raw,format=NV12,width={WIDTH},height={HEIGHT},framerate=30/1"));
    let element = h.find_element("reidembed")?;
    let base = nv12_frame();
    let rects = boxes();
    let push = |h: &mut Harness| -> Result<(), gst::FlowError> {
        let mut buffer = base.copy();
        {
            let b = buffer.get_mut().unwrap();
            for r in &rects {
                VideoRegionOfInterestMeta::add(b, "person", *r);
            }
        }
        let out = h.push_and_pull(buffer).map_err(|_| gst::FlowError::Error)?;
        assert_eq!(out.iter_meta::<VideoRegionOfInterestMeta>().count(), BOXES as usize);
        Ok(())
    };
    for _ in 0..3 {
        if let Err(e) = push(&mut h) {
            println!("{engine}: could not run ({e:?})");
            return None;
        }
    }
    let names = gstreid::reidembed::STATS_PROPERTIES;
    let before: Vec<u64> = names.iter().map(|n| stat(&element, n)).collect();
    let started = Instant::now();
    for _ in 0..frames {
        push(&mut h).ok()?;
    }
    let wall = started.elapsed().as_secs_f64();
    let d: Vec<u64> = names.iter().zip(&before).map(|(n, b)| stat(&element, n) - b).collect();
    let (n, crops, total, engine_ns, prepare, convert, resize) = (d[0], d[1], d[2], d[3], d[4], d[5], d[6]);
    let per_frame = |ns: u64| ns as f64 / n.max(1) as f64 / 1e6;
    let own = total.saturating_sub(engine_ns);
    println!(
        "{:<28} {:>7.2} frames/s {:>7.1} crops/s | per frame: engine {:>8.2} ms, element {:>6.2} ms \
         (preparing batches {:.2} ms wall; CPU summed over threads: convert+crop {:.2} ms, resize+normalise {:.2} ms) \
         | element / engine = {:.2}%",
        element.property::<Option<String>>("engine-description").unwrap_or_default(),
        frames as f64 / wall,
        crops as f64 / wall,
        per_frame(engine_ns),
        per_frame(own),
        per_frame(prepare),
        per_frame(convert),
        per_frame(resize),
        100.0 * own as f64 / engine_ns.max(1) as f64
    );
    Some(())
}

/// The element's stages alone, on one thread: crop + NV12 conversion per pixel, preprocessing per crop.
fn stages(model: &Path) {
    let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, WIDTH, HEIGHT).build().unwrap();
    let buffer = nv12_frame();
    let map = buffer.map_readable().unwrap();
    let data = map.as_slice();
    let (o1, s0, s1) = (info.offset()[1], info.stride()[0] as usize, info.stride()[1] as usize);
    let view = gstreid::frame::FrameView {
        layout: gstreid::frame::PixelLayout::Nv12,
        width: WIDTH,
        height: HEIGHT,
        planes: [&data[..o1], &data[o1..], &[]],
        strides: [s0, s1, 0],
        // What the element uses for these caps (no colorimetry at 1080 lines: GStreamer's default, BT.709).
        colour: gstreid::colorimetry::resolve_info(&info).colour,
    };
    view.validate().unwrap();
    let Ok(opened) = reid_runtime::engine::TractEngine::open(model, None) else { return };
    let cfg = reid_runtime::engine::Engine::info(&opened).preprocess.clone();
    let areas: Vec<_> =
        boxes().into_iter().map(|(x, y, width, height)| gstreid::frame::PixelBox { x, y, width, height }).collect();
    let pixels: u64 = areas.iter().map(|a| u64::from(a.width) * u64::from(a.height)).sum();
    let rounds = 20;
    let (mut convert, mut prep) = (0u128, 0u128);
    let mut checksum = 0.0f32;
    for _ in 0..rounds {
        for a in &areas {
            let t = Instant::now();
            let crop = view.crop_rgb(*a);
            convert += t.elapsed().as_nanos();
            let t = Instant::now();
            checksum += reid_runtime::engine::preprocess::preprocess_image(&crop, &cfg)[0];
            prep += t.elapsed().as_nanos();
        }
    }
    println!(
        "stages on one thread ({}): crop + NV12->RGB {:.2} ns/pixel ({:.2} ms per frame of {pixels} box pixels), \
         resize + normalise to {}x{} {:.1} us per crop (checksum {checksum:.1})",
        view.colour,
        convert as f64 / (rounds as f64 * pixels as f64),
        convert as f64 / rounds as f64 / 1e6,
        cfg.width,
        cfg.height,
        prep as f64 / (rounds as f64 * areas.len() as f64) / 1e3
    );
}

fn main() {
    gst::init().unwrap();
    gstreid::register_static().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (model, description) = model(dir.path());
    let frames: u32 = std::env::var("REID_BENCH_FRAMES").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    println!(
        "reidembed on {WIDTH}x{HEIGHT} NV12, {BOXES} person boxes per frame, {frames} frames, model: {description}, \
         {} CPU threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    stages(&model);
    measure(&model, "tract", "", frames);
    let ort = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".local/share/reid/onnxruntime/lib/libonnxruntime.so"))
        .filter(|p| p.is_file());
    match ort {
        None => println!("ort-cpu: skipped (no ~/.local/share/reid/onnxruntime/lib/libonnxruntime.so)"),
        Some(_) if !cfg!(feature = "ort") => {
            println!("ort-cpu: skipped (a build without feature `ort`: cargo bench -p gst-reid with default features)")
        }
        Some(lib) => {
            if measure(&model, "ort-cpu", &format!("ort-library={}", lib.display()), frames).is_none() {
                println!("ort-cpu: could not start");
            }
        }
    }
}
