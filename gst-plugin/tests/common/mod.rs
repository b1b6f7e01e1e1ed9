//! Shared test helpers: plugin registration, a hand-built ONNX model (the runtime tests' approach), frames with
//! ROI metas, and the embedding of a crop computed by hand through the runtime's own public functions.
#![allow(dead_code)]

use gst_video::VideoRegionOfInterestMeta;
use image::RgbImage;
use reid_runtime::engine::preprocess::preprocess_image;
use reid_runtime::engine::{Engine, TractEngine};
use reid_runtime::onnx_graph::{self, Attr, Graph};
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Model input height.
pub const H: u32 = 16;
/// Model input width.
pub const W: u32 = 8;
/// Embedding size.
pub const D: usize = 8;

/// The test-only fake DeepStream library (`reid-fake-deepstream`'s cdylib, built by `cargo test` because it is a
/// dev-dependency): the newest `libreid_fake_deepstream*.so` beside this test binary (target/<profile>/deps), or
/// `REID_FAKE_DEEPSTREAM` when set.
pub fn fake_deepstream_path() -> PathBuf {
    if let Some(path) = std::env::var_os("REID_FAKE_DEEPSTREAM") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let mut candidates: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libreid_fake_deepstream") && name.ends_with(".so")
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, p)| p).unwrap_or_else(|| panic!("no libreid_fake_deepstream*.so in {}", dir.display()))
}

/// Initialises GStreamer and registers the plugin once; every element of this test binary sees the fake
/// DeepStream library (ROI tests are unaffected: their buffers carry no batch meta).
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        assert!(gstreid::deepstream::use_library(fake_deepstream_path()), "DeepStream was loaded before init()");
        gst::init().unwrap();
        gstreid::register_static().unwrap();
    });
}

/// Deterministic weights in `-1..1`.
fn weights(n: usize) -> Vec<f32> {
    (0..n).map(|i| (((i * 7919 + 13) % 2003) as f32 / 1001.5) - 1.0).collect()
}

/// `input [N,3,H,W] -> Flatten -> MatMul(weights [3HW, D]) -> embedding [N, D]`: every pixel counts, so a crop
/// one pixel off gives another embedding. ImageNet preprocessing in the `reid.*` metadata, output not normalised.
pub fn model_bytes() -> Vec<u8> {
    model_bytes_with(true)
}

/// [`model_bytes`], with or without the `reid.*` metadata (third-party models carry none).
pub fn model_bytes_with(metadata: bool) -> Vec<u8> {
    let k = (3 * H * W) as usize;
    let mut g = Graph::default();
    g.op_into("Flatten", &["input"], "flat", vec![("axis", Attr::Int(1))]);
    let w = g.weight("w", &[k, D], &weights(k * D));
    g.op_into("MatMul", &["flat", &w], "embedding", vec![]);
    let metadata = if metadata { reid_metadata(&[]) } else { Vec::new() };
    onnx_graph::encode(&g.finish(("input", [3, H as usize, W as usize]), ("embedding", D), metadata))
}

/// Cameras of [`camera_model_bytes`]'s side information table.
pub const CAMERAS: usize = 3;

/// [`model_bytes`] with a camera input (TransReID SIE's interface): `embedding = flat @ w + table[camera]`, the
/// int64 input `camera` `[N]` named by `reid.camera_input`, [`CAMERAS`] rows (`reid.sie_cameras`).
pub fn camera_model_bytes() -> Vec<u8> {
    let k = (3 * H * W) as usize;
    let mut g = Graph::default();
    g.op_into("Flatten", &["input"], "flat", vec![("axis", Attr::Int(1))]);
    let w = g.weight("w", &[k, D], &weights(k * D));
    g.op_into("MatMul", &["flat", &w], "feature", vec![]);
    let table: Vec<f32> = (0..CAMERAS * D).map(|i| (i as f32 - 11.0) * 0.5).collect();
    let t = g.weight("sie", &[CAMERAS, D], &table);
    g.op_into("Gather", &[&t, "camera"], "side", vec![("axis", Attr::Int(0))]);
    g.op_into("Add", &["feature", "side"], "embedding", vec![]);
    let cameras = CAMERAS.to_string();
    let metadata = reid_metadata(&[("reid.camera_input", "camera"), ("reid.sie_cameras", cameras.as_str())]);
    let inputs = vec![
        onnx_graph::value_info("input", &[None, Some(3), Some(H as usize), Some(W as usize)]),
        onnx_graph::int64_value_info("camera", &[None]),
    ];
    let outputs = vec![onnx_graph::value_info("embedding", &[None, Some(D)])];
    onnx_graph::encode(&g.model(inputs, outputs, metadata))
}

