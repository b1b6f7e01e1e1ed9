//! The TAO spec file: the seed example, defaults, errors naming keys, overrides, interpolation, network config.

use reid_models::config::BlockKind;
use reid_models::{BackboneConfig, Neck, NeckFeat};
use reid_trainer::data::sampler::SamplerKind;
use reid_trainer::loss::MetricLossType;
use reid_trainer::optim::OptimizerKind;
use reid_trainer::optim::schedule::WarmupMethod;
use reid_trainer::spec::{PretrainChoice, Spec, SpecError};
use std::path::{Path, PathBuf};

const TAO_EXAMPLE: &str = include_str!("../specs/tao_example.yaml");
const RESNET50: &str = include_str!("../specs/resnet50_market.yaml");
const QUICKSTART: &str = include_str!("../specs/quickstart.yaml");
const TRANSREID: &str = include_str!("../specs/transreid_vit_base_market.yaml");
const QUICKSTART_VIT: &str = include_str!("../specs/quickstart_vit.yaml");

fn parse(text: &str) -> Result<Spec, SpecError> {
    Spec::parse(text, "spec.yaml", &[])
}

fn parse_with(text: &str, overrides: &[&str]) -> Result<Spec, SpecError> {
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    Spec::parse(text, "spec.yaml", &overrides)
}

fn error(text: &str, overrides: &[&str]) -> String {
    match parse_with(text, overrides) {
        Ok(_) => panic!("expected an error for\n{text}\nwith {overrides:?}"),
        Err(e) => e.to_string(),
    }
}

