//! The ONNX Runtime engine (feature `ort`) on hand-built graphs: embeddings against an independent computation
//! and against tract at batch 1 and 33, node placement, provider fallback and strict mode, calibration tables,
//! and errors naming the file. Needs the library `scripts/setup-ort.sh` installs (scripts/test.sh runs it).
#![cfg(feature = "ort")]

use reid_eval::progress::NoProgress;
use reid_runtime::engine::ort::calibration::{self, CalibrationTable};
use reid_runtime::engine::ort::{OrtEngine, OrtOptions, Provider, library};
use reid_runtime::engine::{Engine, EngineError, TractEngine};
use std::path::PathBuf;

use crate::common::*;

fn cpu() -> OrtOptions {
    OrtOptions { threads: 2, ..OrtOptions::default() }
}

fn open(path: &std::path::Path, options: &OrtOptions) -> OrtEngine {
    OrtEngine::open(path, None, options).unwrap_or_else(|e| panic!("{e} (run scripts/setup-ort.sh)"))
}

#[test]
fn embeddings_match_a_hand_computation_at_batch_1() {
    check_embeddings(|p| Box::new(open(p, &cpu())), 1, false);
}

#[test]
fn embeddings_match_a_hand_computation_at_batch_33_with_flip() {
    check_embeddings(|p| Box::new(open(p, &cpu())), 33, true);
}

#[test]
fn raw_outputs_equal_tract_at_batch_1_and_33() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let ort = open(&path, &cpu());
    let tract = TractEngine::open(&path, None).unwrap();
    let plane = (3 * H * W) as usize;
    for n in [1usize, 33] {
        let input: Vec<f32> = (0..n * plane).map(|i| ((i * 31 % 97) as f32 / 24.0) - 2.0).collect();
        let a = ort.embed_batch(&input, n).unwrap();
        let b = tract.embed_batch(&input, n).unwrap();
        assert_close(&a, &b, &format!("ort vs tract, batch {n}"));
        let want: Vec<f32> = input.chunks(plane).flat_map(raw_embedding).collect();
        assert_close(&a, &want, &format!("ort vs hand, batch {n}"));
    }
    let err = ort.embed_batch(&[0.0; 5], 1).unwrap_err();
    assert!(matches!(err, EngineError::BatchShape { .. }), "{err}");
}

#[test]
fn cpu_placement_puts_every_node_on_the_cpu_provider() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let engine = open(&path, &cpu());
    let placement = engine.placement();
    assert!(placement.total_nodes() >= 1, "{placement}");
    assert_eq!(placement.nodes_on("CPUExecutionProvider"), placement.total_nodes(), "{placement}");
    assert_eq!(engine.active_provider(), Provider::Cpu);
    assert!(engine.library().version.starts_with("1."), "{:?}", engine.library());
}

#[test]
fn a_missing_gpu_provider_falls_back_to_cpu_unless_strict() {
    let available = library::available_providers(None).expect("run scripts/setup-ort.sh");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    for provider in [Provider::Cuda, Provider::TensorRt] {
        if available.iter().any(|p| p == provider.ort_name()) {
            continue; // a GPU build of ONNX Runtime: nothing to fall back from
        }
        let mut options = OrtOptions { provider, ..cpu() };
        options.tensorrt.cache_root = dir.path().join("cache");
        let engine = open(&path, &options);
        assert_eq!(engine.requested_provider(), provider);
        assert_eq!(engine.active_provider(), Provider::Cpu);
        assert!(engine.cache_dir().is_none());
        let out = engine.embed_batch(&vec![0.5; (3 * H * W) as usize], 1).unwrap();
        assert_eq!(out.len(), D);

        options.strict = true;
        let err = OrtEngine::open(&path, None, &options).unwrap_err();
        assert!(matches!(err, EngineError::ProviderUnavailable { .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains(provider.ort_name()) && text.contains("libonnxruntime"), "{text}");
    }
}

#[test]
fn bad_models_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = pool_matmul_model(&full_metadata());
    let path = write(dir.path(), "truncated.onnx", &bytes[..bytes.len() / 2]);
    let err = OrtEngine::open(&path, None, &cpu()).unwrap_err();
    assert!(matches!(err, EngineError::InvalidModel { .. }), "{err}");
    assert!(err.to_string().contains("truncated.onnx"), "{err}");
    let path = write(dir.path(), "bare.onnx", &pool_matmul_model(&[]));
    let err = OrtEngine::open(&path, None, &cpu()).unwrap_err();
    assert!(matches!(err, EngineError::MissingPreprocess { .. }), "{err}");
    assert!(err.to_string().contains("bare.onnx"), "{err}");
}

#[test]
fn a_library_that_is_not_there_is_named_in_the_error() {
    let missing = PathBuf::from("/nonexistent/libonnxruntime.so");
    let err = library::find(Some(&missing)).unwrap_err();
    assert!(matches!(err, EngineError::Library { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("/nonexistent/libonnxruntime.so") && text.contains("setup-ort.sh"), "{text}");
    // A file that exists but is not ONNX Runtime.
    let dir = tempfile::tempdir().unwrap();
    let fake = write(dir.path(), "libonnxruntime.so", b"not a library");
    let err = library::find(Some(&fake)).unwrap_err();
    assert!(err.to_string().contains(&fake.display().to_string()), "{err}");
}

#[test]
fn calibration_ranges_are_the_largest_absolute_activations() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "m.onnx", &pool_matmul_model(&full_metadata()));
    let images = write_images(&dir.path().join("images"), 9);
    let paths: Vec<PathBuf> = images.iter().map(|(p, _)| p.clone()).collect();
    let table = calibration::calibrate(&path, None, &paths, 4, None, &NoProgress).unwrap();
    let names: Vec<&str> = table.ranges.keys().map(String::as_str).collect();
    assert_eq!(names, ["embedding", "flat", "input", "pooled"]);
    let inputs: Vec<Vec<f32>> = images.iter().map(|(_, img)| hand_input(img)).collect();
    let max_abs = |vals: &mut dyn Iterator<Item = f32>| vals.fold(0f32, |m, v| m.max(v.abs()));
    let want_input = max_abs(&mut inputs.iter().flatten().copied());
    let want_embedding = max_abs(&mut inputs.iter().flat_map(|i| raw_embedding(i)));
    let plane = (H * W) as usize;
    let want_pooled = max_abs(
        &mut inputs
            .iter()
            .flat_map(|i| (0..3).map(move |c| i[c * plane..(c + 1) * plane].iter().sum::<f32>() / plane as f32)),
    );
    for (name, want) in
        [("input", want_input), ("embedding", want_embedding), ("pooled", want_pooled), ("flat", want_pooled)]
    {
        let got = table.ranges[name];
        assert!((got - want).abs() <= 1e-5 * want.max(1.0), "{name}: {got} vs {want}");
    }
    // The TensorRT text form round-trips to within f32 rounding of range/127*127.
    let file = dir.path().join("calibration.cache");
    table.write(&file).unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.lines().next().unwrap().starts_with("TRT-"), "{text}");
    let back = CalibrationTable::parse_tensorrt_text(&text).unwrap();
    for (name, range) in &table.ranges {
        assert!((back.ranges[name] - range).abs() <= 1e-6 * range.max(1.0), "{name}");
    }
}