/// Writes [`camera_model_bytes`] into `dir`.
pub fn write_camera_model(dir: &Path) -> PathBuf {
    let path = dir.join("camera-reid.onnx");
    std::fs::write(&path, camera_model_bytes()).unwrap();
    path
}

/// [`hand_embedding`] for a model with a camera input, seen by camera `camera`.
pub fn hand_embedding_camera(engine: &TractEngine, crop: &RgbImage, camera: i64) -> Vec<f32> {
    let input = preprocess_image(crop, &engine.info().preprocess);
    let mut out = engine.embed_batch_cameras(&input, 1, Some(&[camera])).unwrap();
    reid_eval::distance::l2_normalize(&mut out);
    out
}

/// The test models' `reid.*` metadata (H x W input, ImageNet mean/std, D outputs, not normalised) plus `extra`.
fn reid_metadata(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let (h, w, d) = (H.to_string(), W.to_string(), D.to_string());
    let mut pairs = vec![
        ("reid.format", "1"),
        ("reid.input_height", h.as_str()),
        ("reid.input_width", w.as_str()),
        ("reid.color", "RGB"),
        ("reid.pixel_mean", "0.485,0.456,0.406"),
        ("reid.pixel_std", "0.229,0.224,0.225"),
        ("reid.feat_dim", d.as_str()),
        ("reid.l2_normalized", "false"),
        ("reid.resize", "bilinear"),
    ];
    pairs.extend_from_slice(extra);
    onnx_graph::metadata(&pairs)
}

/// Writes the test model into `dir`.
pub fn write_model(dir: &Path) -> PathBuf {
    let path = dir.join("tiny-reid.onnx");
    std::fs::write(&path, model_bytes()).unwrap();
    path
}

/// The runtime's embedding of `crop`, by hand: preprocess, one engine call, L2-normalise.
pub fn hand_embedding(engine: &TractEngine, crop: &RgbImage) -> Vec<f32> {
    let input = preprocess_image(crop, &engine.info().preprocess);
    let mut out = engine.embed_batch(&input, 1).unwrap();
    reid_eval::distance::l2_normalize(&mut out);
    out
}

/// Asserts two vectors agree within `1e-4`.
pub fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!((a - b).abs() < 1e-4, "{what}[{i}]: {a} vs {b}");
    }
}

