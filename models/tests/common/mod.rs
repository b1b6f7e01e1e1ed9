//! Shared helpers of the model tests: fixture loading, formula inputs, model construction from fixture configs.

#![allow(dead_code)]

use burn::tensor::{Device, Tensor, TensorData};
use reid_models::backbone::vit::{SieConfig, VitConfig};
use reid_models::config::{BackboneConfig, BlockKind, ResnetConfig, SwinConfig};
use reid_models::weights::Checkpoint;
use reid_models::{Neck, NeckFeat, ReidConfig, ReidModel};
use serde_json::Value;
use std::path::PathBuf;

/// A fixture file under `models/tests/fixtures`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// The integer hash of the element index in [-2, 2) behind `gen_model_fixtures.py::formula_input` (as `f64`,
/// before the cast; `gen_transreid_fixtures.py::formula_values`).
pub fn formula_values(n: usize, seed: u64) -> Vec<f64> {
    (0..n as u64)
        .map(|i| {
            let m = 0xFFFF_FFFFu64;
            let mut u = (i.wrapping_mul(2_654_435_761) + seed * 40503 + 12345) & m;
            u ^= u >> 15;
            u = u.wrapping_mul(0x2C1B_3C6D) & m;
            u ^= u >> 12;
            u = u.wrapping_mul(0x297A_2D39) & m;
            u ^= u >> 15;
            (u as f64 / 4_294_967_296.0) * 4.0 - 2.0
        })
        .collect()
}

/// The inputs `gen_model_fixtures.py::formula_input` makes: an integer hash of the element index in [-2, 2).
pub fn formula_input(shape: [usize; 4], seed: u64, device: &Device) -> Tensor<4> {
    let data: Vec<f32> = formula_values(shape.iter().product(), seed).into_iter().map(|v| v as f32).collect();
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// The fixture's ViT configuration (`gen_vit_fixtures.py` / `gen_transreid_fixtures.py` config keys).
pub fn vit_config(c: &Value) -> VitConfig {
    let n = |v: &Value| v.as_u64().unwrap() as usize;
    let pair = |v: &Value| [n(&v[0]), n(&v[1])];
    VitConfig {
        embed_dim: n(&c["embed_dim"]),
        depth: n(&c["depth"]),
        num_heads: n(&c["num_heads"]),
        mlp_ratio: c["mlp_ratio"].as_f64().unwrap(),
        qkv_bias: c["qkv_bias"].as_bool().unwrap(),
        qk_scale: c["qk_scale"].as_f64(),
        patch_size: 16,
        stride: pair(&c["stride"]),
        image_size: pair(&c["image"]),
        drop_path_rate: 0.0,
        sie: SieConfig { cameras: n(&c["cameras"]), views: n(&c["views"]), coe: c["sie_coe"].as_f64().unwrap() },
        layer_norm_eps: 1e-6,
    }
}

/// The fixture's `config` metadata.
pub fn config_of(ckpt: &Checkpoint) -> Value {
    serde_json::from_str(ckpt.metadata.get("config").expect("config metadata")).expect("config JSON")
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect()
}

/// The ReID configuration a fixture describes, at input size `hw`.
pub fn reid_config(c: &Value, hw: [usize; 2]) -> ReidConfig {
    let backbone = match c["backbone"].as_str().unwrap() {
        "resnet" => BackboneConfig::Resnet(ResnetConfig {
            block: if c["block"] == "basic" { BlockKind::Basic } else { BlockKind::Bottleneck },
            layers: usizes(&c["layers"]).try_into().unwrap(),
            width: c["width"].as_u64().unwrap() as usize,
            last_stride: c["last_stride"].as_u64().unwrap() as usize,
        }),
        _ => BackboneConfig::Swin(SwinConfig {
            embed_dim: c["embed_dim"].as_u64().unwrap() as usize,
            depths: usizes(&c["depths"]),
            num_heads: usizes(&c["num_heads"]),
            window_size: c["window_size"].as_u64().unwrap() as usize,
            mlp_ratio: c["mlp_ratio"].as_u64().unwrap() as usize,
            patch_size: 4,
            drop_path_rate: 0.0,
        }),
    };
    ReidConfig {
        backbone,
        feat_dim: c["feat_dim"].as_u64().unwrap() as usize,
        neck: Neck::Bnneck,
        neck_feat: NeckFeat::After,
        num_classes: c["num_classes"].as_u64().unwrap() as usize,
        input_channels: 3,
        input_height: hw[0],
        input_width: hw[1],
        jpm: None,
    }
}

/// A model with the fixture's weights loaded.
pub fn load_model(file: &str, hw: [usize; 2], device: &Device) -> (ReidConfig, ReidModel, Checkpoint) {
    let path = fixture_path(file);
    let ckpt = Checkpoint::open(&path).unwrap();
    let config = reid_config(&config_of(&ckpt), hw);
    let mut model = ReidModel::new(&config, device).unwrap();
    model.load_checkpoint(&path, &config.backbone).unwrap();
    (config, model, ckpt)
}

/// Values of a tensor.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

/// Asserts `got` equals the fixture tensor `name` to `tol` relative to the reference's largest magnitude.
pub fn assert_close(got: Vec<f32>, ckpt: &Checkpoint, name: &str, tol: f32) {
    let (_, want) = ckpt.f32(name).unwrap_or_else(|| panic!("fixture lacks {name}"));
    assert_eq!(got.len(), want.len(), "{name}: length");
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff <= tol * scale, "{name}: max |diff| {diff} > {tol} x {scale}");
    eprintln!("{name}: max |diff| {diff:.2e} (scale {scale:.2})");
}