fn assert_contains(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` missing from: {message}");
    }
}

#[test]
fn seed_example_parses_with_the_seed_values() {
    let spec = parse(TAO_EXAMPLE).unwrap();
    assert_eq!(spec.results_dir.as_deref(), Some(Path::new("/path/to/experiment_results")));
    assert_eq!(spec.encryption_key.as_deref(), Some("nvidia_tao"));
    let m = &spec.model;
    assert_eq!(m.backbone, "swin_tiny_patch4_window7_224");
    assert_eq!(m.last_stride, 1);
    assert_eq!(m.pretrain_choice, PretrainChoice::SelfSupervised);
    assert_eq!(m.pretrained_model_path.as_deref(), Some(Path::new("/path/to/pretrained_model.pth")));
    assert_eq!((m.input_channels, m.input_height, m.input_width), (3, 384, 128));
    assert_eq!(m.neck, Neck::Bnneck);
    assert_eq!(m.stride_size, vec![16, 16]);
    assert_eq!(m.feat_dim, 1024);
    assert!(m.no_margin);
    assert_eq!(m.neck_feat, NeckFeat::After);
    assert_eq!(m.metric_loss_type, MetricLossType::Triplet);
    assert!(!m.with_center_loss && !m.with_flip_feature && !m.label_smooth);
    assert_eq!(m.pretrain_hw_ratio, 2.0);
    let d = &spec.dataset;
    assert_eq!(d.train_dataset_dir.as_deref(), Some(Path::new("/path/to/train_dataset_dir")));
    assert_eq!(d.query_dataset_dir.as_deref(), Some(Path::new("/path/to/query_dataset_dir")));
    assert_eq!((d.num_classes, d.batch_size, d.val_batch_size, d.num_workers), (751, 64, 128, 8));
    assert_eq!(d.pixel_mean, vec![0.5, 0.5, 0.5]);
    assert_eq!(d.pixel_std, vec![0.5, 0.5, 0.5]);
    assert_eq!((d.padding, d.prob, d.re_prob), (10, 0.5, 0.5));
    assert_eq!((d.sampler, d.num_instances), (SamplerKind::SoftmaxTriplet, 4));
    let r = &spec.re_ranking;
    assert!(r.re_ranking);
    assert_eq!((r.k1, r.k2, r.lambda_value), (20, 6, 0.3));
    let t = &spec.train;
    assert_eq!(t.results_dir.as_deref(), Some(Path::new("/path/to/experiment_results/train")));
    assert_eq!((t.num_epochs, t.checkpoint_interval), (120, 10));
    let o = &t.optim;
    assert_eq!(o.name, OptimizerKind::Sgd);
    assert_eq!(o.lr_steps, vec![40, 70]);
    assert_eq!((o.gamma, o.bias_lr_factor), (0.1, 2.0));
    assert_eq!((o.weight_decay, o.weight_decay_bias), (0.0001, 0.0001));
    assert_eq!((o.warmup_factor, o.warmup_epochs, o.warmup_method), (0.01, 20, WarmupMethod::Cosine));
    assert_eq!((o.base_lr, o.momentum), (0.0008, 0.9));
    assert_eq!((o.center_loss_weight, o.center_lr, o.triplet_loss_margin), (0.0005, 0.5, 0.3));
    assert!(!o.large_fc_lr);
    // Derived from results_dir.
    assert_eq!(spec.evaluate.results_dir.as_deref(), Some(Path::new("/path/to/experiment_results/evaluate")));
    assert_eq!(spec.export.results_dir.as_deref(), Some(Path::new("/path/to/experiment_results/export")));
    // Where values came from.
    assert_eq!(spec.location("train.optim.base_lr").and_then(|l| l.line()), Some(55));
    assert!(spec.is_set("model.stride_size"));
    assert!(!spec.is_set("train.clip_grad_norm"));
}

#[test]
fn absent_keys_take_the_table_defaults() {
    assert_eq!(parse("").unwrap(), Spec::default());
    assert_eq!(parse("# nothing but a comment\n").unwrap(), Spec::default());
    let spec = parse("model:\n  backbone: resnet_50\nre_ranking:\n").unwrap();
    assert_eq!(spec.model.backbone, "resnet_50");
    assert_eq!((spec.model.input_height, spec.model.input_width, spec.model.feat_dim), (384, 128, 1024));
    assert_eq!(spec.model.pretrain_choice, PretrainChoice::SelfSupervised);
    assert!(spec.model.no_margin);
    assert_eq!(spec.dataset.batch_size, 64);
    assert_eq!(spec.dataset.num_classes, 751);
    assert_eq!(spec.dataset.pixel_std, vec![0.5, 0.5, 0.5]);
    assert!(spec.re_ranking.re_ranking);
    assert_eq!(spec.re_ranking.k1, 20);
    assert_eq!(spec.train.num_epochs, 120);
    assert_eq!(spec.train.clip_grad_norm, 0.0);
    assert_eq!(spec.train.gpu_ids, vec![0]);
    assert_eq!(spec.train.optim.name, OptimizerKind::Sgd);
    assert_eq!(spec.train.optim.base_lr, 0.0008);
    assert_eq!(spec.train.optim.warmup_method, WarmupMethod::Cosine);
    assert_eq!(spec.train.optim.lr_steps, vec![40, 70]);
    // No results_dir: nothing to derive section folders from.
    assert_eq!(spec.results_dir, None);
    assert_eq!(spec.train.results_dir, None);
    assert_eq!(spec.evaluate.checkpoint, None);
}

#[test]
fn a_typo_names_the_full_key_and_suggests_the_right_one() {
    let message = error("train:\n  optim:\n    base_lrr: 0.01\n", &[]);
    assert_contains(&message, &["unknown key train.optim.base_lrr", "spec.yaml line 3", "did you mean base_lr?"]);

    let message = error("modle:\n  backbone: resnet_50\n", &[]);
    assert_contains(&message, &["unknown key modle", "line 1", "did you mean model?"]);

    // A real key in the wrong section points to where it belongs.
    let message = error("model:\n  batch_size: 32\n", &[]);
    assert_contains(&message, &["unknown key model.batch_size", "did you mean dataset.batch_size?"]);

    let message = error("dataset:\n  totally_new: 1\n", &[]);
    assert_contains(&message, &["unknown key dataset.totally_new"]);
}

#[test]
fn a_wrong_type_names_the_key_and_the_line() {
    let e = parse_with("model:\n  backbone: resnet_50\ntrain:\n  optim:\n    base_lr: fast\n", &[]).unwrap_err();
    assert_eq!(e.key(), Some("train.optim.base_lr"));
    assert_eq!(e.location().and_then(|l| l.line()), Some(5));
    assert_contains(&e.to_string(), &["train.optim.base_lr", "\"fast\"", "line 5"]);

    let message = error("dataset:\n  pixel_mean: [0.5, x, 0.5]\n", &[]);
    assert_contains(&message, &["dataset.pixel_mean[1]", "line 2"]);

    let message = error("dataset:\n  sampler: random\n", &[]);
    assert_contains(&message, &["dataset.sampler", "`random` is not one of softmax, triplet, softmax_triplet"]);

    let message = error("train:\n  num_epochs: -3\n", &[]);
    assert_contains(&message, &["train.num_epochs", "-3"]);

    let message = error("train: [1, 2]\n", &[]);
    assert_contains(&message, &["train", "line 1"]);
}

#[test]
fn out_of_range_values_name_key_value_and_range() {
    let cases: &[(&str, &[&str])] = &[
        ("dataset:\n  prob: 1.5\n", &["dataset.prob = 1.5 is out of range [0, 1]", "line 2"]),
        ("re_ranking:\n  k1: 0\n", &["re_ranking.k1 = 0 must be >= 1"]),
        ("dataset:\n  batch_size: 64\n  num_instances: 3\n", &["dataset.num_instances = 3", "dataset.batch_size = 64"]),
        ("train:\n  optim:\n    lr_steps: [70, 40]\n", &["train.optim.lr_steps = [70, 40]", "ascending"]),
        ("model:\n  pretrain_hw_ratio: 0\n", &["model.pretrain_hw_ratio = 0 must be > 0"]),
        ("train:\n  optim:\n    momentum: 1.0\n", &["train.optim.momentum = 1 is out of range [0, 1)"]),
        ("dataset:\n  pixel_mean: [0.5, 0.5]\n", &["dataset.pixel_mean = [0.5, 0.5]", "model.input_channels = 3"]),
        ("dataset:\n  pixel_std: [0.5, 0, 0.5]\n", &["dataset.pixel_std", "> 0"]),
        ("model:\n  input_width: 0\n", &["model.input_width = 0 must be >= 1"]),
        ("model:\n  input_width: 16\n", &["model.input_width = 16", "at least 32"]),
        ("train:\n  clip_grad_norm: -1\n", &["train.clip_grad_norm = -1 must be >= 0"]),
        ("re_ranking:\n  lambda_value: 2\n", &["re_ranking.lambda_value = 2 is out of range [0, 1]"]),
        ("model:\n  backbone: resnet_50\n  last_stride: 3\n", &["model.last_stride = 3", "line 3"]),
    ];
    for (text, parts) in cases {
        assert_contains(&error(text, &[]), parts);
    }
    // num_instances need not divide the batch when batches are not identity-grouped.
    parse("dataset:\n  sampler: softmax\n  batch_size: 30\n  num_instances: 4\n").unwrap();
}

#[test]
fn overrides_change_values_like_tao_command_lines() {
    let spec = parse_with(
        TAO_EXAMPLE,
        &[
            "train.num_epochs=10",
            "train.optim.base_lr=0.01",
            "dataset.pixel_mean=[0.485,0.456,0.406]",
            "model.with_center_loss=True",
            "model.backbone=resnet_50",
            "train.gpu_ids=[0, 1]",
            "evaluate.checkpoint=/ckpt/model_epoch_120.mpk",
            "model.pretrain_choice=",
        ],
    )
    .unwrap();
    assert_eq!(spec.train.num_epochs, 10);
    assert_eq!(spec.train.optim.base_lr, 0.01);
    assert_eq!(spec.dataset.pixel_mean, vec![0.485, 0.456, 0.406]);
    assert!(spec.model.with_center_loss);
    assert_eq!(spec.model.backbone, "resnet_50");
    assert_eq!(spec.train.gpu_ids, vec![0, 1]);
    assert_eq!(spec.evaluate.checkpoint.as_deref(), Some(Path::new("/ckpt/model_epoch_120.mpk")));
    assert_eq!(spec.model.pretrain_choice, PretrainChoice::None);
    assert!(matches!(spec.location("train.num_epochs"), Some(reid_trainer::spec::Location::Override { .. })));
    // Unchanged keys keep the file's values.
    assert_eq!(spec.re_ranking.k1, 20);

    // `~key` puts a key back to its default.
    let spec = parse_with(TAO_EXAMPLE, &["~train.num_epochs"]).unwrap();
    assert_eq!(spec.train.num_epochs, 120);
    let spec = parse_with("train:\n  num_epochs: 7\n", &["~train.num_epochs"]).unwrap();
    assert_eq!(spec.train.num_epochs, 120);

    // The override's errors name it.
    let message = error(TAO_EXAMPLE, &["train.optim.base_lrr=0.1"]);
    assert_contains(&message, &["unknown key train.optim.base_lrr", "override `train.optim.base_lrr=0.1`", "base_lr"]);
    let message = error(TAO_EXAMPLE, &["trian.num_epochs=3"]);
    assert_contains(&message, &["unknown key trian.num_epochs", "did you mean train?"]);
    let message = error(TAO_EXAMPLE, &["train.num_epochs.x=3"]);
    assert_contains(&message, &["unknown key train.num_epochs.x"]);
    let message = error(TAO_EXAMPLE, &["dataset.prob=2"]);
    assert_contains(&message, &["dataset.prob = 2 is out of range [0, 1]", "override `dataset.prob=2`"]);
    let message = error(TAO_EXAMPLE, &["train.num_epochs=ten"]);
    assert_contains(&message, &["train.num_epochs", "\"ten\"", "override"]);
    let message = error(TAO_EXAMPLE, &["train.num_epochs"]);
    assert_contains(&message, &["override `train.num_epochs`", "key=value"]);
}

#[test]
fn results_dir_is_interpolated_after_overrides() {
    let spec = parse_with(TAO_EXAMPLE, &["results_dir=/tmp/x"]).unwrap();
    assert_eq!(spec.results_dir.as_deref(), Some(Path::new("/tmp/x")));
    assert_eq!(spec.train.results_dir.as_deref(), Some(Path::new("/tmp/x/train")));
    assert_eq!(spec.inference.results_dir.as_deref(), Some(Path::new("/tmp/x/inference")));

    let text = "results_dir: /r\n\
                dataset:\n  train_dataset_dir: ${results_dir}/data/bounding_box_train\n  batch_size: 48\n  \
                val_batch_size: ${dataset.batch_size}\n\
                evaluate:\n  output_cmc_curve_plot: \"${evaluate.results_dir}/cmc.png\"\n  results_dir: ${results_dir}/ev\n\
                export:\n  onnx_file: ${.results_dir}/model.onnx\n";
    let spec = parse(text).unwrap();
    assert_eq!(spec.dataset.train_dataset_dir.as_deref(), Some(Path::new("/r/data/bounding_box_train")));
    assert_eq!(spec.dataset.val_batch_size, 48, "a whole-value reference keeps its type");
    assert_eq!(spec.evaluate.output_cmc_curve_plot.as_deref(), Some(Path::new("/r/ev/cmc.png")));
    // export.results_dir is not in the file: `${.results_dir}` (relative) finds its default, `${results_dir}/export`.
    assert_eq!(spec.export.onnx_file.as_deref(), Some(Path::new("/r/export/model.onnx")));

    let spec = parse_with(text, &["results_dir=/o"]).unwrap();
    assert_eq!(spec.dataset.train_dataset_dir.as_deref(), Some(Path::new("/o/data/bounding_box_train")));
    assert_eq!(spec.export.onnx_file.as_deref(), Some(Path::new("/o/export/model.onnx")));
    assert_eq!(spec.evaluate.results_dir.as_deref(), Some(Path::new("/o/ev")));

    // An override can itself refer to a variable, and `\${` is a literal.
    let spec = parse_with("results_dir: /q\n", &["evaluate.checkpoint=${results_dir}/best.mpk"]).unwrap();
    assert_eq!(spec.evaluate.checkpoint.as_deref(), Some(Path::new("/q/best.mpk")));
    let spec = parse("evaluate:\n  checkpoint: /a/\\${b}\n").unwrap();
    assert_eq!(spec.evaluate.checkpoint.as_deref(), Some(Path::new("/a/${b}")));
}

#[test]
fn an_unknown_variable_is_an_error_naming_it() {
    let e = parse("results_dir: /r\ntrain:\n  results_dir: ${nope}/train\n").unwrap_err();
    assert_eq!(e.key(), Some("train.results_dir"));
    assert_contains(&e.to_string(), &["${nope}", "unknown variable", "line 3"]);
    assert!(matches!(e, SpecError::Interpolation { ref variable, .. } if variable == "nope"));

    let message = error("train:\n  results_dir: ${results_dir}/train\n", &[]);
    assert_contains(&message, &["train.results_dir", "results_dir is not set"]);

    let message = error("results_dir: ${train.results_dir}\ntrain:\n  results_dir: ${results_dir}/t\n", &[]);
    assert_contains(&message, &["refers to itself"]);

    let message = error("results_dir: ${results_dir\n", &[]);
    assert_contains(&message, &["no closing"]);
}

#[test]
fn encryption_key_is_accepted_and_noted_as_unused() {
    let spec = parse("encryption_key: nvidia_tao\n").unwrap();
    assert_eq!(spec.encryption_key.as_deref(), Some("nvidia_tao"));
    assert!(spec.notes().iter().any(|n| n.contains("encryption_key") && n.contains("unused")));
    // A numeric key is still a string.
    let spec = parse("encryption_key: 12345\n").unwrap();
    assert_eq!(spec.encryption_key.as_deref(), Some("12345"));
    assert!(!parse("").unwrap().notes().iter().any(|n| n.contains("encryption_key")));
}

#[test]
fn reid_config_builds_the_named_backbone() {
    let spec = parse(RESNET50).unwrap();
    let config = spec.model.reid_config(spec.dataset.num_classes, 0).unwrap();
    match &config.backbone {
        BackboneConfig::Resnet(r) => {
            assert_eq!(r.block, BlockKind::Bottleneck);
            assert_eq!(r.layers, [3, 4, 6, 3]);
            assert_eq!(r.last_stride, 1);
        }
        other => panic!("expected a ResNet, got {other:?}"),
    }
    assert_eq!((config.feat_dim, config.num_classes), (256, 751));
    assert_eq!((config.input_height, config.input_width), (256, 128));
    assert_eq!(config.neck, reid_models::Neck::Bnneck);

    let spec = parse(TAO_EXAMPLE).unwrap();
    let config = spec.model.reid_config(10, 0).unwrap();
    assert!(matches!(&config.backbone, BackboneConfig::Swin(s) if s.embed_dim == 96 && s.depths == [2, 2, 6, 2]));
    assert_eq!(config.num_classes, 10);

    let mut model = spec.model.clone();
    model.backbone = "resnet_5O".to_owned();
    let e = model.reid_config(751, 0).unwrap_err();
    assert_eq!(e.key(), Some("model.backbone"));
    assert_contains(&e.to_string(), &["model.backbone = resnet_5O", "not a known backbone", "did you mean resnet_50?"]);

    // The same error when loading, with the line.
    let e = parse("model:\n  backbone: vgg16\n").unwrap_err();
    assert_eq!(e.key(), Some("model.backbone"));
    assert_contains(&e.to_string(), &["vgg16", "line 2"]);

    let e = spec.model.reid_config(0, 0).unwrap_err();
    assert_eq!(e.key(), Some("dataset.num_classes"));
}

#[test]
fn keys_that_do_not_apply_are_noted() {
    let spec = parse("model:\n  backbone: resnet_50\n  stride_size: [12, 12]\n  pretrain_choice: \"\"\n").unwrap();
    let notes = spec.notes();
    assert!(
        notes.contains(&"model.stride_size applies to ViT backbones only; ignored for resnet_50".to_owned()),
        "{notes:?}"
    );
    assert!(!notes.iter().any(|n| n.starts_with("model.pretrain_hw_ratio")), "not set, not noted: {notes:?}");

    let notes = parse(TAO_EXAMPLE).unwrap().notes();
    for part in [
        "model.pretrain_hw_ratio has no effect for swin_tiny_patch4_window7_224: SOLIDER-REID reads it only",
        "model.last_stride applies to ResNet",
        "triplet_loss_margin is unused",
    ] {
        assert!(notes.iter().any(|n| n.contains(part)), "`{part}` missing from {notes:?}");
    }
    let notes = parse("re_ranking:\n  re_ranking: False\n  k1: 30\n").unwrap().notes();
    assert!(notes.iter().any(|n| n.contains("re_ranking.k1 is unused")), "{notes:?}");
}

#[test]
fn python_booleans_option_spellings_and_tao_aliases() {
    let text = "model:\n  no_margin: False\n  label_smooth: TRUE\n  with_flip_feature: yes\n  neck: no\n  \
                pretrain_choice: ''\ntrain:\n  grad_clip: 5.0\n  optim:\n    name: adamw\n    warmup_iters: 10\n    \
                warmup_method: linear\n";
    let spec = parse(text).unwrap();
    assert!(!spec.model.no_margin && spec.model.label_smooth && spec.model.with_flip_feature);
    assert_eq!(spec.model.neck, Neck::None);
    assert_eq!(spec.model.pretrain_choice, PretrainChoice::None);
    assert_eq!(spec.train.clip_grad_norm, 5.0);
    assert_eq!(spec.train.optim.name, OptimizerKind::AdamW);
    assert_eq!(spec.train.optim.warmup_epochs, 10);
    assert!(spec.notes().iter().any(|n| n.contains("warmup_iters is read as train.optim.warmup_epochs")));

    let message = error("train:\n  optim:\n    warmup_iters: 10\n    warmup_epochs: 5\n", &[]);
    assert_contains(&message, &["train.optim.warmup_iters", "warmup_epochs"]);
    let message = error("model:\n  neck: maybe\n", &[]);
    assert_contains(&message, &["model.neck", "bnneck, no"]);
    let message = error("model:\n  label_smooth: perhaps\n", &[]);
    assert_contains(&message, &["model.label_smooth", "perhaps"]);
}

#[test]
fn the_resolved_spec_round_trips_through_yaml() {
    for (text, overrides) in [
        (TAO_EXAMPLE, vec!["results_dir=/tmp/x"]),
        (RESNET50, vec![]),
        (QUICKSTART, vec![]),
        (TRANSREID, vec![]),
        ("", vec![]),
    ] {
        let spec = parse_with(text, &overrides).unwrap();
        let yaml = spec.to_yaml().unwrap();
        let again = parse(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert_eq!(again, spec, "{yaml}");
        assert!(!yaml.contains("${"), "{yaml}");
    }
    let yaml = parse(TAO_EXAMPLE).unwrap().to_yaml().unwrap();
    assert_contains(
        &yaml,
        &["model:\n  backbone: swin_tiny_patch4_window7_224\n", "lr_steps: [40, 70]", "no_margin: True"],
    );
    // Floats stay floats for YAML 1.1 readers too.
    assert_contains(&yaml, &["base_lr: 0.0008", "pretrain_hw_ratio: 2.0"]);
}

#[test]
fn example_specs_parse() {
    let spec = parse(RESNET50).unwrap();
    assert_eq!(spec.model.backbone, "resnet_50");
    assert_eq!((spec.model.input_height, spec.model.input_width), (256, 128));
    assert_eq!(spec.train.optim.name, OptimizerKind::Adam);
    assert_eq!(spec.train.optim.base_lr, 0.00035);
    assert_eq!(spec.dataset.pixel_mean, vec![0.485, 0.456, 0.406]);

    let spec = parse_with(QUICKSTART, &["results_dir=/tmp/q"]).unwrap();
    assert_eq!(spec.model.backbone, "resnet_18");
    assert_eq!((spec.model.input_height, spec.model.input_width), (64, 32));
    assert_eq!((spec.dataset.batch_size, spec.dataset.num_instances), (32, 4));
    assert_eq!(spec.train.num_epochs, 8);
    assert_eq!(spec.train.optim.warmup_epochs, 1);
    assert!(!spec.re_ranking.re_ranking);
    assert_eq!(spec.model.pretrain_choice, PretrainChoice::None);
    assert_eq!(spec.dataset.train_dataset_dir.as_deref(), Some(Path::new("/tmp/q/data/bounding_box_train")));
    assert_eq!(spec.dataset.test_dataset_dir.as_deref(), Some(Path::new("/tmp/q/data/bounding_box_test")));
    assert_eq!(spec.dataset.query_dataset_dir.as_deref(), Some(Path::new("/tmp/q/data/query")));
    spec.model.reid_config(spec.dataset.num_classes, 0).unwrap();
    assert!(spec.notes().is_empty(), "the quick start should be clean: {:?}", spec.notes());
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("experiment.yaml");
    std::fs::write(&path, "results_dir: /r\ntrain:\n  num_epochs: 5\n").unwrap();
    let spec = Spec::load(&path, &["train.checkpoint_interval=5".to_owned()]).unwrap();
    assert_eq!((spec.train.num_epochs, spec.train.checkpoint_interval), (5, 5));
    assert_eq!(spec.train.results_dir, Some(PathBuf::from("/r/train")));

    std::fs::write(&path, "train:\n  num_epoch: 5\n").unwrap();
    let message = Spec::load(&path, &[]).unwrap_err().to_string();
    assert_contains(&message, &["unknown key train.num_epoch", "experiment.yaml line 2", "did you mean num_epochs?"]);

    let missing = dir.path().join("missing.yaml");
    assert_contains(&Spec::load(&missing, &[]).unwrap_err().to_string(), &["missing.yaml"]);

    let saved = dir.path().join("resolved.yaml");
    let spec = parse(TAO_EXAMPLE).unwrap();
    spec.save(&saved).unwrap();
    assert_eq!(Spec::load(&saved, &[]).unwrap(), spec);
}

#[test]
fn yaml_syntax_errors_and_duplicates_give_the_line() {
    let message = error("model:\n  backbone: [resnet_50\n", &[]);
    assert_contains(&message, &["spec.yaml line"]);
    let message = error("model:\n  backbone: resnet_50\n  backbone: resnet_18\n", &[]);
    assert_contains(&message, &["duplicate key model.backbone", "line 3", "first given on line 2"]);
    let message = error("- a\n- b\n", &[]);
    assert_contains(&message, &["mapping of sections"]);
    let e = parse("dataset:\n  batch_size: 6\n  num_instances: 4\n").unwrap_err();
    assert_eq!(e.location().and_then(|l| l.line()), Some(3));
}

#[test]
fn known_keys_cover_the_tables() {
    let keys = Spec::known_keys();
    for key in [
        "results_dir",
        "encryption_key",
        "model.pretrain_hw_ratio",
        "dataset.num_instances",
        "re_ranking.lambda_value",
        "train.optim.large_fc_lr",
        "train.clip_grad_norm",
        "evaluate.output_cmc_curve_plot",
        "inference.output_file",
        "export.onnx_file",
    ] {
        assert!(keys.iter().any(|k| k == key), "{key} missing from {keys:?}");
    }
}

#[test]
fn empty_and_null_paths_are_no_path() {
    let spec =
        parse("model:\n  pretrained_model_path: \"\"\n  pretrain_choice: \"\"\nevaluate:\n  checkpoint: ~\n").unwrap();
    assert_eq!(spec.model.pretrained_model_path, None);
    assert_eq!(spec.evaluate.checkpoint, None);
    let message = error("model:\n  backbone: ~\n", &[]);
    assert_contains(&message, &["model.backbone", "null", "line 2"]);
}

#[test]
fn spec_reid_config_locates_model_errors() {
    let spec = parse("model:\n  backbone: resnet_50\n  feat_dim: 512\n").unwrap();
    assert_eq!(spec.reid_config(100, 0).unwrap().feat_dim, 512);
    let e = spec.reid_config(0, 0).unwrap_err();
    assert_eq!(e.key(), Some("dataset.num_classes"));
    let mut model = spec.clone();
    model.model.feat_dim = 100_000;
    let e = model.reid_config(10, 0).unwrap_err();
    assert_eq!(e.key(), Some("model.feat_dim"));
    assert_eq!(e.location().and_then(|l| l.line()), Some(3));
}

/// Every key of transreid_vit_base_market.yaml takes effect (no notes) and builds TransReID's ViT-B/16 with stride
/// 12, camera SIE from the training split, JPM and its recipe.
#[test]
fn transreid_spec_builds_transreid_vit_with_sie_and_jpm() {
    use reid_models::config::JpmConfig;
    use reid_trainer::data::load_train_set;
    use reid_trainer::train::RunPlan;
    let spec = parse(TRANSREID).unwrap();
    assert!(spec.notes().is_empty(), "every key of the TransReID spec takes effect: {:?}", spec.notes());
    // Cameras from a fake Market split: c1, c2, c3, c6 -> ids 0, 1, 2, 5, a table of 6 (Market's six cameras).
    let dir = tempfile::tempdir().unwrap();
    for name in
        ["0001_c1s1_000001_00.jpg", "0001_c3s1_000002_00.jpg", "0002_c2s1_000003_00.jpg", "0002_c6s2_000004_00.jpg"]
    {
        std::fs::write(dir.path().join(name), b"").unwrap();
    }
    let split = load_train_set(dir.path()).unwrap();
    let (ids, cameras) = split.sie_cameras().unwrap();
    assert_eq!((ids, cameras), (vec![0, 2, 1, 5], 6));
    let config = spec.reid_config(751, cameras).unwrap();
    let BackboneConfig::Vit(v) = &config.backbone else { panic!("expected a ViT, got {:?}", config.backbone) };
    assert_eq!((v.embed_dim, v.depth, v.num_heads, v.patch_size), (768, 12, 12, 16));
    assert_eq!((v.stride, v.image_size, v.grid()), ([12, 12], [256, 128], [21, 10]));
    assert_eq!(v.drop_path_rate, 0.1);
    assert_eq!((v.sie.cameras, v.sie.views, v.sie.coe, v.sie.rows()), (6, 0, 3.0, 6));
    let jpm = JpmConfig { shift_num: 5, shuffle_group: 2, devide_length: 4, re_arrange: true };
    assert_eq!(config.jpm, Some(jpm));
    assert_eq!((config.feat_dim, config.embedding_dim(), config.num_classes), (768, 3840, 751));
    assert_eq!((config.neck, config.neck_feat), (Neck::Bnneck, NeckFeat::Before));
    assert_eq!(spec.model.pretrain_choice, PretrainChoice::Imagenet);
    assert!(spec.model.no_margin && !spec.model.label_smooth && !spec.model.with_center_loss);
    let d = &spec.dataset;
    assert_eq!((d.batch_size, d.num_instances, d.sampler), (64, 4, SamplerKind::SoftmaxTriplet));
    assert_eq!((d.pixel_mean.clone(), d.pixel_std.clone()), (vec![0.5; 3], vec![0.5; 3]));
    assert_eq!((d.padding, d.prob, d.re_prob), (10, 0.5, 0.5));
    let o = &spec.train.optim;
    assert_eq!(
        (o.name, o.base_lr, o.momentum, o.weight_decay, o.weight_decay_bias),
        (OptimizerKind::Sgd, 0.008, 0.9, 1e-4, 1e-4)
    );
    assert_eq!((o.bias_lr_factor, o.large_fc_lr, o.warmup_method), (2.0, false, WarmupMethod::TransreidCosine));
    assert_eq!((o.warmup_epochs, o.warmup_factor, spec.train.num_epochs), (5, 0.01, 120));
    // The schedule as TransReID steps it: epoch 1 (0-based 0) one warm-up step in, the last epoch at lr_min.
    let plan = RunPlan::from_spec(&parse_with(TRANSREID, &[]).unwrap()).unwrap();
    let lr = |e| plan.schedule.lr_at(e);
    assert!((lr(0) - (0.00008 + (0.008 - 0.00008) / 5.0)).abs() < 1e-12, "{}", lr(0));
    assert!((lr(3) - 0.008 * (0.01 + 0.99 * 4.0 / 5.0)).abs() < 1e-12, "{}", lr(3));
    let cosine = |t: f64| 0.000016 + 0.5 * (0.008 - 0.000016) * (1.0 + (std::f64::consts::PI * t / 120.0).cos());
    assert!((lr(4) - cosine(5.0)).abs() < 1e-12 && (lr(59) - cosine(60.0)).abs() < 1e-12);
    assert!((lr(119) - 0.000016).abs() < 1e-12, "the 120th epoch trains at lr_min: {}", lr(119));
    assert!(plan.model.sie_camera);
}

#[test]
fn quickstart_vit_spec_is_clean_and_small() {
    let spec = parse_with(QUICKSTART_VIT, &["results_dir=/tmp/q"]).unwrap();
    assert!(spec.notes().is_empty(), "{:?}", spec.notes());
    assert_eq!(spec.model.backbone, reid_trainer::spec::TINY_VIT);
    let config = spec.reid_config(100, 4).unwrap();
    let v = config.vit().unwrap();
    assert_eq!((v.embed_dim, v.depth, v.grid(), v.sie.cameras), (128, 4, [10, 5], 4));
    assert!(config.jpm.is_some());
}

#[test]
fn vit_keys_are_noted_where_they_do_nothing() {
    let notes =
        parse("model:\n  backbone: resnet_50\n  sie_camera: True\n  jpm: True\n  shift_num: 3\n  drop_path: 0.2\n")
            .unwrap()
            .notes();
    for key in ["model.sie_camera", "model.jpm", "model.shift_num", "model.drop_path"] {
        assert!(notes.iter().any(|n| n.starts_with(key) && n.contains("ignored for resnet_50")), "{key}: {notes:?}");
    }
    let swin =
        parse("model:\n  backbone: swin_tiny_patch4_window7_224\n  drop_path: 0.2\n  devide_length: 2\n").unwrap();
    assert!(!swin.notes().iter().any(|n| n.contains("drop_path")), "drop_path applies to Swin: {:?}", swin.notes());
    assert!(swin.notes().iter().any(|n| n.starts_with("model.devide_length applies to ViT backbones only")));
    assert!(matches!(swin.reid_config(5, 0).unwrap().backbone, BackboneConfig::Swin(s) if s.drop_path_rate == 0.2));
    let vit = "model:\n  backbone: vit_base_patch16_224_TransReID\n  input_height: 256\n  feat_dim: 768\n";
    let notes = parse(&format!("{vit}  shuffle_group: 3\n  sie_coe: 2.0\n  sie_view: True\n  pretrain_hw_ratio: 2\n"))
        .unwrap()
        .notes();
    for part in [
        "model.shuffle_group applies to the jigsaw patch module, which is off",
        "model.sie_coe is unused",
        "model.sie_view is ignored: the dataset formats read here",
        "model.pretrain_hw_ratio has no effect: a pretrained ViT position grid is resized only when it is square",
    ] {
        assert!(notes.iter().any(|n| n.contains(part)), "`{part}` missing from {notes:?}");
    }
    let notes = parse(&format!("{vit}  jpm: True\n  re_arrange: False\n  shift_num: 3\n")).unwrap().notes();
    assert!(notes.iter().any(|n| n.starts_with("model.shift_num is unused: model.re_arrange = False")), "{notes:?}");
}

#[test]
fn bad_vit_settings_name_the_key_and_line() {
    let vit = "model:\n  backbone: vit_base_patch16_224_TransReID\n  input_height: 256\n  feat_dim: 768\n  jpm: True\n";
    let e = parse(&format!("{vit}  stride_size: [17, 12]\n")).unwrap_err();
    assert_eq!(e.key(), Some("model.stride_size"));
    assert_eq!(e.location().and_then(|l| l.line()), Some(6));
    assert_contains(&e.to_string(), &["[17, 12]", "1..=16"]);
    // 21 x 10 = 210 patches: 4 groups divide neither 210 nor 211.
    let e = parse_with(vit, &["model.stride_size=[12,12]", "model.shuffle_group=4"]).unwrap_err();
    assert_eq!(e.key(), Some("model.shuffle_group"));
    assert_contains(&e.to_string(), &["model.shuffle_group = 4", "210", "override `model.shuffle_group=4`"]);
    let e = parse(&format!("{vit}  devide_length: 300\n")).unwrap_err();
    assert_eq!((e.key(), e.location().and_then(|l| l.line())), (Some("model.devide_length"), Some(6)));
    let e = parse(&format!("{vit}  drop_path: 1.5\n")).unwrap_err();
    assert_eq!(e.key(), Some("model.drop_path"));
    let e =
        parse("model:\n  backbone: vit_base_patch16_224_TransReID\n  input_height: 256\n  jpm: True\n").unwrap_err();
    assert_contains(&e.to_string(), &["model.feat_dim = 1024", "the ViT width 768 when model.jpm is on"]);
    // JPM on a ResNet is a key without effect (noted), not an error.
    let spec = parse("model:\n  backbone: resnet_50\n  feat_dim: 64\n  jpm: True\n").unwrap();
    assert_eq!(spec.reid_config(10, 0).unwrap().jpm, None);
}

#[test]
fn nested_aliases_are_refused_quickly_naming_the_line() {
    // "Billion laughs": nine levels of nine aliases would copy 9^9 scalars if expanded.
    let mut text = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for pair in names.windows(2) {
        let items = vec![format!("*{}", pair[0]); 9].join(",");
        text.push_str(&format!("{}: &{} [{items}]\n", pair[1], pair[1]));
    }
    assert!(text.len() < 400, "{}", text.len());
    let start = std::time::Instant::now();
    let message = error(&text, &[]);
    assert!(start.elapsed() < std::time::Duration::from_secs(2), "{:?}", start.elapsed());
    // a = 37, b = 334, c = 3007, d = 27064: the fourth copy of d on line 5 passes the 100000 budget.
    assert_contains(&message, &["spec.yaml line 5", "aliases expand to more than 100000"]);
}

#[test]
fn small_aliases_and_merge_keys_still_work() {
    let spec = parse(
        "dataset:\n  pixel_mean: &m [0.25, 0.5, 0.75]\n  pixel_std: *m\ntrain: &t\n  num_epochs: 7\nevaluate:\n  <<: *t\n",
    );
    // `evaluate` has no num_epochs: the merge brings an unknown key, named with the merge's line.
    let message = spec.map(|_| ()).unwrap_err().to_string();
    assert_contains(&message, &["evaluate.num_epochs"]);
    let spec = parse("dataset:\n  pixel_mean: &m [0.25, 0.5, 0.75]\n  pixel_std: *m\n").unwrap();
    assert_eq!(spec.dataset.pixel_std, vec![0.25, 0.5, 0.75]);
}

#[test]
fn interpolation_that_multiplies_text_is_bounded() {
    let long = "x".repeat(1000);
    let refs = "${results_dir}".repeat(70);
    let message = error(&format!("results_dir: /{long}\ntrain:\n  results_dir: \"{refs}\"\n"), &[]);
    assert_contains(&message, &["train.results_dir", "grows beyond 65536 bytes"]);
    assert!(message.len() < 1000, "the message echoes the value: {} bytes", message.len());
    // Under the bound it works.
    let spec =
        parse(&format!("results_dir: /{long}\ntrain:\n  results_dir: \"{}\"\n", "${results_dir}".repeat(3))).unwrap();
    assert_eq!(spec.train.results_dir.unwrap().as_os_str().len(), 3 * 1001);
}

#[test]
fn input_channels_other_than_three_are_refused_naming_the_key() {
    let message = error(QUICKSTART, &["model.input_channels=1", "dataset.pixel_mean=[0.5]", "dataset.pixel_std=[0.5]"]);
    assert_contains(
        &message,
        &["model.input_channels = 1 is not supported: only 3 (RGB) is", "model.input_channels=1"],
    );
    let message = error("model:\n  input_channels: 4\n", &[]);
    assert_contains(&message, &["model.input_channels = 4", "spec.yaml line 2"]);
    assert_eq!(parse_with(QUICKSTART, &["model.input_channels=3"]).unwrap().model.input_channels, 3);
}

#[test]
fn onnx_engines_are_chosen_by_name() {
    let spec = parse("evaluate:\n  engine: tract\n").unwrap();
    assert_eq!(spec.evaluate.engine, "tract");
    assert_eq!(spec.inference.engine, "", "empty means auto");
    let message = error("inference:\n  engine: openvino\n", &[]);
    assert_contains(&message, &["inference.engine = openvino", "unknown engine", "auto, tract, ort-cpu", "line 2"]);
}
