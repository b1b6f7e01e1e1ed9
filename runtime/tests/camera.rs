//! Models with a camera input (TransReID's side information embedding): the camera input is found from the
//! graph and the metadata, camera ids reach the model through tract and ONNX Runtime (checked against a hand
//! computation), ids outside the table are errors naming the id, the count and the file, and models whose
//! camera metadata is wrong are refused.

use reid_eval::progress::NoProgress;
use reid_runtime::engine::{
    CameraInput, EmbedOptions, Engine, EngineError, ModelInfo, TractEngine, embed_paths, embed_paths_cameras,
};
use reid_runtime::onnx_graph::{Attr, Graph, int64_value_info, value_info};
use std::path::{Path, PathBuf};

use crate::common::*;

const CAMERAS: usize = 3;

/// The per-camera offsets `[CAMERAS, D]`.
fn table() -> Vec<f32> {
    (0..CAMERAS * D).map(|i| (i as f32 - 7.0) * 0.25).collect()
}

/// `pool_matmul_model` plus `Gather(table, camera)`: `embedding = pool(input) @ w + table[camera]`, with the
/// camera input declared first or second and `metadata` as given.
fn camera_model(camera_first: bool, metadata: &[(&str, &str)]) -> Vec<u8> {
    let mut g = Graph::default();
    g.op_into("GlobalAveragePool", &["input"], "pooled", vec![]);
    g.op_into("Flatten", &["pooled"], "flat", vec![("axis", Attr::Int(1))]);
    let w = g.weight("w", &[3, D], &weights());
    g.op_into("MatMul", &["flat", &w], "feature", vec![]);
    let t = g.weight("sie", &[CAMERAS, D], &table());
    g.op_into("Gather", &[&t, "camera"], "side", vec![("axis", Attr::Int(0))]);
    g.op_into("Add", &["feature", "side"], "embedding", vec![]);
    let image = value_info("input", &[None, Some(3), Some(H as usize), Some(W as usize)]);
    let camera = int64_value_info("camera", &[None]);
    let inputs = if camera_first { vec![camera, image] } else { vec![image, camera] };
    model(g, inputs, vec![value_info("embedding", &[None, Some(D)])], metadata)
}

fn camera_metadata() -> Vec<(&'static str, &'static str)> {
    let mut m = full_metadata();
    m.extend([("reid.camera_input", "camera"), ("reid.sie_cameras", "3")]);
    m
}

/// The raw embedding of `input` seen by camera `cam`, computed independently.
fn hand(input: &[f32], cam: usize) -> Vec<f32> {
    let t = table();
    raw_embedding(input).iter().enumerate().map(|(d, v)| v + t[cam * D + d]).collect()
}

fn batch(n: usize) -> Vec<f32> {
    (0..n * (3 * H * W) as usize).map(|i| ((i * 13 % 29) as f32 / 7.0) - 2.0).collect()
}

/// Runs the camera checks on the engine `open` gives for a camera model.
fn check_engine(open: &dyn Fn(&Path) -> Box<dyn Engine>) {
    let dir = tempfile::tempdir().unwrap();
    for first in [false, true] {
        let path = write(dir.path(), &format!("cam_first_{first}.onnx"), &camera_model(first, &camera_metadata()));
        let engine = open(&path);
        assert_eq!(engine.info().camera, Some(CameraInput { name: "camera".into(), count: CAMERAS }));
        let plane = (3 * H * W) as usize;
        for n in [1usize, 5] {
            let x = batch(n);
            let ids: Vec<i64> = (0..n as i64).map(|i| (i * 2 + 1) % CAMERAS as i64).collect();
            let got = engine.embed_batch_cameras(&x, n, Some(&ids)).unwrap();
            let want: Vec<f32> = x.chunks(plane).zip(&ids).flat_map(|(img, &c)| hand(img, c as usize)).collect();
            assert_close(&got, &want, &format!("camera first {first}, batch {n}"));
            // No ids: camera 0 for every image.
            let got = engine.embed_batch(&x, n).unwrap();
            let want: Vec<f32> = x.chunks(plane).flat_map(|img| hand(img, 0)).collect();
            assert_close(&got, &want, &format!("camera 0, batch {n}"));
        }
        for bad in [3i64, -1, 1 << 40] {
            let err = engine.embed_batch_cameras(&batch(2), 2, Some(&[0, bad])).unwrap_err();
            assert!(matches!(err, EngineError::Camera { id, count: 3, .. } if id == bad), "{err}");
            let text = err.to_string();
            assert!(text.contains(&format!("camera id {bad}")) && text.contains("3 cameras"), "{text}");
            assert!(text.contains(&format!("cam_first_{first}.onnx")), "{text}");
        }
        let err = engine.embed_batch_cameras(&batch(2), 2, Some(&[0])).unwrap_err();
        assert!(matches!(err, EngineError::CameraCount { n: 2, got: 1, .. }), "{err}");
    }
}

