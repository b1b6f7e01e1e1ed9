//! Parity of the TransReID ViT with the PyTorch reference of `tools/reference/gen_vit_fixtures.py` (written from
//! TransReID's `vit_pytorch.py`; its blocks checked against timm's): all tokens, the global feature and the
//! tokens before the last block to 1e-4 (absolute), in eval mode; `resize_pos_embed` against
//! `F.interpolate(bilinear, align_corners=False)`; loading errors.

use crate::common::*;
use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_models::ModelError;
use reid_models::backbone::vit::pos::resize_pos_embed;
use reid_models::backbone::vit::{SieConfig, Vit, VitConfig};
use reid_models::weights::Checkpoint;
use serde_json::Value;
use std::collections::BTreeMap;

const TOL: f32 = 1e-4;

fn n(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

fn pair(v: &Value) -> [usize; 2] {
    [n(&v[0]), n(&v[1])]
}

/// The state dict part of a fixture (no `__` outputs).
fn state_dict(ckpt: &Checkpoint) -> BTreeMap<String, TensorData> {
    ckpt.tensors.iter().filter(|(k, _)| !k.starts_with("__")).map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn ids(ckpt: &Checkpoint, name: &str) -> Vec<i64> {
    ckpt.tensors[name].try_to_vec::<i64>().unwrap()
}

fn int_tensor(v: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), device)
}

/// Asserts the largest absolute difference to the fixture tensor `name` is at most `tol`; returns it.
fn assert_abs(got: &[f32], ckpt: &Checkpoint, name: &str, tol: f32) -> f32 {
    let (_, want) = ckpt.f32(name).unwrap_or_else(|| panic!("fixture lacks {name}"));
    assert_eq!(got.len(), want.len(), "{name}: length");
    let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff <= tol, "{name}: max |diff| {diff} > {tol}");
    eprintln!("{name}: max |diff| {diff:.2e}");
    diff
}

fn load(file: &str, device: &Device) -> (Checkpoint, Value, Vit) {
    let path = fixture_path(file);
    let ckpt = Checkpoint::open(&path).unwrap();
    let c = config_of(&ckpt);
    let mut vit = Vit::new(&vit_config(&c), 3, device).unwrap();
    let report = vit.load_state_dict(state_dict(&ckpt), &path).unwrap();
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    assert_eq!(report.resized_pos_embed, None);
    (ckpt, c, vit)
}

fn check_forward(file: &str) {
    let device = Device::flex();
    let (ckpt, c, vit) = load(file, &device);
    let [h, w] = pair(&c["image"]);
    assert_eq!([vit.grid_h, vit.grid_w], pair(&c["grid"]));
    let x = formula_input([n(&c["batch"]), 3, h, w], c["input_seed"].as_u64().unwrap(), &device);
    let (cam, view) = (ids(&ckpt, "__camera"), ids(&ckpt, "__view"));
    vit.check_side_info(&cam, &view).unwrap();
    let side = || (Some(int_tensor(&cam, &device)), Some(int_tensor(&view, &device)));
    let (c1, v1) = side();
    assert_abs(&values(vit.forward_tokens(x.clone(), c1, v1)), &ckpt, "__tokens", TOL);
    let (c1, v1) = side();
    assert_abs(&values(vit.forward(x.clone(), c1, v1)), &ckpt, "__global", TOL);
    let (c1, v1) = side();
    assert_abs(&values(vit.forward_until_last(x, c1, v1)), &ckpt, "__pre_last", TOL);
}

#[test]
fn vit_stride12_overlapping_with_camera_sie_matches_reference() {
    check_forward("vit_s12_sie.safetensors");
}

#[test]
fn vit_stride16_small_style_without_sie_matches_reference() {
    check_forward("vit_s16_small.safetensors");
}

#[test]
fn vit_with_camera_and_view_sie_matches_reference() {
    check_forward("vit_cam_view.safetensors");
}

#[test]
fn sie_changes_the_feature_per_camera() {
    // The reference's cameras [2, 0, 1]: feeding camera 0 for all must move the first and last features.
    let device = Device::flex();
    let (ckpt, c, vit) = load("vit_s12_sie.safetensors", &device);
    let [h, w] = pair(&c["image"]);
    let x = formula_input([3, 3, h, w], c["input_seed"].as_u64().unwrap(), &device);
    let got = values(vit.forward(x, Some(int_tensor(&[0, 0, 0], &device)), None));
    let (_, want) = ckpt.f32("__global").unwrap();
    let d = vit.norm.gamma.dims()[0];
    let diff = |i: usize| (0..d).map(|j| (got[i * d + j] - want[i * d + j]).abs()).fold(0.0f32, f32::max);
    assert!(diff(0) > 1e-2 && diff(2) > 1e-2, "camera embedding has no effect: {} {}", diff(0), diff(2));
    assert!(diff(1) <= TOL, "sample 1 has camera 0 in the reference too");
}

#[test]
fn resize_pos_embed_matches_torch_interpolate() {
    let ckpt = Checkpoint::open(&fixture_path("vit_s12_sie.safetensors")).unwrap();
    let (shape, pos14) = ckpt.f32("__pos14").unwrap();
    for grid in [[5, 2], [21, 10]] {
        let got = resize_pos_embed(&pos14, shape[1], shape[2], grid, "fixture").unwrap();
        assert_abs(&got, &ckpt, &format!("__pos14_to_{}x{}", grid[0], grid[1]), 1e-5);
    }
}

