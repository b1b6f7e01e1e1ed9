//! Parity with PyTorch (torchvision ResNet, timm Swin, and the padded Swin reference of
//! `tools/reference/reid_torch_reference.py`): eval-mode features and train-mode logits to 1e-4 (relative to
//! the largest reference value), for fixtures written by `tools/reference/gen_model_fixtures.py`.

use crate::common::*;
use burn::module::Module;
use burn::tensor::Device;
use serde_json::Value;

const TOL: f32 = 1e-4;

fn check_resnet(file: &str) {
    let device = Device::flex();
    let ckpt = reid_models::weights::Checkpoint::open(&fixture_path(file)).unwrap();
    let c = config_of(&ckpt);
    let hw = [c["input_hw"][0].as_u64().unwrap() as usize, c["input_hw"][1].as_u64().unwrap() as usize];
    let (_, model, ckpt) = load_model(file, hw, &device);
    let n = c["batch"].as_u64().unwrap() as usize;
    let x = formula_input([n, 3, hw[0], hw[1]], c["input_seed"].as_u64().unwrap(), &device);
    assert_close(values(model.base.forward(x.clone())), &ckpt, "__backbone", TOL);
    assert_close(values(model.features(x.clone())), &ckpt, "__before", TOL);
    assert_close(values(model.embed(x.clone())), &ckpt, "__after", TOL);
    // Train mode: on an autodiff device the BNs use batch statistics.
    let ad = Device::flex().autodiff();
    let out = model.clone().to_device(&ad).train().forward_train(x.to_device(&ad));
    assert_close(values(out.features), &ckpt, "__train_before", TOL);
    assert_close(values(out.logits), &ckpt, "__train_logits", TOL);
}

#[test]
fn resnet_bottleneck_last_stride_1_matches_torchvision() {
    check_resnet("resnet_bottleneck_ls1.safetensors");
}

#[test]
fn resnet_basic_last_stride_2_matches_torchvision() {
    check_resnet("resnet_basic_ls2.safetensors");
}

fn check_swin(h: usize, w: usize) {
    let device = Device::flex();
    let (_, model, ckpt) = load_model("swin.safetensors", [h, w], &device);
    let c = config_of(&ckpt);
    let seed = c["sizes"].as_array().unwrap().iter().find(|s| s[0] == h && s[1] == w).unwrap()[2].as_u64().unwrap();
    let n = c["batch"].as_u64().unwrap() as usize;
    let x = formula_input([n, 3, h, w], seed, &device);
    let p = format!("__{h}x{w}/");
    assert_close(values(model.base.forward(x.clone())), &ckpt, &format!("{p}backbone"), TOL);
    assert_close(values(model.features(x.clone())), &ckpt, &format!("{p}before"), TOL);
    assert_close(values(model.embed(x.clone())), &ckpt, &format!("{p}after"), TOL);
    let ad = Device::flex().autodiff();
    let out = model.clone().to_device(&ad).train().forward_train(x.to_device(&ad));
    assert_close(values(out.logits), &ckpt, &format!("{p}train_logits"), TOL);
}

#[test]
fn swin_224_matches_timm() {
    check_swin(224, 224);
}

#[test]
fn swin_384x128_matches_padded_reference() {
    check_swin(384, 128);
}

#[test]
fn swin_256x128_matches_padded_reference() {
    check_swin(256, 128);
}

/// Loads a backbone-only checkpoint as `pretrained_model_path` and compares the global feature.
fn check_import(file: &str, family: &str) -> reid_models::weights::ImportReport {
    let device = Device::flex();
    let expected = reid_models::weights::Checkpoint::open(&fixture_path("import_expected.safetensors")).unwrap();
    let meta: Value = config_of(&expected);
    let (source, key, hw, seed, n) = match family {
        "resnet" => ("resnet_bottleneck_ls1.safetensors", "resnet_g", [64, 32], None, 3),
        _ => ("swin.safetensors", "swin_g", [224, 224], Some(201), 2),
    };
    let src = reid_models::weights::Checkpoint::open(&fixture_path(source)).unwrap();
    let c = config_of(&src);
    assert_eq!(meta[family]["backbone"], c["backbone"]);
    let config = reid_config(&c, hw);
    let mut model = reid_models::ReidModel::new(&config, &device).unwrap();
    let report = model.load_pretrained(&fixture_path(file), &config.backbone).unwrap();
    let seed = seed.unwrap_or_else(|| c["input_seed"].as_u64().unwrap());
    let x = formula_input([n, 3, hw[0], hw[1]], seed, &device);
    assert_close(values(model.base.forward(x)), &expected, key, TOL);
    assert!(report.unexpected.is_empty(), "{file}: unexpected keys {:?}", report.unexpected);
    report
}

