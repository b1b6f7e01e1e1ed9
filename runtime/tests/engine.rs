//! The tract engine on hand-built ONNX graphs: embeddings against a hand computation of the same
//! preprocessing and math, metadata reading, and errors that name the file.

use reid_eval::progress::NoProgress;
use reid_runtime::engine::{
    ColorOrder, EmbedOptions, Engine, EngineError, ModelInfo, PreprocessConfig, TractEngine, embed_paths, list_images,
};
use reid_runtime::onnx_graph::{Graph, value_info};
use std::path::PathBuf;

use crate::common::*;

#[test]
fn metadata_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let info = ModelInfo::read(&path, None).unwrap();
    assert_eq!(info.input_name, "input");
    assert_eq!(info.output_name, "embedding");
    assert_eq!(info.output_dim, Some(D));
    assert_eq!((info.preprocess.height, info.preprocess.width), (H, W));
    assert_eq!(info.preprocess.mean, MEAN);
    assert_eq!(info.preprocess.std, STD);
    assert_eq!(info.preprocess.color, ColorOrder::Rgb);
    assert!((info.preprocess.scale - 1.0 / 255.0).abs() < 1e-15);
    assert!(!info.l2_normalized);
    assert_eq!(info.metadata.get("reid.format").map(String::as_str), Some("1"));
    assert_eq!(info.input_shape.len(), 4);
    assert_eq!(info.input_shape[2].fixed(), Some(H as usize));
    assert_eq!(info.input_shape[0].fixed(), None);
}

#[test]
fn embeddings_match_a_hand_computation_at_batch_1() {
    check_embeddings(|p| Box::new(TractEngine::open(p, None).unwrap()), 1, false);
}

#[test]
fn embeddings_match_a_hand_computation_at_batch_33() {
    check_embeddings(|p| Box::new(TractEngine::open(p, None).unwrap()), 33, false);
}

#[test]
fn flip_averaged_embeddings_match_a_hand_computation() {
    check_embeddings(|p| Box::new(TractEngine::open(p, None).unwrap()), 8, true);
}

#[test]
fn explicit_preprocessing_serves_models_without_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "bare.onnx", &pool_matmul_model(&[]));
    let err = TractEngine::open(&path, None).unwrap_err();
    assert!(matches!(err, EngineError::MissingPreprocess { .. }), "{err}");
    assert!(err.to_string().contains("bare.onnx"), "{err}");

    let cfg =
        PreprocessConfig { height: H, width: W, mean: MEAN, std: STD, scale: 1.0 / 255.0, color: ColorOrder::Bgr };
    let engine = TractEngine::open(&path, Some(&cfg)).unwrap();
    assert!(!engine.info().l2_normalized);
    let images = write_images(&dir.path().join("images"), 4);
    let paths: Vec<PathBuf> = images.iter().map(|(p, _)| p.clone()).collect();
    let m = embed_paths(&engine, &paths, &EmbedOptions::default(), &NoProgress).unwrap();
    for (row, (_, img)) in images.iter().enumerate() {
        assert_close(m.row(row), &hand_embedding(img, true, false), "bgr");
    }

    // A fixed input size that disagrees with the explicit one is refused, naming the file.
    let wrong = PreprocessConfig { height: H + 1, ..cfg };
    let err = TractEngine::open(&path, Some(&wrong)).unwrap_err();
    assert!(matches!(err, EngineError::InputShape { .. }), "{err}");
    assert!(err.to_string().contains("bare.onnx"), "{err}");
}

#[test]
fn embed_batch_is_the_raw_model_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let engine = TractEngine::open(&path, None).unwrap();
    let plane = (3 * H * W) as usize;
    // Constant planes: the pooled values are the constants themselves.
    let mut input = vec![0.0f32; 2 * plane];
    for (c, v) in [1.0f32, -2.0, 0.5, 3.0, 0.0, -1.0].iter().enumerate() {
        input[c * plane / 3..(c + 1) * plane / 3].fill(*v);
    }
    let out = engine.embed_batch(&input, 2).unwrap();
    let w = weights();
    let want: Vec<f32> = [[1.0f32, -2.0, 0.5], [3.0, 0.0, -1.0]]
        .iter()
        .flat_map(|p| (0..D).map(|d| (0..3).map(|c| p[c] * w[c * D + d]).sum::<f32>()).collect::<Vec<_>>())
        .collect();
    assert_close(&out, &want, "raw");
    let err = engine.embed_batch(&input[1..], 2).unwrap_err();
    assert!(matches!(err, EngineError::BatchShape { .. }), "{err}");
}