#[test]
fn tract_feeds_camera_ids() {
    check_engine(&|p| Box::new(TractEngine::open(p, None).unwrap()));
}

#[cfg(feature = "ort")]
#[test]
fn onnx_runtime_feeds_camera_ids() {
    use reid_runtime::engine::ort::{OrtEngine, OrtOptions};
    let options = OrtOptions { threads: 2, ..OrtOptions::default() };
    check_engine(&|p| Box::new(OrtEngine::open(p, None, &options).expect("run scripts/setup-ort.sh")));
}

#[test]
fn embed_paths_gives_each_path_its_camera() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "cam.onnx", &camera_model(false, &camera_metadata()));
    let engine = TractEngine::open(&path, None).unwrap();
    let images = write_images(&dir.path().join("images"), 7);
    let paths: Vec<PathBuf> = images.iter().map(|(p, _)| p.clone()).collect();
    let ids: Vec<i64> = (0..7).map(|i| i % CAMERAS as i64).collect();
    for flip in [false, true] {
        let options = EmbedOptions { batch_size: 3, flip, l2_normalize: false };
        let m = embed_paths_cameras(&engine, &paths, Some(&ids), &options, &NoProgress).unwrap();
        for (row, ((_, img), &c)) in images.iter().zip(&ids).enumerate() {
            let x = hand_input(img);
            let mut want = hand(&x, c as usize);
            if flip {
                let mut mirrored = x.clone();
                reid_runtime::engine::preprocess::flip_horizontal(&mut mirrored, W as usize);
                want = want.iter().zip(hand(&mirrored, c as usize)).map(|(a, b)| 0.5 * (a + b)).collect();
            }
            assert_close(m.row(row), &want, &format!("row {row}, flip {flip}"));
        }
    }
    // Without ids every path is camera 0; a wrong count of ids is refused.
    let options = EmbedOptions { batch_size: 4, flip: false, l2_normalize: false };
    let m = embed_paths(&engine, &paths, &options, &NoProgress).unwrap();
    assert_close(m.row(6), &hand(&hand_input(&images[6].1), 0), "camera 0");
    let err = embed_paths_cameras(&engine, &paths, Some(&ids[..3]), &options, &NoProgress).unwrap_err();
    assert!(matches!(err, EngineError::CameraCount { n: 7, got: 3, .. }), "{err}");
    // A model without a camera input takes no ids: the plain model's output whatever ids are given.
    let plain = write(dir.path(), "plain.onnx", &pool_matmul_model(&full_metadata()));
    let engine = TractEngine::open(&plain, None).unwrap();
    assert_eq!(engine.info().camera, None);
    let out = engine.embed_batch_cameras(&batch(1), 1, Some(&[99])).unwrap();
    assert_close(&out, &raw_embedding(&batch(1)), "plain model ignores camera ids");
}

#[test]
fn wrong_camera_metadata_is_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    type Case = (&'static str, Vec<(&'static str, &'static str)>, &'static str);
    let cases: [Case; 4] = [
        ("no_meta.onnx", full_metadata(), "reid.camera_input"),
        ("no_count.onnx", [full_metadata(), vec![("reid.camera_input", "camera")]].concat(), "reid.sie_cameras"),
        (
            "zero.onnx",
            [full_metadata(), vec![("reid.camera_input", "camera"), ("reid.sie_cameras", "0")]].concat(),
            "reid.sie_cameras",
        ),
        (
            "other_name.onnx",
            [full_metadata(), vec![("reid.camera_input", "cam"), ("reid.sie_cameras", "3")]].concat(),
            "reid.camera_input",
        ),
    ];
    for (name, metadata, key) in cases {
        let path = write(dir.path(), name, &camera_model(false, &metadata));
        let err = ModelInfo::read(&path, None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(name) && text.contains(key), "{name}: {text}");
    }
    // A float input named as the camera input.
    let mut g = Graph::default();
    g.op_into("Add", &["input", "camera"], "embedding", vec![]);
    let dims = [None, Some(3), Some(H as usize), Some(W as usize)];
    let inputs = vec![value_info("input", &dims), value_info("camera", &[None])];
    let path = write(
        dir.path(),
        "float_cam.onnx",
        &model(g, inputs, vec![value_info("embedding", &dims)], &camera_metadata()),
    );
    let err = ModelInfo::read(&path, None).unwrap_err();
    assert!(matches!(err, EngineError::InputShape { .. }) && err.to_string().contains("int64"), "{err}");
}