#[test]
fn loading_a_14x14_position_embedding_resizes_it() {
    let device = Device::flex();
    let path = fixture_path("vit_s12_sie.safetensors");
    let ckpt = Checkpoint::open(&path).unwrap();
    let mut sd = state_dict(&ckpt);
    sd.insert("pos_embed".into(), ckpt.tensors["__pos14"].clone());
    sd.insert("head.weight".into(), TensorData::new(vec![0f32; 4], [2, 2]));
    let mut vit = Vit::new(&vit_config(&config_of(&ckpt)), 3, &device).unwrap();
    let report = vit.load_state_dict(sd, &path).unwrap();
    assert_eq!(report.resized_pos_embed, Some(197));
    assert_eq!(report.unexpected, vec!["head.weight".to_owned()]);
    assert_abs(&values(vit.pos_embed.val()), &ckpt, "__pos14_to_5x2", 1e-5);
}

#[test]
fn bad_checkpoints_and_ids_are_named() {
    let device = Device::flex();
    let path = fixture_path("vit_s12_sie.safetensors");
    let ckpt = Checkpoint::open(&path).unwrap();
    let config = vit_config(&config_of(&ckpt));
    let mut vit = Vit::new(&config, 3, &device).unwrap();
    // A position grid that is not square cannot be resized.
    let mut sd = state_dict(&ckpt);
    sd.insert("pos_embed".into(), TensorData::new(vec![0f32; 16 * 48], [1, 16, 48]));
    let e = vit.load_state_dict(sd, &path).unwrap_err();
    assert!(matches!(e, ModelError::PosEmbed { .. }), "{e}");
    assert!(e.to_string().contains("vit_s12_sie.safetensors") && e.to_string().contains("15 grid tokens"), "{e}");
    // A missing block.
    let mut sd = state_dict(&ckpt);
    sd.remove("blocks.1.mlp.fc2.weight");
    let e = vit.load_state_dict(sd, &path).unwrap_err().to_string();
    assert!(e.contains("blocks.1.mlp.fc2.weight"), "{e}");
    // A wrong width.
    let mut sd = state_dict(&ckpt);
    sd.insert("norm.weight".into(), TensorData::new(vec![1f32; 8], [8]));
    let e = vit.load_state_dict(sd, &path).unwrap_err().to_string();
    assert!(e.contains("norm.weight") && e.contains("[8]"), "{e}");
    // Camera 3 of a 3-camera table.
    let e = vit.check_side_info(&[0, 3], &[]).unwrap_err().to_string();
    assert!(e.contains("camera id 3") && e.contains("model.sie_camera"), "{e}");
    assert!(vit.check_side_info(&[-1], &[]).is_err());
    // A stride larger than the patch.
    let e = Vit::new(&VitConfig { stride: [20, 12], ..config }, 3, &device).unwrap_err().to_string();
    assert!(e.contains("model.stride_size"), "{e}");
}

#[test]
fn named_transreid_configs_build() {
    let device = Device::flex();
    let c = VitConfig::transreid("deit_small_patch16_224_TransReID", [256, 128], [12, 12]).unwrap();
    let vit = Vit::new(&VitConfig { sie: SieConfig { cameras: 6, views: 0, coe: 3.0 }, ..c }, 3, &device).unwrap();
    let shapes = vit.parameter_shapes();
    assert_eq!(shapes["pos_embed"], vec![1, 211, 384]);
    assert_eq!(shapes["sie_embed"], vec![6, 1, 384]);
    assert_eq!(shapes["patch_embed.proj.weight"], vec![384, 3, 16, 16]);
    assert_eq!(shapes["blocks.11.attn.qkv.weight"], vec![1152, 384]);
    assert_eq!(shapes["blocks.11.mlp.fc1.bias"], vec![1536]);
    assert_eq!(shapes["cls_token"], vec![1, 1, 384]);
    assert_eq!(shapes.len(), 5 + 12 * 12 + 2, "{:?}", shapes.keys().collect::<Vec<_>>());
}

/// Full size (ViT-B/16, stride 12, 256 x 128, 6-camera SIE), for the fixture written by
/// `gen_vit_fixtures.py --full DIR`: `REID_FULL_FIXTURES=DIR cargo test -p reid-models --test suite -- --ignored
/// full_size_vit`.
#[test]
#[ignore = "needs REID_FULL_FIXTURES (about 350 MB, written by gen_vit_fixtures.py --full)"]
fn full_size_vit_base_stride12_matches_reference() {
    let dir = std::path::PathBuf::from(std::env::var("REID_FULL_FIXTURES").expect("REID_FULL_FIXTURES"));
    let device = Device::flex();
    let path = dir.join("vit_base_full.safetensors");
    let ckpt = Checkpoint::open(&path).unwrap();
    let c = config_of(&ckpt);
    let mut vit = Vit::new(&vit_config(&c), 3, &device).unwrap();
    vit.load_state_dict(state_dict(&ckpt), &path).unwrap();
    assert_eq!([vit.grid_h, vit.grid_w], [21, 10]);
    let x = formula_input([n(&c["batch"]), 3, 256, 128], c["input_seed"].as_u64().unwrap(), &device);
    let cam = Some(int_tensor(&ids(&ckpt, "__camera"), &device));
    let tokens = vit.forward_tokens(x, cam, None);
    let d = assert_abs(&values(tokens.clone()), &ckpt, "__tokens", TOL);
    let g = assert_abs(&values(tokens.narrow(1, 0, 1)), &ckpt, "__global", TOL);
    eprintln!("FULL ViT-B/16 stride 12 256x128: tokens max |diff| {d:.3e}, global {g:.3e}");
}
