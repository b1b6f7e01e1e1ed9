//! `reid embed --engine ...` and `reid engine calibrate | build | info` on a real exported ResNet-18: ONNX Runtime
//! and tract give the same embeddings, partial preprocessing overrides take effect, and missing providers or
//! incomplete int8 requests are explained. Needs the library scripts/setup-ort.sh installs.
#![cfg(feature = "ort")]

use std::path::{Path, PathBuf};
use std::process::Command;

fn reid(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reid")).args(args).output().expect("run reid");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A random-weight ResNet-18 BNNeck at 64x32 exported with metadata, and a folder of synthetic person crops.
fn fixture(dir: &Path) -> (PathBuf, PathBuf) {
    use reid_models::export::{ExportOptions, export_onnx};
    let config = reid_models::ReidConfig {
        backbone: reid_models::config::BackboneConfig::from_name("resnet_18", 1).unwrap(),
        feat_dim: 32,
        neck: reid_models::Neck::Bnneck,
        neck_feat: reid_models::NeckFeat::After,
        num_classes: 10,
        input_channels: 3,
        input_height: 64,
        input_width: 32,
        jpm: None,
    };
    let model = reid_models::ReidModel::new(&config, &burn::tensor::Device::flex()).unwrap();
    let path = dir.join("model.onnx");
    let opts = ExportOptions {
        backbone_name: "resnet_18".to_owned(),
        pixel_mean: [0.485, 0.456, 0.406],
        pixel_std: [0.229, 0.224, 0.225],
        l2_normalize: false,
    };
    export_onnx(&model, &config, &opts, &path).unwrap();
    let data = dir.join("data");
    let (ok, _, err) = reid(&[
        "dataset",
        "synth",
        "--out",
        data.to_str().unwrap(),
        "--train-ids",
        "2",
        "--test-ids",
        "3",
        "--cameras",
        "2",
        "--images-per-camera",
        "2",
    ]);
    assert!(ok, "{err}");
    (path, data.join("query"))
}

fn embeddings(json: &Path) -> Vec<Vec<f64>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| e["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect())
        .collect()
}

fn max_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs())).fold(0.0, f64::max)
}

#[test]
fn engines_agree_and_engine_commands_explain_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let (model, images) = fixture(dir.path());
    let (m, i) = (model.to_str().unwrap(), images.to_str().unwrap());
    let out = |name: &str| dir.path().join(name);

    // The same model through tract and ONNX Runtime, batch 1 and 5.
    let mut runs = Vec::new();
    for (engine, batch) in [("tract", "1"), ("ort-cpu", "1"), ("ort-cpu", "5"), ("auto", "5")] {
        let json = out(&format!("{engine}-{batch}.json"));
        let (ok, _, err) =
            reid(&["embed", "-m", m, "-i", i, "-o", json.to_str().unwrap(), "--engine", engine, "--batch", batch]);
        assert!(ok, "{engine}: {err}");
        if engine != "tract" {
            assert!(err.contains("ONNX Runtime"), "{engine} should report ONNX Runtime: {err}");
        }
        runs.push(embeddings(&json));
    }
    assert!(runs[0].len() >= 6);
    for r in &runs[1..] {
        assert!(max_diff(&runs[0], r) < 1e-5, "tract vs onnxruntime: {}", max_diff(&runs[0], r));
    }

    // A partial override (only the mean) changes the embeddings; the metadata supplies the rest.
    let json = out("mean.json");
    let (ok, _, err) = reid(&["embed", "-m", m, "-i", i, "-o", json.to_str().unwrap(), "--mean", "0.2,0.2,0.2"]);
    assert!(ok, "{err}");
    assert!(max_diff(&runs[0], &embeddings(&json)) > 1e-3, "--mean had no effect");

    // A GPU provider that this ONNX Runtime lacks: a fallback without --strict, an error naming it with.
    let (ok, stdout, err) = reid(&["engine", "info", "-m", m, "--engine", "cuda"]);
    assert!(ok, "{err}");
    assert!(stdout.contains("fell back to CPU"), "{stdout}");
    let (ok, _, err) = reid(&["engine", "info", "-m", m, "--engine", "tensorrt", "--strict"]);
    assert!(!ok);
    assert!(err.contains("TensorrtExecutionProvider") && err.contains("setup-ort.sh --gpu"), "{err}");

    // int8 needs calibration; a calibration table is measured on images.
    let (ok, _, err) = reid(&["engine", "build", "-m", m, "--precision", "int8"]);
    assert!(!ok);
    assert!(err.contains("--calibration"), "{err}");
    let table = out("table.cache");
    let (ok, _, err) = reid(&["engine", "calibrate", "-m", m, "-i", i, "-o", table.to_str().unwrap(), "--limit", "4"]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&table).unwrap();
    assert!(text.starts_with("TRT-"), "{text}");
    assert!(text.lines().count() > 20, "a ResNet-18 has dozens of activations: {text}");
    assert!(text.lines().any(|l| l.starts_with("input: ")), "{text}");
}
