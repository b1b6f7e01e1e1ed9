//! Hand-built ONNX graphs, test images and an independent computation of their embeddings, shared by the
//! engine tests.
#![allow(dead_code)]

use image::RgbImage;
use image::imageops::FilterType;
use reid_eval::progress::NoProgress;
use reid_runtime::engine::{EmbedOptions, Engine, embed_paths, list_images};
use reid_runtime::onnx_graph::{self, Attr, Graph, pb};
use std::path::{Path, PathBuf};

pub const H: u32 = 8;
pub const W: u32 = 4;
pub const D: usize = 5;
pub const MEAN: [f32; 3] = [0.5, 0.25, 0.125];
pub const STD: [f32; 3] = [0.25, 0.5, 2.0];

pub fn weights() -> Vec<f32> {
    (0..3 * D).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.3).collect()
}

/// `graph`'s model with `metadata`, serialised.
pub fn model(
    graph: Graph,
    inputs: Vec<pb::ValueInfoProto>,
    outputs: Vec<pb::ValueInfoProto>,
    metadata: &[(&str, &str)],
) -> Vec<u8> {
    onnx_graph::encode(&graph.model(inputs, outputs, onnx_graph::metadata(metadata)))
}

/// `input [N,3,H,W] -> GlobalAveragePool -> Flatten -> MatMul(weights [3, D]) -> embedding [N, D]`.
pub fn pool_matmul_model(metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut g = Graph::default();
    g.op_into("GlobalAveragePool", &["input"], "pooled", vec![]);
    g.op_into("Flatten", &["pooled"], "flat", vec![("axis", Attr::Int(1))]);
    let w = g.weight("w", &[3, D], &weights());
    g.op_into("MatMul", &["flat", &w], "embedding", vec![]);
    onnx_graph::encode(&g.finish(
        ("input", [3, H as usize, W as usize]),
        ("embedding", D),
        onnx_graph::metadata(metadata),
    ))
}

pub fn full_metadata() -> Vec<(&'static str, &'static str)> {
    vec![
        ("reid.format", "1"),
        ("reid.input_height", "8"),
        ("reid.input_width", "4"),
        ("reid.color", "RGB"),
        ("reid.pixel_scale", "0.00392156862745098"),
        ("reid.pixel_mean", "0.5,0.25,0.125"),
        ("reid.pixel_std", "0.25,0.5,2"),
        ("reid.feat_dim", "5"),
        ("reid.l2_normalized", "false"),
        ("reid.resize", "bilinear"),
    ]
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A deterministic image of `w x h` that differs with `seed`.
pub fn image(seed: u32, w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |k: u32| ((x * 37 + y * 11 + seed * 53 + k * 97) % 256) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

/// Writes `n` PNG images of assorted sizes (some already at the model size) under `dir/a` and `dir/b/c`.
pub fn write_images(dir: &Path, n: u32) -> Vec<(PathBuf, RgbImage)> {
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::create_dir_all(dir.join("b/c")).unwrap();
    (0..n)
        .map(|i| {
            let (w, h) = if i % 3 == 0 { (W, H) } else { (3 + i % 7, 5 + i % 11) };
            let img = image(i, w, h);
            let sub = if i % 2 == 0 { "a" } else { "b/c" };
            let path = dir.join(sub).join(format!("img_{i:03}.png"));
            img.save(&path).unwrap();
            (path, img)
        })
        .collect()
}

/// The expected embedding, computed independently of the runtime.
pub fn hand_embedding(img: &RgbImage, bgr: bool, flip: bool) -> Vec<f32> {
    let resized =
        if img.dimensions() == (W, H) { img.clone() } else { image::imageops::resize(img, W, H, FilterType::Triangle) };
    let pooled = |mirror: bool| -> [f32; 3] {
        let mut sums = [0.0f64; 3];
        for y in 0..H {
            for x in 0..W {
                let xx = if mirror { W - 1 - x } else { x };
                let p = resized.get_pixel(xx, y);
                for c in 0..3 {
                    let src = if bgr { 2 - c } else { c };
                    let v = f32::from(p[src]) / 255.0;
                    sums[c] += f64::from((v - MEAN[c]) / STD[c]);
                }
            }
        }
        sums.map(|s| (s / f64::from(H * W)) as f32)
    };
    let w = weights();
    let embed = |p: [f32; 3]| -> Vec<f32> { (0..D).map(|d| (0..3).map(|c| p[c] * w[c * D + d]).sum()).collect() };
    let mut e = embed(pooled(false));
    if flip {
        let m = embed(pooled(true));
        e = e.iter().zip(&m).map(|(a, b)| 0.5 * (a + b)).collect();
    }
    let norm = e.iter().map(|v| v * v).sum::<f32>().sqrt();
    e.iter().map(|v| v / norm).collect()
}

pub fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < 1e-5, "{what}[{i}]: {a} vs {b}");
    }
}

/// The preprocessed `3 x H x W` input of `img` (RGB), computed independently of the runtime.
pub fn hand_input(img: &RgbImage) -> Vec<f32> {
    let resized =
        if img.dimensions() == (W, H) { img.clone() } else { image::imageops::resize(img, W, H, FilterType::Triangle) };
    let mut out = vec![0.0f32; (3 * H * W) as usize];
    for c in 0..3usize {
        for y in 0..H {
            for x in 0..W {
                let v = f32::from(resized.get_pixel(x, y)[c]) / 255.0;
                out[c * (H * W) as usize + (y * W + x) as usize] = (v - MEAN[c]) / STD[c];
            }
        }
    }
    out
}

/// The raw (not normalised) model output for one preprocessed input.
pub fn raw_embedding(input: &[f32]) -> Vec<f32> {
    let plane = (H * W) as usize;
    let pooled: Vec<f32> =
        (0..3).map(|c| input[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32).collect();
    let w = weights();
    (0..D).map(|d| (0..3).map(|c| pooled[c] * w[c * D + d]).sum()).collect()
}

/// Embeds 37 images of assorted sizes with the engine `open` gives for the test model, `batch_size` at a time
/// (flip-averaged when `flip`), and checks every row against [`hand_embedding`].
pub fn check_embeddings(open: impl Fn(&Path) -> Box<dyn Engine>, batch_size: usize, flip: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let images = write_images(&dir.path().join("images"), 37);
    let engine = open(&path);
    let paths = list_images(&dir.path().join("images")).unwrap();
    assert_eq!(paths.len(), images.len());
    let options = EmbedOptions { batch_size, flip, l2_normalize: true };
    let m = embed_paths(engine.as_ref(), &paths, &options, &NoProgress).unwrap();
    assert_eq!((m.rows(), m.cols()), (paths.len(), D));
    for (row, p) in paths.iter().enumerate() {
        let img = &images.iter().find(|(q, _)| q == p).unwrap().1;
        assert_close(m.row(row), &hand_embedding(img, false, flip), &format!("{} (batch {batch_size})", p.display()));
    }
}
