//! Bad input gets a clear error naming the file, key or spec value; saved networks load back exactly and use
//! PyTorch names.

use crate::common::*;
use burn::tensor::Device;
use reid_models::config::BackboneConfig;
use reid_models::weights::Checkpoint;
use reid_models::{ModelError, ReidModel};

fn resnet_model() -> (reid_models::ReidConfig, ReidModel) {
    let ckpt = Checkpoint::open(&fixture_path("resnet_bottleneck_ls1.safetensors")).unwrap();
    let config = reid_config(&config_of(&ckpt), [64, 32]);
    let model = ReidModel::new(&config, &Device::flex()).unwrap();
    (config, model)
}

fn swin_model() -> (reid_models::ReidConfig, ReidModel) {
    let ckpt = Checkpoint::open(&fixture_path("swin.safetensors")).unwrap();
    let config = reid_config(&config_of(&ckpt), [224, 224]);
    let model = ReidModel::new(&config, &Device::flex()).unwrap();
    (config, model)
}

#[test]
fn truncated_checkpoints_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for (src, needle) in [
        ("import_resnet_torchvision.pth", "not a readable PyTorch checkpoint"),
        ("import_swin_timm.safetensors", "not a valid safetensors file"),
    ] {
        let bytes = std::fs::read(fixture_path(src)).unwrap();
        let cut = dir.path().join(format!("cut_{src}"));
        std::fs::write(&cut, &bytes[..bytes.len() * 3 / 5]).unwrap();
        let (config, mut model) = resnet_model();
        let err = model.load_pretrained(&cut, &config.backbone).unwrap_err().to_string();
        assert!(err.contains(&format!("cut_{src}")) && err.contains(needle), "{err}");
    }
    let (config, mut model) = resnet_model();
    let err = model.load_pretrained(&dir.path().join("absent.pth"), &config.backbone).unwrap_err().to_string();
    assert!(err.contains("absent.pth") && err.contains("no such file"), "{err}");
}

#[test]
fn wrong_architecture_is_explained() {
    let (config, mut model) = resnet_model();
    let err = model.load_pretrained(&fixture_path("import_swin_timm.pth"), &config.backbone).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ModelError::Missing { .. }), "{text}");
    assert!(text.contains("import_swin_timm.pth") && text.contains("timm Swin checkpoint, not a ResNet"), "{text}");
    assert!(text.contains("base.conv1.weight") || text.contains("base.bn1"), "names missing parameters: {text}");

    let (config, mut model) = swin_model();
    let text = model
        .load_pretrained(&fixture_path("import_resnet_torchvision.pth"), &config.backbone)
        .unwrap_err()
        .to_string();
    assert!(text.contains("torchvision ResNet checkpoint, not a Swin"), "{text}");
}

#[test]
fn shape_mismatch_names_the_key() {
    let ckpt = Checkpoint::open(&fixture_path("resnet_bottleneck_ls1.safetensors")).unwrap();
    let mut config = reid_config(&config_of(&ckpt), [64, 32]);
    if let BackboneConfig::Resnet(r) = &mut config.backbone {
        r.width = 16;
    }
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let err = model.load_pretrained(&fixture_path("import_resnet_torchvision.pth"), &config.backbone).unwrap_err();
    match err {
        ModelError::Shape { key, found, expected, .. } => {
            // Parameters are checked in name order; the first mismatch is the stem's batch norm.
            assert_eq!(key, "base.bn1.bias");
            assert_eq!(found, vec![8]);
            assert_eq!(expected, vec![16]);
        }
        other => panic!("expected a shape error, got {other}"),
    }
}

#[test]
fn unknown_backbone_lists_the_known_ones() {
    let err = BackboneConfig::from_name("vit_base", 1).unwrap_err().to_string();
    assert!(err.contains("model.backbone = `vit_base`") && err.contains("resnet_50"), "{err}");
}

#[test]
fn save_then_load_is_exact_and_pytorch_named() {
    let device = Device::flex();
    let (config, model, _) = load_model("resnet_bottleneck_ls1.safetensors", [64, 32], &device);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("saved.safetensors");
    let meta = std::collections::BTreeMap::from([("config".to_owned(), serde_json::to_string(&config).unwrap())]);
    model.save_safetensors(&path, &meta).unwrap();
    let saved = Checkpoint::open(&path).unwrap();
    for key in [
        "base.layer1.0.downsample.0.weight",
        "base.layer1.0.downsample.1.running_var",
        "bottleneck.weight",
        "classifier.weight",
    ] {
        assert!(
            saved.tensors.contains_key(key),
            "missing {key}: {:?}",
            saved.tensors.keys().take(5).collect::<Vec<_>>()
        );
    }
    // PyTorch layout: linear weights are [out, in].
    assert_eq!(saved.tensors["classifier.weight"].shape().to_vec(), vec![10, 64]);
    assert_eq!(saved.tensors["fcneck.weight"].shape().to_vec(), vec![64, 256]);
    assert!(saved.metadata.contains_key("config"));
    // Values equal the source fixture's.
    let src = Checkpoint::open(&fixture_path("resnet_bottleneck_ls1.safetensors")).unwrap();
    for (k, v) in &saved.tensors {
        let (_, a) = saved.f32(k).unwrap();
        let (_, b) = src.f32(k).unwrap_or_else(|| panic!("{k} not in the source"));
        assert_eq!(a, b, "{k}");
        let _ = v;
    }
    let mut back = ReidModel::new(&config, &device).unwrap();
    back.load_checkpoint(&path, &config.backbone).unwrap();
    let x = formula_input([2, 3, 64, 32], 3, &device);
    assert_eq!(values(back.embed(x.clone())), values(model.embed(x)));
}
