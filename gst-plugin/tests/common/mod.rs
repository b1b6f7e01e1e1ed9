//! Shared test helpers: plugin registration, a hand-built ONNX model (the runtime tests' approach), frames with
//! ROI metas, and the embedding of a crop computed by hand through the runtime's own public functions.
#![allow(dead_code)]

use gst_video::VideoRegionOfInterestMeta;
use image::RgbImage;
use prost::Message;
use reid_runtime::engine::preprocess::preprocess_image;
use reid_runtime::engine::{Engine, TractEngine};
use std::path::{Path, PathBuf};
use std::sync::Once;
use tract_onnx::pb;

/// Model input height.
pub const H: u32 = 16;
/// Model input width.
pub const W: u32 = 8;
/// Embedding size.
pub const D: usize = 8;

/// Initialises GStreamer and registers the plugin once.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstreid::register_static().unwrap();
    });
}

fn value_info(name: &str, dims: &[Option<usize>]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    let dim = |d: &Option<usize>| Dimension {
        value: Some(match d {
            Some(v) => Value::DimValue(*v as i64),
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
    let axis = pb::AttributeProto {
        name: "axis".to_owned(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: 1,
        ..Default::default()
    };
    let k = (3 * H * W) as usize;
    let graph = pb::GraphProto {
        name: "tiny-reid".to_owned(),
        node: vec![
            node("Flatten", &["input"], "flat", vec![axis]),
            node("MatMul", &["flat", "w"], "embedding", vec![]),
        ],
        initializer: vec![pb::TensorProto {
            name: "w".to_owned(),
            dims: vec![k as i64, D as i64],
            data_type: pb::tensor_proto::DataType::Float as i32,
            raw_data: weights(k * D).iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        }],
        input: vec![value_info("input", &[None, Some(3), Some(H as usize), Some(W as usize)])],
        output: vec![value_info("embedding", &[None, Some(D)])],
        ..Default::default()
    };
    let with_metadata = metadata;
    let metadata = [
        ("reid.format", "1".to_owned()),
        ("reid.input_height", H.to_string()),
        ("reid.input_width", W.to_string()),
        ("reid.color", "RGB".to_owned()),
        ("reid.pixel_mean", "0.485,0.456,0.406".to_owned()),
        ("reid.pixel_std", "0.229,0.224,0.225".to_owned()),
        ("reid.feat_dim", D.to_string()),
        ("reid.l2_normalized", "false".to_owned()),
        ("reid.resize", "bilinear".to_owned()),
    ];
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 17 }],
        producer_name: "gst-reid-test".to_owned(),
        graph: Some(graph),
        metadata_props: metadata
            .iter()
            .filter(|_| with_metadata)
            .map(|(k, v)| pb::StringStringEntryProto { key: k.to_string(), value: v.clone() })
            .collect(),
        ..Default::default()
    }
    .encode_to_vec()
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
    reid_runtime::distance::l2_normalize(&mut out);
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

    /// The RGB crop of `(x, y, w, h)`, converted by hand (BT.601 limited range, nearest chroma sample).
    pub fn crop_rgb(&self, x0: u32, y0: u32, w: u32, h: u32) -> RgbImage {
        let cw = 2 * self.w.div_ceil(2);
        RgbImage::from_fn(w, h, |dx, dy| {
            let (x, y) = (x0 + dx, y0 + dy);
            let luma = f32::from(self.y[(y * self.w + x) as usize]);
            let c = ((y / 2) * cw + 2 * (x / 2)) as usize;
            let (u, v) = (f32::from(self.uv[c]) - 128.0, f32::from(self.uv[c + 1]) - 128.0);
            let l = 1.164_383_6 * (luma - 16.0);
            let q = |v: f32| v.round().clamp(0.0, 255.0) as u8;
            image::Rgb([q(l + 1.596_026_8 * v), q(l - 0.391_762_3 * u - 0.812_967_6 * v), q(l + 2.017_232_2 * u)])
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
