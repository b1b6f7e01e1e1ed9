//! `reidembed` throughput on 1920x1080 NV12 frames with 10 person boxes each, and the element's own cost
//! (colour conversion, crop, resize, normalisation, metas) as a share of the engine's time, both measured in the
//! same run by the element's `stats-*` properties. Prints numbers; asserts nothing about speed.
//!
//! ```sh
//! cargo bench -p gst-reid                    # tract
//! cargo bench -p gst-reid --features ort     # + ort-cpu when ~/.local/share/reid/onnxruntime/lib/libonnxruntime.so exists
//! ```
//!
//! The model: `REID_BENCH_MODEL` if set (`stand-in` for the stand-in below), else the quick-start model `results/quickstart/export/model.onnx`
//! (`scripts/quickstart.sh`), else a hand-built stand-in (three strided 3x3 convolutions, global pooling, a
//! 256-wide projection at 256x128 input; about 80 M multiply-adds per crop) written to a temporary folder.
//! `REID_BENCH_FRAMES` sets the measured frames (default 30, after 3 warm-up frames).

use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoRegionOfInterestMeta;
use prost::Message;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tract_onnx::pb;

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const BOXES: u32 = 10;

fn value_info(name: &str, dims: &[Option<i64>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = |d: &Option<i64>| Dimension {
        value: Some(match d {
            Some(v) => Value::DimValue(*v),
            None => Value::DimParam("N".to_owned()),
        }),
        ..Default::default()
    };
    pb::ValueInfoProto {
        name: name.to_owned(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim: dims.iter().map(dim).collect() }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn ints(name: &str, values: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.to_owned(),
        r#type: pb::attribute_proto::AttributeType::Ints as i32,
        ints: values.to_vec(),
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.to_owned(),
        name: output.to_owned(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_owned()],
        attribute,
        ..Default::default()
    }
}

fn tensor(name: &str, dims: &[i64]) -> pb::TensorProto {
    let n: i64 = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|i| ((i * 7919 + 13) % 2003) as f32 / 1001.5 - 1.0).map(|v| v * 0.1).collect();
    pb::TensorProto {
        name: name.to_owned(),
        dims: dims.to_vec(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// The stand-in model (see the module documentation), with `reid.*` preprocessing metadata.
fn stand_in_model() -> Vec<u8> {
    let conv = |input: &str, w: &str, b: &str, out: &str| {
        node(
            "Conv",
            &[input, w, b],
            out,
            vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
        )
    };
    let graph = pb::GraphProto {
        name: "stand-in-reid".to_owned(),
        node: vec![
            conv("input", "w1", "b1", "c1"),
            node("Relu", &["c1"], "r1", vec![]),
            conv("r1", "w2", "b2", "c2"),
            node("Relu", &["c2"], "r2", vec![]),
            conv("r2", "w3", "b3", "c3"),
            node("Relu", &["c3"], "r3", vec![]),
            node("GlobalAveragePool", &["r3"], "pool", vec![]),
            node("Flatten", &["pool"], "flat", vec![]),
            node("MatMul", &["flat", "proj"], "embedding", vec![]),
        ],
        initializer: vec![
            tensor("w1", &[32, 3, 3, 3]),
            tensor("b1", &[32]),
            tensor("w2", &[64, 32, 3, 3]),
            tensor("b2", &[64]),
            tensor("w3", &[128, 64, 3, 3]),
            tensor("b3", &[128]),
            tensor("proj", &[128, 256]),
        ],
        input: vec![value_info("input", &[None, Some(3), Some(256), Some(128)])],
        output: vec![value_info("embedding", &[None, Some(256)])],
        ..Default::default()
    };
    let metadata = [
        ("reid.format", "1"),
        ("reid.input_height", "256"),
        ("reid.input_width", "128"),
        ("reid.color", "RGB"),
        ("reid.pixel_mean", "0.485,0.456,0.406"),
        ("reid.pixel_std", "0.229,0.224,0.225"),
        ("reid.feat_dim", "256"),
        ("reid.l2_normalized", "false"),
        ("reid.resize", "bilinear"),
    ];
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 17 }],
        producer_name: "gst-reid-bench".to_owned(),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| pb::StringStringEntryProto { key: k.to_string(), value: v.to_string() })
            .collect(),
        ..Default::default()
    }
    .encode_to_vec()
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
    let names = gstreid::embed::STATS_PROPERTIES;
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
            checksum += gstreid::prep::preprocess(&crop, &cfg)[0];
            prep += t.elapsed().as_nanos();
        }
    }
    println!(
        "stages on one thread: crop + NV12->RGB {:.2} ns/pixel ({:.2} ms per frame of {pixels} box pixels), \
         resize + normalise to {}x{} {:.1} us per crop (checksum {checksum:.1})",
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
            println!("ort-cpu: skipped (a build without feature `ort`: cargo bench -p gst-reid --features ort)")
        }
        Some(lib) => {
            if measure(&model, "ort-cpu", &format!("ort-library={}", lib.display()), frames).is_none() {
                println!("ort-cpu: could not start");
            }
        }
    }
}
