//! Training a TransReID ViT (overlapping patches, camera SIE, JPM, stochastic depth) end to end on the tiny
//! synthetic dataset: a run stopped and resumed equals the uninterrupted run bit for bit, the checkpoint evaluates
//! with the query/gallery cameras, and a camera beyond the SIE table is an error naming the image.

use crate::train_loop::dataset;
use reid_eval::progress::NoProgress;
use reid_models::weights::Checkpoint;
use reid_trainer::spec::Spec;
use reid_trainer::train::{Silent, TrainObserver, tasks, train};
use std::path::Path;

fn spec(results: &Path, data: &Path, epochs: usize, extra: &[&str]) -> Spec {
    let text = format!(
        r#"
results_dir: "{results}"
model:
  backbone: vit_tiny_patch16_TransReID
  input_width: 32
  input_height: 64
  stride_size: [12, 12]
  feat_dim: 128
  pretrain_choice: ""
  neck_feat: before
  no_margin: True
  label_smooth: True
  drop_path: 0.1
  sie_camera: True
  sie_coe: 3.0
  jpm: True
  shift_num: 5
  shuffle_group: 2
  devide_length: 4
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
    bias_lr_factor: 2
    warmup_epochs: 1
    warmup_method: transreid_cosine
  num_epochs: {epochs}
  checkpoint_interval: 1
  validation_interval: 3
  seed: 7
"#,
        results = results.display(),
        data = data.display()
    );
    let overrides: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    Spec::parse(&text, "vit.yaml", &overrides).unwrap()
}

/// Kills the run (a panic) as soon as epoch 1's checkpoint is written.
struct StopAfterFirstCheckpoint;

impl TrainObserver for StopAfterFirstCheckpoint {
    fn message(&mut self, text: &str) {
        if text.starts_with("epoch 1: checkpoint") {
            panic!("stopped after {text}");
        }
    }
}

#[test]
fn vit_with_sie_and_jpm_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    dataset(tmp.path());
    let data = tmp.path().join("data");

    let full = train(&spec(&tmp.path().join("a"), &data, 3, &[]), &mut Silent).unwrap();
    assert_eq!(full.history.len(), 3);
    assert!(full.history.iter().all(|r| r.loss.is_finite() && r.id_loss.is_some() && r.triplet_loss.is_some()));

    // Stopped right after epoch 1's checkpoint (the cosine schedule spans num_epochs, so the stopped run must be
    // the same 3-epoch run, not a 1-epoch one), then started again with the same results folder.
    let b = tmp.path().join("b");
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train(&spec(&b, &data, 3, &[]), &mut StopAfterFirstCheckpoint)
    }));
    assert!(stopped.is_err(), "the run was to be stopped after epoch 1");
    let checkpoints: Vec<_> = std::fs::read_dir(b.join("train/checkpoints")).unwrap().flatten().collect();
    assert_eq!(checkpoints.len(), 1, "only epoch 1 was saved");
    let resumed = train(&spec(&b, &data, 3, &[]), &mut Silent).unwrap();
    assert_eq!(resumed.history.len(), 3);
    for (x, y) in full.history.iter().zip(&resumed.history) {
        assert_eq!((x.loss, x.lr, x.accuracy), (y.loss, y.lr, y.accuracy), "epoch {}", x.epoch);
    }
    // Bit for bit: every tensor of the final networks, the SIE table and JPM's branches included.
    let (wa, wb) = (Checkpoint::open(&full.last_model).unwrap(), Checkpoint::open(&resumed.last_model).unwrap());
    assert_eq!(wa.tensors.keys().collect::<Vec<_>>(), wb.tensors.keys().collect::<Vec<_>>());
    for key in ["base.sie_embed", "jpm.b2.block.attn.qkv.weight", "jpm.classifiers.3.weight", "classifier.weight"] {
        assert!(wa.tensors.contains_key(key), "{key} missing from {:?}", wa.tensors.keys().collect::<Vec<_>>());
    }
    assert_eq!(wa.f32("base.sie_embed").unwrap().0, vec![2, 1, 128], "two cameras in the training split");
    let differ: Vec<&String> =
        wa.tensors.iter().filter(|(k, t)| t.as_bytes() != wb.tensors[*k].as_bytes()).map(|(k, _)| k).collect();
    assert!(differ.is_empty(), "differ after resuming: {differ:?}");
    let (va, vb) = (full.history[2].validation.unwrap(), resumed.history[2].validation.unwrap());
    assert_eq!(va.map, vb.map);

    // The checkpoint evaluates with each image's camera and repeats the final validation.
    let model = full.last_model.display().to_string();
    let s = spec(&tmp.path().join("a"), &data, 3, &[&format!("evaluate.checkpoint={model}")]);
    let ev = tasks::evaluate(&s, &NoProgress).unwrap();
    assert!((ev.scores.plain.map - va.map).abs() < 1e-6, "{} vs {}", ev.scores.plain.map, va.map);

    // The same checkpoint with SIE switched off in the spec: refused, naming the key, not silently dropped.
    let s = spec(&tmp.path().join("a"), &data, 3, &[&format!("evaluate.checkpoint={model}"), "model.sie_camera=False"]);
    let err = tasks::evaluate(&s, &NoProgress).unwrap_err().to_string();
    assert!(err.contains("base.sie_embed, 2 cameras") && err.contains("model.sie_camera is False"), "{err}");

    // A query seen by camera 5, which the two-camera SIE table does not have: an error naming the image.
    let query = tmp.path().join("query5");
    std::fs::create_dir_all(&query).unwrap();
    let first = std::fs::read_dir(data.join("query")).unwrap().flatten().map(|e| e.path()).min().unwrap();
    let name = first.file_name().unwrap().to_string_lossy().replacen("_c1", "_c5", 1).replacen("_c2", "_c5", 1);
    std::fs::copy(&first, query.join(&name)).unwrap();
    let q = format!("evaluate.query_dataset={}", query.display());
    let s = spec(&tmp.path().join("a"), &data, 3, &[&format!("evaluate.checkpoint={model}"), &q]);
    let err = tasks::evaluate(&s, &NoProgress).unwrap_err().to_string();
    assert!(err.contains(&name) && err.contains("camera id 4") && err.contains("model.sie_camera"), "{err}");
}

/// Two replicas run the data-parallel step with camera ids and JPM's local losses.
#[test]
fn vit_data_parallel_steps_train() {
    use burn::tensor::Device;
    let tmp = tempfile::tempdir().unwrap();
    dataset(tmp.path());
    let data = tmp.path().join("data");
    let devices = [Device::flex(), Device::flex()];
    let s = spec(&tmp.path().join("p"), &data, 1, &["train.validation_interval=1"]);
    let run = reid_trainer::train::run::train_on(&s, &devices, &mut Silent).unwrap();
    let r = &run.history[0];
    assert!(r.loss.is_finite() && r.images == 48 && r.id_loss.is_some(), "{r:?}");
}
