//! The training loop end to end on a tiny synthetic dataset: learning happens, checkpoints are complete, and a
//! resumed run reproduces the uninterrupted run's loss curve.

use reid_eval::progress::NoProgress;
use reid_synth::persons::{DatasetSpec, write_dataset};
use reid_trainer::spec::Spec;
use reid_trainer::train::checkpoint::{files, latest};
use reid_trainer::train::tasks;
use reid_trainer::train::{Silent, train};
use std::path::Path;

pub(crate) fn dataset(root: &Path) {
    let spec = DatasetSpec {
        train_ids: 8,
        test_ids: 6,
        cameras: 2,
        images_per_camera: 3,
        width: 32,
        height: 64,
        seed: 5,
        distractors: 0,
        junk: 0,
    };
    write_dataset(&spec, &root.join("data"), false, &NoProgress).unwrap();
}

fn spec(results: &Path, data: &Path, epochs: usize, extra: &[&str]) -> Spec {
    let text = format!(
        r#"
results_dir: "{results}"
model:
  backbone: resnet_18
  input_width: 32
  input_height: 64
  feat_dim: 32
  pretrain_choice: ""
  label_smooth: True
dataset:
  train_dataset_dir: "{data}/bounding_box_train"
  test_dataset_dir: "{data}/bounding_box_test"
  query_dataset_dir: "{data}/query"
  num_classes: 8
  batch_size: 8
  val_batch_size: 16
  num_workers: 2
  padding: 2
  sampler: softmax_triplet
  num_instances: 2
re_ranking:
  re_ranking: False
train:
  optim:
    base_lr: 0.01
    warmup_epochs: 1
    warmup_method: linear
    lr_steps: [10]
  num_epochs: {epochs}
  checkpoint_interval: 1
  validation_interval: 2
  seed: 3
"#,
        results = results.display(),
        data = data.display()
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    Spec::parse(&text, "test.yaml", &overrides).unwrap()
}

#[test]
fn resumed_run_reproduces_the_uninterrupted_loss_curve() {
    let tmp = tempfile::tempdir().unwrap();
    dataset(tmp.path());
    let data = tmp.path().join("data");

    let full = train(&spec(&tmp.path().join("a"), &data, 3, &[]), &mut Silent).unwrap();
    assert_eq!(full.history.len(), 3);
    assert!(full.last_model.exists());
    let ckpt = latest(&full.dir.join("checkpoints")).unwrap();
    for f in [files::MODEL, files::OPTIMIZER, files::STATE, files::SPEC] {
        assert!(ckpt.join(f).exists(), "{f} missing in {}", ckpt.display());
    }
    assert!(full.history[1].validation.is_some() && full.history[2].validation.is_some());
    assert!(full.history[0].validation.is_none());

    // Interrupted after epoch 1, then started again with the same results folder: resumes from the checkpoint.
    let b = tmp.path().join("b");
    let first = train(&spec(&b, &data, 1, &[]), &mut Silent).unwrap();
    assert_eq!(first.history.len(), 1);
    let resumed = train(&spec(&b, &data, 3, &[]), &mut Silent).unwrap();
    assert_eq!(resumed.history.len(), 3);
    for (x, y) in full.history.iter().zip(&resumed.history) {
        let rel = (x.loss - y.loss).abs() / x.loss.abs().max(1e-9);
        assert!(rel < 1e-5, "epoch {}: loss {} uninterrupted vs {} resumed", x.epoch, x.loss, y.loss);
        assert_eq!(x.lr, y.lr);
        assert!((x.accuracy - y.accuracy).abs() < 1e-9);
    }
    let (va, vb) = (full.history[2].validation.unwrap(), resumed.history[2].validation.unwrap());
    assert!((va.map - vb.map).abs() < 1e-6, "{} vs {}", va.map, vb.map);

    // The tasks around training on the trained network: evaluate it, export it, evaluate the ONNX file.
    let model = full.last_model.display().to_string();
    let a = tmp.path().join("a");
    let s = spec(&a, &data, 3, &[&format!("evaluate.checkpoint={model}"), &format!("export.checkpoint={model}")]);
    let ev = tasks::evaluate(&s, &NoProgress).unwrap();
    assert!((ev.scores.plain.map - va.map).abs() < 1e-6, "evaluate repeats the final validation");
    let exported = tasks::export(&s, &NoProgress).unwrap();
    assert!(exported.max_rel_diff < tasks::EXPORT_TOLERANCE && exported.checked > 0);
    // The runtime's engines (what `reid embed` and the edge use: tract and ONNX Runtime CPU) on the exported file
    // equal the burn network that was exported, at batch 1 and 33, with the runtime's own preprocessing from the
    // model's metadata.
    {
        use reid_runtime::engine::ort::{OrtEngine, OrtOptions};
        use reid_runtime::engine::{EmbedOptions, Engine, TractEngine, embed_paths as engine_embed};
        use reid_trainer::train::embed::{BurnEmbedder, embed_paths as burn_embed};
        let tract = TractEngine::open(&exported.onnx, None).unwrap();
        let ort = OrtEngine::open(&exported.onnx, None, &OrtOptions { threads: 2, ..Default::default() })
            .unwrap_or_else(|e| panic!("{e} (run scripts/setup-ort.sh)"));
        let engines: [(&str, &dyn Engine); 2] = [("tract", &tract), ("onnxruntime", &ort)];
        let paths: Vec<_> = ev.query.iter().chain(&ev.gallery).take(33).cloned().collect();
        assert_eq!(paths.len(), 33);
        let device = burn::tensor::Device::flex();
        let (net, _) = tasks::load_model(&s, &full.last_model, &device).unwrap();
        let burn = BurnEmbedder { model: &net, device, hw: [64, 32] };
        let augment = reid_trainer::train::plan::eval_augment(&s);
        let want = burn_embed(&burn, &paths, &augment, 33, 2, false, &NoProgress).unwrap();
        for (name, engine) in engines {
            for batch in [1, 33] {
                let opts = EmbedOptions { batch_size: batch, flip: false, l2_normalize: false };
                let got = engine_embed(engine, &paths, &opts, &NoProgress).unwrap();
                let scale = want.as_slice().iter().fold(1e-12f32, |m, v| m.max(v.abs()));
                let diff = got.as_slice().iter().zip(want.as_slice()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
                assert!(diff / scale < 1e-4, "{name}, batch {batch}: relative difference to burn {}", diff / scale);
            }
        }
    }
    let onnx = exported.onnx.display().to_string();
    let s2 = spec(&a, &data, 3, &[&format!("evaluate.checkpoint={onnx}"), &format!("inference.checkpoint={onnx}")]);
    let ev2 = tasks::evaluate(&s2, &NoProgress).unwrap();
    assert!(
        (ev2.scores.plain.map - ev.scores.plain.map).abs() < 1e-4,
        "{} vs {}",
        ev2.scores.plain.map,
        ev.scores.plain.map
    );
    // `auto` (the default) runs the ONNX file on ONNX Runtime where its library is found; `tract` asks for tract:
    // the same mAP either way (to 1e-4: the engines agree to ~1e-6 per value, which can swap gallery images whose
    // distances tie to 1e-9 on synthetic persons).
    assert!(ev2.engine.starts_with("ONNX Runtime"), "{}", ev2.engine);
    let on = |engine: &str| {
        let o = [format!("evaluate.checkpoint={onnx}"), format!("evaluate.engine={engine}")];
        tasks::evaluate(&spec(&a, &data, 3, &[&o[0], &o[1]]), &NoProgress).unwrap()
    };
    let (by_tract, by_ort) = (on("tract"), on("ort-cpu"));
    assert_eq!(by_tract.engine, "tract");
    assert!(by_ort.engine.starts_with("ONNX Runtime"), "{}", by_ort.engine);
    let (t, o) = (by_tract.scores.plain.map, by_ort.scores.plain.map);
    assert!((t - o).abs() < 1e-4, "tract {t} vs ONNX Runtime {o}");
    assert_eq!(ev.engine, "burn (CPU)");
    let (json, n) = tasks::inference(&s2, &NoProgress).unwrap();
    let set = reid_runtime::embeddings::read_tao_json(&json).unwrap();
    assert_eq!(set.len(), n);
    assert_eq!(n, ev.query.len() + ev.gallery.len());
    assert_eq!(set.dim(), 32);
}

#[test]
fn export_refuses_a_missing_checkpoint_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("nodata");
    let s = spec(tmp.path(), &data, 1, &["export.checkpoint=/nonexistent/model.safetensors"]);
    let err = tasks::export(&s, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/model.safetensors"), "{err}");
    let s = spec(tmp.path(), &data, 1, &[]);
    let err = tasks::evaluate(&s, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("evaluate.checkpoint"), "{err}");
    let err = train(&s, &mut Silent).unwrap_err().to_string();
    assert!(err.contains("nodata"), "a missing dataset folder is named: {err}");
}

/// Two replicas (on the CPU, standing in for two GPUs) run the data-parallel path: it trains and learns.
#[test]
fn data_parallel_steps_train() {
    use burn::tensor::Device;
    let tmp = tempfile::tempdir().unwrap();
    dataset(tmp.path());
    let data = tmp.path().join("data");
    let devices = [Device::flex(), Device::flex()];
    let run =
        reid_trainer::train::run::train_on(&spec(&tmp.path().join("p"), &data, 2, &[]), &devices, &mut Silent).unwrap();
    assert_eq!(run.history.len(), 2);
    assert!(run.history.iter().all(|r| r.loss.is_finite() && r.images > 0), "{:?}", run.history);
    let before = run.initial.unwrap().map;
    let after = run.history[1].validation.unwrap().map;
    assert!(after > before, "mAP {before} -> {after}");
}

/// Collects the loop's messages.
#[derive(Default)]
struct Messages(Vec<String>);

impl reid_trainer::train::TrainObserver for Messages {
    fn message(&mut self, text: &str) {
        self.0.push(text.to_owned());
    }
}

#[test]
fn unreadable_images_stop_the_run_unless_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    dataset(tmp.path());
    let data = tmp.path().join("data");
    // A ninth identity whose only image is corrupt, and a corrupt query image.
    std::fs::write(data.join("bounding_box_train/0999_c1s1_000001_00.jpg"), b"not a jpeg").unwrap();
    std::fs::write(data.join("query/0999_c2s1_000001_00.jpg"), b"\xff\xd8\xff truncated").unwrap();

    let err = train(&spec(&tmp.path().join("a"), &data, 1, &[]), &mut Silent).unwrap_err().to_string();
    assert!(err.contains("0999_c") && err.contains(".jpg"), "the corrupt image is named: {err}");

    let mut messages = Messages::default();
    let s = spec(&tmp.path().join("b"), &data, 1, &["dataset.skip_unreadable=True"]);
    let run = train(&s, &mut messages).unwrap();
    assert_eq!(run.skipped_unreadable, 2);
    assert_eq!(run.history.len(), 1);
    let skipped: Vec<_> = messages.0.iter().filter(|m| m.starts_with("skipping unreadable image")).collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().any(|m| m.contains("bounding_box_train/0999_c1s1_000001_00.jpg")), "{skipped:?}");
    // The corrupt image's identity is gone: 8 classes as the spec says, no mismatch note.
    assert!(!messages.0.iter().any(|m| m.contains("holds 9 identities")), "{:?}", messages.0);
}