/// A deterministic RGB picture of `w x h` (tightly packed rows).
pub fn rgb_picture(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |k: u32| ((x * 37 + y * 11 + seed * 53 + k * 97 + (x * y) % 17) % 256) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

/// An RGB video buffer holding `picture`, laid out as GStreamer lays out `RGB` of that size (rows padded to 4).
pub fn rgb_buffer(picture: &RgbImage) -> gst::Buffer {
    let info =
        gst_video::VideoInfo::builder(gst_video::VideoFormat::Rgb, picture.width(), picture.height()).build().unwrap();
    let stride = info.stride()[0] as usize;
    let mut data = vec![0u8; info.size()];
    for (y, row) in picture.as_raw().chunks_exact(3 * picture.width() as usize).enumerate() {
        data[y * stride..y * stride + row.len()].copy_from_slice(row);
    }
    gst::Buffer::from_mut_slice(data)
}

/// A deterministic NV12 frame: its planes (tightly packed: `w x h` luma, `2 * ceil(w/2) x ceil(h/2)` chroma).
pub struct Nv12 {
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
    /// Luma.
    pub y: Vec<u8>,
    /// Interleaved U, V.
    pub uv: Vec<u8>,
}

impl Nv12 {
    /// A frame with values in the limited range.
    pub fn new(w: u32, h: u32, seed: u32) -> Self {
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let y = (0..w * h).map(|i| (16 + (i * 7 + seed * 31 + (i / w) * 3) % 220) as u8).collect();
        let uv = (0..2 * cw * ch).map(|i| (16 + (i * 13 + seed * 17) % 225) as u8).collect();
        Nv12 { w, h, y, uv }
    }

    /// The GStreamer buffer of this frame, laid out by `VideoInfo`.
    pub fn buffer(&self) -> gst::Buffer {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, self.w, self.h).build().unwrap();
        let mut data = vec![0u8; info.size()];
        let (s0, s1) = (info.stride()[0] as usize, info.stride()[1] as usize);
        let (o0, o1) = (info.offset()[0], info.offset()[1]);
        let (w, cw) = (self.w as usize, 2 * self.w.div_ceil(2) as usize);
        for (r, row) in self.y.chunks_exact(w).enumerate() {
            data[o0 + r * s0..o0 + r * s0 + w].copy_from_slice(row);
        }
        for (r, row) in self.uv.chunks_exact(cw).enumerate() {
            data[o1 + r * s1..o1 + r * s1 + cw].copy_from_slice(row);
        }
        gst::Buffer::from_mut_slice(data)
    }

    /// The same frame as an `I420` buffer (U and V de-interleaved into their own planes).
    pub fn i420_buffer(&self) -> gst::Buffer {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, self.w, self.h).build().unwrap();
        let mut data = vec![0u8; info.size()];
        let w = self.w as usize;
        let cw = self.w.div_ceil(2) as usize;
        for (r, row) in self.y.chunks_exact(w).enumerate() {
            let o = info.offset()[0] + r * info.stride()[0] as usize;
            data[o..o + w].copy_from_slice(row);
        }
        for (r, row) in self.uv.chunks_exact(2 * cw).enumerate() {
            for plane in 1..3 {
                let o = info.offset()[plane] + r * info.stride()[plane] as usize;
                for (i, pair) in row.chunks_exact(2).enumerate() {
                    data[o + i] = pair[plane - 1];
                }
            }
        }
        gst::Buffer::from_mut_slice(data)
    }

    /// The RGB crop of `(x, y, w, h)`, converted by hand: BT.601 limited range in 16.16 fixed point, nearest
    /// chroma sample: the element's conversion of frames up to 576 lines whose caps carry no colorimetry
    /// (GStreamer's default for them; see `tests/colour.rs` for the other colorimetries).
    pub fn crop_rgb(&self, x0: u32, y0: u32, w: u32, h: u32) -> RgbImage {
        let cw = 2 * self.w.div_ceil(2);
        RgbImage::from_fn(w, h, |dx, dy| {
            let (x, y) = (x0 + dx, y0 + dy);
            let l = (i64::from(self.y[(y * self.w + x) as usize]) - 16) * 76_309;
            let c = ((y / 2) * cw + 2 * (x / 2)) as usize;
            let (u, v) = (i64::from(self.uv[c]) - 128, i64::from(self.uv[c + 1]) - 128);
            let q = |x: i64| ((x + 32_768) >> 16).clamp(0, 255) as u8;
            image::Rgb([q(l + 104_597 * v), q(l - 25_675 * u - 53_279 * v), q(l + 132_201 * u)])
        })
    }
}

/// Adds a `person` ROI (or of type `roi_type`) to `buffer`.
pub fn add_roi(buffer: &mut gst::Buffer, roi_type: &str, rect: (u32, u32, u32, u32)) {
    VideoRegionOfInterestMeta::add(buffer.get_mut().unwrap(), roi_type, rect);
}

/// The embeddings of `buffer`'s ROI metas, in order (`None` for a ROI without one).
pub fn embeddings(buffer: &gst::BufferRef) -> Vec<Option<gstreid::params::Embedding>> {
    buffer.iter_meta::<VideoRegionOfInterestMeta>().map(|roi| gstreid::params::Embedding::from_roi(&roi)).collect()
}

/// The bytes of a buffer.
pub fn bytes(buffer: &gst::BufferRef) -> Vec<u8> {
    buffer.map_readable().unwrap().as_slice().to_vec()
}

/// Caps string of a raw video format.
pub fn caps(format: &str, w: u32, h: u32) -> String {
    format!("video/x-raw,format={format},width={w},height={h},framerate=30/1")
}