#[test]
fn truncated_model_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = pool_matmul_model(&full_metadata());
    let path = write(dir.path(), "truncated.onnx", &bytes[..bytes.len() / 2]);
    let err = TractEngine::open(&path, None).unwrap_err();
    assert!(matches!(err, EngineError::InvalidModel { .. }), "{err}");
    assert!(err.to_string().contains("truncated.onnx"), "{err}");
    let err = ModelInfo::read(&path, None).unwrap_err();
    assert!(err.to_string().contains("truncated.onnx"), "{err}");

    let missing = dir.path().join("missing.onnx");
    let err = TractEngine::open(&missing, None).unwrap_err();
    assert!(matches!(err, EngineError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.onnx"), "{err}");
}

#[test]
fn two_input_model_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let dims = [None, Some(3), Some(H as usize), Some(W as usize)];
    let mut graph = Graph::default();
    graph.op_into("Add", &["a", "b"], "sum", vec![]);
    let (inputs, outputs) = (vec![value_info("a", &dims), value_info("b", &dims)], vec![value_info("sum", &dims)]);
    let path = write(dir.path(), "two_inputs.onnx", &model(graph, inputs, outputs, &full_metadata()));
    let err = TractEngine::open(&path, None).unwrap_err();
    assert!(matches!(err, EngineError::InputCount { count: 2, .. }), "{err}");
    assert!(err.to_string().contains("two_inputs.onnx"), "{err}");
}

#[test]
fn wrong_input_rank_or_channels_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, dims) in [
        ("rank3.onnx", vec![None, Some(3), Some(H as usize)]),
        ("gray.onnx", vec![None, Some(1), Some(H as usize), Some(W as usize)]),
    ] {
        let mut graph = Graph::default();
        graph.op_into("Identity", &["input"], "embedding", vec![]);
        let (inputs, outputs) = (vec![value_info("input", &dims)], vec![value_info("embedding", &dims)]);
        let path = write(dir.path(), name, &model(graph, inputs, outputs, &full_metadata()));
        let err = TractEngine::open(&path, None).unwrap_err();
        assert!(matches!(err, EngineError::InputShape { .. }), "{err}");
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn undecodable_image_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let engine = TractEngine::open(&path, None).unwrap();
    let images = write_images(&dir.path().join("images"), 3);
    let broken = write(&dir.path().join("images"), "broken.jpg", b"not a jpeg at all");
    let mut paths: Vec<PathBuf> = images.iter().map(|(p, _)| p.clone()).collect();
    paths.push(broken);
    let err = embed_paths(&engine, &paths, &EmbedOptions::default(), &NoProgress).unwrap_err();
    assert!(matches!(err, EngineError::Decode { .. }), "{err}");
    assert!(err.to_string().contains("broken.jpg"), "{err}");
}

#[test]
fn folder_without_images_is_an_error_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty_folder");
    std::fs::create_dir_all(empty.join("sub")).unwrap();
    std::fs::write(empty.join("notes.txt"), "no images here").unwrap();
    let err = list_images(&empty).unwrap_err();
    assert!(matches!(err, EngineError::NoImages { .. }), "{err}");
    assert!(err.to_string().contains("empty_folder"), "{err}");
}

#[test]
fn bad_metadata_value_is_an_error_naming_the_key_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut metadata = full_metadata();
    metadata.retain(|(k, _)| *k != "reid.pixel_std");
    metadata.push(("reid.pixel_std", "0.2,0.3"));
    let path = write(dir.path(), "badmeta.onnx", &pool_matmul_model(&metadata));
    let err = ModelInfo::read(&path, None).unwrap_err();
    assert!(matches!(err, EngineError::Metadata { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("badmeta.onnx") && msg.contains("reid.pixel_std"), "{msg}");
}
