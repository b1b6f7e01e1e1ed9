//! Export parity: the exported ONNX, run by tract, equals the burn forward to 1e-4 (relative to the largest
//! value), for both families at 256x128 and 384x128, batch 1 and 17; metadata properties are present.

use crate::common::*;
use burn::tensor::Device;
use reid_models::export::{ExportOptions, export_onnx, meta};
use reid_models::{ReidConfig, ReidModel};
use tract_onnx::prelude::*;

fn options(name: &str, l2: bool) -> ExportOptions {
    ExportOptions {
        backbone_name: name.into(),
        pixel_mean: [0.485, 0.456, 0.406],
        pixel_std: [0.229, 0.224, 0.225],
        l2_normalize: l2,
    }
}

/// Runs an ONNX file through tract on `x` (`[n, 3, h, w]` values).
fn run_tract(path: &std::path::Path, x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let model = tract_onnx::onnx()
        .model_for_path(path)
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input = tract_ndarray::Array4::from_shape_vec(shape, x.to_vec()).unwrap();
    let out = model.run(tvec!(Tensor::from(input).into())).unwrap();
    out[0].to_plain_array_view::<f32>().unwrap().iter().copied().collect()
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max) / scale
}

fn model_at(file: &str, hw: [usize; 2]) -> (ReidConfig, ReidModel) {
    let (config, model, _) = load_model(file, hw, &Device::flex());
    (config, model)
}

fn check(file: &str, name: &str) {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    for hw in [[256, 128], [384, 128]] {
        let (config, model) = model_at(file, hw);
        let path = dir.path().join(format!("{name}_{}x{}.onnx", hw[0], hw[1]));
        export_onnx(&model, &config, &options(name, false), &path).unwrap();
        for n in [1, 17] {
            let x = formula_input([n, 3, hw[0], hw[1]], 7 + n as u64, &device);
            let want = values(model.embed(x.clone()));
            let got = run_tract(&path, &values(x), [n, 3, hw[0], hw[1]]);
            let d = max_rel_diff(&got, &want);
            eprintln!("{name} {}x{} batch {n}: max relative diff {d:.2e}", hw[0], hw[1]);
            assert!(d < 1e-4, "{name} at {}x{}, batch {n}: tract differs from burn by {d}", hw[0], hw[1]);
        }
    }
}

#[test]
fn resnet_export_matches_burn() {
    check("resnet_bottleneck_ls1.safetensors", "resnet");
}

#[test]
fn swin_export_matches_burn() {
    check("swin.safetensors", "swin");
}

#[test]
fn metadata_and_l2_normalisation() {
    let device = Device::flex();
    let (config, model) = model_at("resnet_basic_ls2.safetensors", [256, 128]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    export_onnx(&model, &config, &options("resnet_18", true), &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let proto = <tract_onnx::pb::ModelProto as prost::Message>::decode(bytes.as_slice()).unwrap();
    let get = |k: &str| proto.metadata_props.iter().find(|p| p.key == k).map(|p| p.value.clone());
    assert_eq!(get(meta::INPUT_HEIGHT).as_deref(), Some("256"));
    assert_eq!(get(meta::INPUT_WIDTH).as_deref(), Some("128"));
    assert_eq!(get(meta::FEAT_DIM).as_deref(), Some("64"));
    assert_eq!(get(meta::NECK_FEAT).as_deref(), Some("after"));
    assert_eq!(get(meta::L2_NORMALIZED).as_deref(), Some("true"));
    assert_eq!(get(meta::PIXEL_MEAN).as_deref(), Some("0.485,0.456,0.406"));
    assert_eq!(get(meta::BACKBONE).as_deref(), Some("resnet_18"));
    let graph = proto.graph.unwrap();
    assert_eq!(graph.input[0].name, "input");
    assert_eq!(graph.output[0].name, "embedding");
    let x = formula_input([3, 3, 256, 128], 5, &device);
    let out = run_tract(&path, &values(x.clone()), [3, 3, 256, 128]);
    let want = values(model.embed(x));
    for (row, w) in out.chunks(64).zip(want.chunks(64)) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row norm {norm}");
        let wn: f32 = w.iter().map(|v| v * v).sum::<f32>().sqrt();
        for (a, b) in row.iter().zip(w) {
            assert!((a - b / wn).abs() < 1e-5);
        }
    }
}