#[test]
fn imports_torchvision_resnet() {
    let r = check_import("import_resnet_torchvision.pth", "resnet");
    assert!(r.ignored.iter().any(|k| k == "fc.weight"), "the ImageNet classifier is reported as ignored");
    assert!(r.ignored.iter().any(|k| k.ends_with("num_batches_tracked")));
}

#[test]
fn imports_timm_swin_pth_and_safetensors() {
    let r = check_import("import_swin_timm.pth", "swin");
    assert_eq!(r.backbone_layout, reid_models::weights::Layout::Timm);
    check_import("import_swin_timm.safetensors", "swin");
}

#[test]
fn imports_microsoft_swin() {
    let r = check_import("import_swin_official.pth", "swin");
    assert_eq!(r.backbone_layout, reid_models::weights::Layout::MicrosoftSwin);
    assert!(r.ignored.iter().any(|k| k.ends_with("attn_mask")));
}

#[test]
fn imports_solider_swin() {
    let r = check_import("import_swin_solider.pth", "swin");
    assert_eq!(r.backbone_layout, reid_models::weights::Layout::MmdetSwin);
    assert!(r.ignored.iter().any(|k| k.starts_with("semantic_embed_")));
}

/// Full-size parity (ResNet-50 at 256x128, Swin-T at 224x224 and 384x128), for fixtures written by
/// `gen_model_fixtures.py --full DIR`: `REID_FULL_FIXTURES=DIR cargo test -p reid-models --release -- --ignored`.
#[test]
#[ignore = "needs REID_FULL_FIXTURES (about 200 MB, written by gen_model_fixtures.py --full)"]
fn full_size_models_match_pytorch() {
    let dir = std::path::PathBuf::from(std::env::var("REID_FULL_FIXTURES").expect("REID_FULL_FIXTURES"));
    let device = Device::flex();
    let report = |name: &str, got: Vec<f32>, ckpt: &reid_models::weights::Checkpoint| {
        let (_, want) = ckpt.f32(name).unwrap();
        let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        eprintln!("FULL {name}: max |diff| {diff:.3e}, relative {:.3e}", diff / scale);
        assert!(diff <= 1e-4 * scale, "{name}");
    };
    // ResNet-50.
    let path = dir.join("resnet50_full.safetensors");
    let ckpt = reid_models::weights::Checkpoint::open(&path).unwrap();
    let c = config_of(&ckpt);
    let config = reid_config(&c, [256, 128]);
    let mut model = reid_models::ReidModel::new(&config, &device).unwrap();
    model.load_checkpoint(&path, &config.backbone).unwrap();
    let x =
        formula_input([c["batch"].as_u64().unwrap() as usize, 3, 256, 128], c["input_seed"].as_u64().unwrap(), &device);
    report("__backbone", values(model.base.forward(x.clone())), &ckpt);
    report("__after", values(model.embed(x)), &ckpt);
    // Swin-T.
    let path = dir.join("swin_tiny_full.safetensors");
    let ckpt = reid_models::weights::Checkpoint::open(&path).unwrap();
    let c = config_of(&ckpt);
    for size in c["sizes"].as_array().unwrap() {
        let (h, w, seed) =
            (size[0].as_u64().unwrap() as usize, size[1].as_u64().unwrap() as usize, size[2].as_u64().unwrap());
        let config = reid_config(&c, [h, w]);
        let mut model = reid_models::ReidModel::new(&config, &device).unwrap();
        model.load_checkpoint(&path, &config.backbone).unwrap();
        let x = formula_input([c["batch"].as_u64().unwrap() as usize, 3, h, w], seed, &device);
        report(&format!("__{h}x{w}/backbone"), values(model.base.forward(x.clone())), &ckpt);
        report(&format!("__{h}x{w}/after"), values(model.embed(x)), &ckpt);
    }
}
