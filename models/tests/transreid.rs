//! TransReID's whole network (`build_transformer`, `build_transformer_local` with JPM) against the PyTorch
//! reference of `tools/reference/gen_transreid_fixtures.py`, through the checkpoint import: the state dict in
//! TransReID's names is written from the fixture's weight manifest (or read from a real TransReID `.pth`) and
//! loaded with `ReidModel::load_checkpoint`; the eval test feature (neck_feat after and before) and the
//! train-mode logits and features of every branch match to 1e-4 absolute. timm ViTs load as ImageNet weights
//! (`load_pretrained`) and give timm's class-token feature to 1e-4. Bad checkpoints and ids are named.

use crate::common::*;
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_models::jpm::JpmConfig;
use reid_models::weights::{Checkpoint, Layout};
use reid_models::{BackboneConfig, ModelError, Neck, NeckFeat, ReidConfig, ReidModel};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-4;

fn n(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

/// The fixture's ReID configuration (BNNeck, neck_feat after; JPM when the config has one).
fn config(c: &Value) -> ReidConfig {
    let vit = vit_config(c);
    let jpm = c["jpm"].as_object().map(|j| JpmConfig {
        shift_num: n(&j["shift_num"]),
        shuffle_group: n(&j["shuffle_group"]),
        devide_length: n(&j["devide_length"]),
        re_arrange: j["re_arrange"].as_bool().unwrap(),
    });
    ReidConfig {
        feat_dim: vit.embed_dim,
        neck: Neck::Bnneck,
        neck_feat: NeckFeat::After,
        num_classes: n(&c["num_classes"]),
        input_channels: 3,
        input_height: vit.image_size[0],
        input_width: vit.image_size[1],
        backbone: BackboneConfig::Vit(vit),
        jpm,
    }
}

/// The state dict of the fixture's "weights" manifest (TransReID's names, values from the formula).
fn formula_state_dict(out: &Checkpoint) -> Vec<(String, Vec<usize>, TensorData)> {
    let manifest: Value = serde_json::from_str(&out.metadata["weights"]).unwrap();
    let q = 65536.0f64;
    manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let shape: Vec<usize> = e[1].as_array().unwrap().iter().map(n).collect();
            let count = shape.iter().product();
            let data = if e[2] == "i64" {
                TensorData::new(vec![0i64; count], shape.clone())
            } else {
                let (s, o) = (e[4].as_i64().unwrap() as f64 / q, e[5].as_i64().unwrap() as f64 / q);
                let v: Vec<f32> =
                    formula_values(count, e[3].as_u64().unwrap()).iter().map(|x| (x * s + o) as f32).collect();
                TensorData::new(v, shape.clone())
            };
            (e[0].as_str().unwrap().to_owned(), shape, data)
        })
        .collect()
}

/// Writes `tensors` (f32 or i64) as safetensors.
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, TensorData)]) {
    let bytes: Vec<(String, Vec<usize>, safetensors::Dtype, Vec<u8>)> = tensors
        .iter()
        .map(|(k, shape, d)| match d.dtype() {
            burn::tensor::DType::I64 => {
                let b = d.try_to_vec::<i64>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect();
                (k.clone(), shape.clone(), safetensors::Dtype::I64, b)
            }
            _ => {
                let b = d.try_to_vec::<f32>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect();
                (k.clone(), shape.clone(), safetensors::Dtype::F32, b)
            }
        })
        .collect();
    let views: Vec<_> = bytes
        .iter()
        .map(|(k, s, t, b)| (k.clone(), safetensors::tensor::TensorView::new(*t, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

/// A fixture case: its outputs, config, the TransReID checkpoint written into a temporary folder.
struct Case {
    out: Checkpoint,
    c: Value,
    config: ReidConfig,
    state: Vec<(String, Vec<usize>, TensorData)>,
    dir: tempfile::TempDir,
}

impl Case {
    fn open(name: &str) -> Self {
        let out = Checkpoint::open(&fixture_path(&format!("{name}.safetensors"))).unwrap();
        let c = config_of(&out);
        let state = formula_state_dict(&out);
        Case { config: config(&c), c, out, state, dir: tempfile::tempdir().unwrap() }
    }

    /// The state dict with `edit` applied, written as `file`.
    fn write(&self, file: &str, edit: impl FnOnce(&mut Vec<(String, Vec<usize>, TensorData)>)) -> PathBuf {
        let mut state = self.state.clone();
        edit(&mut state);
        let path = self.dir.path().join(file);
        write_safetensors(&path, &state);
        path
    }

    fn model(&self) -> ReidModel {
        ReidModel::new(&self.config, &Device::flex()).unwrap()
    }

    fn load(&self, path: &Path) -> Result<ReidModel, ModelError> {
        let mut model = self.model();
        model.load_checkpoint(path, &self.config.backbone)?;
        Ok(model)
    }

    fn input(&self) -> (Tensor<4>, Tensor<1, Int>) {
        let [h, w] = self.config.vit().unwrap().image_size;
        let x = formula_input([n(&self.c["batch"]), 3, h, w], self.c["input_seed"].as_u64().unwrap(), &Device::flex());
        (x, int_tensor(&self.cameras()))
    }

    fn cameras(&self) -> Vec<i64> {
        self.out.tensors["__camera"].try_to_vec::<i64>().unwrap()
    }
}

fn int_tensor(v: &[i64]) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Device::flex())
}

fn remove(state: &mut Vec<(String, Vec<usize>, TensorData)>, key: &str) {
    let before = state.len();
    state.retain(|(k, ..)| k != key);
    assert_eq!(state.len() + 1, before, "{key} not in the state dict");
}

/// Asserts the largest absolute difference to the fixture tensor `name` is at most `tol`; returns it.
fn assert_abs(got: &[f32], out: &Checkpoint, name: &str, tol: f32) -> f32 {
    let (_, want) = out.f32(name).unwrap_or_else(|| panic!("fixture lacks {name}"));
    assert_eq!(got.len(), want.len(), "{name}: length");
    let diff = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(diff <= tol, "{name}: max |diff| {diff} > {tol}");
    eprintln!("{name}: max |diff| {diff:.2e}");
    diff
}

/// The eval test features (after and before the necks) and the train-mode logits and features of every branch
/// against the reference; returns the largest difference of the test features.
fn check_outputs(case: &Case, model: &mut ReidModel) -> f32 {
    let (x, cam) = case.input();
    model.check_cameras(&case.cameras()).unwrap();
    model.neck_feat = NeckFeat::After;
    let after = assert_abs(&values(model.embed_side(x.clone(), Some(cam.clone()))), &case.out, "__test_after", TOL);
    model.neck_feat = NeckFeat::Before;
    let before = assert_abs(&values(model.embed_side(x.clone(), Some(cam.clone()))), &case.out, "__test_before", TOL);
    model.neck_feat = NeckFeat::After;
    // Train mode: on an autodiff device the BNNecks use batch statistics.
    let ad = Device::flex().autodiff();
    let t = model.clone().to_device(&ad).train().forward_train_side(x.to_device(&ad), Some(cam.to_device(&ad)));
    let logits: Vec<f32> =
        std::iter::once(t.logits).chain(t.local.iter().map(|l| l.logits.clone())).flat_map(values).collect();
    let feats: Vec<f32> =
        std::iter::once(t.features).chain(t.local.into_iter().map(|l| l.features)).flat_map(values).collect();
    assert_abs(&logits, &case.out, "__train_logits", TOL);
    assert_abs(&feats, &case.out, "__train_features", TOL);
    after.max(before)
}

fn check_case(name: &str) -> Case {
    let case = Case::open(name);
    let path = case.write("transreid.safetensors", |_| {});
    let mut model = ReidModel::new(&case.config, &Device::flex()).unwrap();
    let report = model.load_checkpoint(&path, &case.config.backbone).unwrap();
    let jpm = case.config.jpm.is_some();
    assert_eq!(report.layout, if jpm { Layout::TransReid } else { Layout::Reid });
    assert_eq!(report.backbone_layout, Layout::Vit);
    assert!(report.unexpected.is_empty(), "{:?}", report.unexpected);
    assert!(report.ignored.iter().any(|k| k == "fc.weight"), "TransReID's unused base.fc: {:?}", report.ignored);
    assert!(report.ignored.iter().any(|k| k.ends_with("num_batches_tracked")));
    assert_eq!(report.loaded, model.parameter_shapes().len());
    check_outputs(&case, &mut model);
    case
}

#[test]
fn transreid_jpm_stride12_sie_padded_shuffle_matches_reference() {
    // 21 patch tokens, shuffle_group 2: shuffle_unit pads one token.
    check_case("transreid_jpm_s12_sie");
}

#[test]
fn transreid_jpm_stride16_without_rearrange_matches_reference() {
    check_case("transreid_jpm_s16_plain");
}

#[test]
fn transreid_jpm_width192_depth4_shuffle3_six_cameras_matches_reference() {
    check_case("transreid_jpm_w192_g3");
}

#[test]
fn transreid_without_jpm_vit_small_style_matches_reference() {
    check_case("transreid_global_s12");
}

#[test]
fn jpm_with_three_groups_matches_the_generalised_reference() {
    check_case("transreid_jpm_k3");
}

#[test]
fn transreid_pth_with_dataparallel_prefixes_matches_reference() {
    let case = Case::open("transreid_jpm_pth");
    let pth = fixture_path("transreid_jpm_pth.pth");
    // The .pth holds exactly the manifest's values, under `module.` names (bit for bit: the formula port is right).
    let raw = Checkpoint::open(&pth).unwrap();
    assert_eq!(raw.tensors.len(), case.state.len());
    for (k, _, d) in &case.state {
        let t = raw.tensors.get(k).unwrap_or_else(|| panic!("{k}"));
        assert_eq!((t.shape().to_vec(), t.dtype()), (d.shape().to_vec(), d.dtype()), "{k}");
        assert_eq!(t.as_bytes(), d.as_bytes(), "{k}");
    }
    let mut model = ReidModel::new(&case.config, &Device::flex()).unwrap();
    let report = model.load_checkpoint(&pth, &case.config.backbone).unwrap();
    assert_eq!(report.layout, Layout::TransReid);
    check_outputs(&case, &mut model);
}

#[test]
fn own_checkpoints_round_trip() {
    let case = Case::open("transreid_jpm_s12_sie");
    let model = case.load(&case.write("t.safetensors", |_| {})).unwrap();
    let saved = case.dir.path().join("ours.safetensors");
    model.save_safetensors(&saved, &BTreeMap::new()).unwrap();
    let back = case.load(&saved).unwrap();
    let report = case.model().load_checkpoint(&saved, &case.config.backbone).unwrap();
    assert_eq!((report.layout, report.ignored.len(), report.unexpected.len()), (Layout::Reid, 0, 0));
    let (x, cam) = case.input();
    let a = values(model.embed_side(x.clone(), Some(cam.clone())));
    assert_eq!(a, values(back.embed_side(x, Some(cam))));
    assert_abs(&a, &case.out, "__test_after", TOL);
}

// ------------------------------------------------------------------------------------------------ timm weights

/// A ViT ReID model of the small timm fixture's architecture, at `image` with `stride`.
fn timm_small_config(image: [usize; 2], stride: [usize; 2], cameras: usize, jpm: bool) -> ReidConfig {
    let meta = config_of(&Checkpoint::open(&fixture_path("timm_vit_small.outputs.safetensors")).unwrap());
    let t = &meta["timm"];
    let mut vit = reid_models::backbone::vit::VitConfig::tiny(image, stride);
    vit.embed_dim = n(&t["embed_dim"]);
    vit.depth = n(&t["depth"]);
    vit.num_heads = n(&t["num_heads"]);
    vit.sie.cameras = cameras;
    vit.sie.coe = 3.0;
    ReidConfig {
        feat_dim: vit.embed_dim,
        neck: Neck::Bnneck,
        neck_feat: NeckFeat::After,
        num_classes: 3,
        input_channels: 3,
        input_height: image[0],
        input_width: image[1],
        backbone: BackboneConfig::Vit(vit),
        jpm: jpm.then_some(JpmConfig::default()),
    }
}

fn timm_outputs() -> (Checkpoint, Value) {
    let out = Checkpoint::open(&fixture_path("timm_vit_small.outputs.safetensors")).unwrap();
    let meta = config_of(&out);
    (out, meta)
}

#[test]
fn timm_vit_loads_as_imagenet_weights_and_gives_timms_class_token() {
    let (out, meta) = timm_outputs();
    let x = formula_input([2, 3, 224, 224], meta["input_seed"].as_u64().unwrap(), &Device::flex());
    let config = timm_small_config([224, 224], [16, 16], 0, false);
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let report = model.load_pretrained(&fixture_path("timm_vit_small.safetensors"), &config.backbone).unwrap();
    assert_eq!((report.layout, report.resized_pos_embed, report.branches_from_last_block), (Layout::Vit, None, false));
    assert!(report.unexpected.is_empty() && report.kept.is_empty(), "{report:?}");
    assert!(report.ignored.iter().any(|k| k == "head.weight") && report.ignored.iter().any(|k| k == "head.bias"));
    assert_abs(&values(model.base.forward(x.clone())), &out, "__cls", TOL);
    assert_abs(&values(model.features(x.clone())), &out, "__cls", TOL);

    // With JPM the branches are copies of the last block and norm (TransReID's deepcopy after load_param): the
    // global branch on the tokens before the last block is the same class-token feature.
    let config = timm_small_config([224, 224], [16, 16], 0, true);
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let report = model.load_pretrained(&fixture_path("timm_vit_small.safetensors"), &config.backbone).unwrap();
    assert!(report.branches_from_last_block);
    assert_abs(&values(model.features(x)), &out, "__cls", TOL);
    let jpm = model.jpm.as_ref().unwrap();
    let reid_models::backbone::Backbone::Vit(vit) = &model.base else { unreachable!() };
    let last = vit.blocks.last().unwrap();
    assert_eq!(values(jpm.b2.block.mlp.fc2.weight.val()), values(last.mlp.fc2.weight.val()));
    assert_eq!(values(jpm.b2.norm.gamma.val()), values(vit.norm.gamma.val()));

    // With SIE the table is not in ImageNet weights: it keeps its initial values, and the report says so.
    let config = timm_small_config([224, 224], [16, 16], 4, false);
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let report = model.load_pretrained(&fixture_path("timm_vit_small.safetensors"), &config.backbone).unwrap();
    assert_eq!(report.kept, vec!["base.sie_embed".to_owned()]);
}

#[test]
fn timm_vit_into_a_stride12_grid_matches_transreid_load_param() {
    let (out, meta) = timm_outputs();
    let t = &meta["transreid"];
    let image = [n(&t["image"][0]), n(&t["image"][1])];
    let config = timm_small_config(image, [12, 12], 0, false);
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let report = model.load_pretrained(&fixture_path("timm_vit_small.safetensors"), &config.backbone).unwrap();
    assert_eq!(report.resized_pos_embed, Some(197));
    let x = formula_input([2, 3, image[0], image[1]], meta["transreid_input_seed"].as_u64().unwrap(), &Device::flex());
    assert_abs(&values(model.base.forward(x)), &out, "__transreid_global", TOL);
}

#[test]
fn distilled_deit_loses_its_distillation_token_row() {
    // A DeiT-distilled layout of the small timm ViT: a distillation token and head, and a position embedding row
    // for the distillation token (index 1), which TransReID's load_param drops.
    let (out, meta) = timm_outputs();
    let src = Checkpoint::open(&fixture_path("timm_vit_small.safetensors")).unwrap();
    let (shape, pos) = src.f32("pos_embed").unwrap();
    let d = shape[2];
    let mut rows = pos[..d].to_vec();
    rows.extend((0..d).map(|i| 100.0 + i as f32));
    rows.extend_from_slice(&pos[d..]);
    let mut state: Vec<(String, Vec<usize>, TensorData)> =
        src.tensors.iter().map(|(k, v)| (k.clone(), v.shape().to_vec(), v.clone())).collect();
    state.retain(|(k, ..)| k != "pos_embed");
    state.push(("pos_embed".into(), vec![1, 198, d], TensorData::new(rows, [1, 198, d])));
    state.push(("dist_token".into(), vec![1, 1, d], TensorData::new(vec![5f32; d], [1, 1, d])));
    state.push(("head_dist.weight".into(), vec![10, d], TensorData::new(vec![1f32; 10 * d], [10, d])));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deit_distilled.safetensors");
    write_safetensors(&path, &state);
    let config = timm_small_config([224, 224], [16, 16], 0, false);
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let report = model.load_pretrained(&path, &config.backbone).unwrap();
    assert_eq!(report.resized_pos_embed, Some(198));
    for k in ["dist_token", "head_dist.weight"] {
        assert!(report.ignored.iter().any(|i| i == k), "{k} not reported: {:?}", report.ignored);
    }
    let x = formula_input([2, 3, 224, 224], meta["input_seed"].as_u64().unwrap(), &Device::flex());
    assert_abs(&values(model.base.forward(x)), &out, "__cls", TOL);
}

// ------------------------------------------------------------------------------------------------ bad input

fn err_text(r: Result<ReidModel, ModelError>) -> String {
    r.expect_err("an error").to_string()
}

#[test]
fn camera_beyond_the_sie_table_is_named() {
    let case = Case::open("transreid_jpm_s12_sie");
    let model = case.load(&case.write("t.safetensors", |_| {})).unwrap();
    assert_eq!(model.sie_cameras(), 3);
    model.check_cameras(&[0, 1, 2]).unwrap();
    let e = model.check_cameras(&[1, 3]).unwrap_err().to_string();
    assert!(e.contains("camera id 3") && e.contains("model.sie_camera") && e.contains("0..3"), "{e}");
    assert!(model.check_cameras(&[-1]).unwrap_err().to_string().contains("camera id -1"));
}

#[test]
fn position_grids_that_cannot_be_resized_name_the_file_and_pos_embed() {
    let case = Case::open("transreid_jpm_s12_sie");
    let d = case.config.feat_dim;
    for (tokens, reason) in [(16, "15 grid tokens are not a square grid"), (1, "no grid tokens")] {
        let path = case.write(&format!("pos{tokens}.safetensors"), |s| {
            remove(s, "base.pos_embed");
            s.push((
                "base.pos_embed".into(),
                vec![1, tokens, d],
                TensorData::new(vec![0f32; tokens * d], [1, tokens, d]),
            ));
        });
        for pretrained in [true, false] {
            let mut model = case.model();
            let e = if pretrained {
                model.load_pretrained(&path, &case.config.backbone).unwrap_err()
            } else {
                model.load_checkpoint(&path, &case.config.backbone).unwrap_err()
            };
            assert!(matches!(e, ModelError::PosEmbed { .. }), "{e}");
            let e = e.to_string();
            assert!(e.contains(&path.display().to_string()) && e.contains("`pos_embed`") && e.contains(reason), "{e}");
        }
    }
    // A trained stride-16 checkpoint of the same width (a 4 x 2 grid, not square) into this stride-12 model.
    let e = err_text(case.load(&fixture_path("transreid_jpm_pth.pth")));
    assert!(e.contains("`pos_embed`") && e.contains("transreid_jpm_pth.pth") && e.contains("8 grid tokens"), "{e}");
}

#[test]
fn a_stride_larger_than_the_patch_names_stride_size() {
    let case = Case::open("transreid_global_s12");
    let mut config = case.config.clone();
    if let BackboneConfig::Vit(v) = &mut config.backbone {
        v.stride = [12, 17];
    }
    let e = ReidModel::new(&config, &Device::flex()).unwrap_err().to_string();
    assert!(e.contains("model.stride_size") && e.contains("[12, 17]"), "{e}");
}

#[test]
fn transreid_checkpoints_that_do_not_fit_name_the_key() {
    let case = Case::open("transreid_jpm_s12_sie");
    // Three local classifiers for a devide_length 4 model.
    let e = err_text(case.load(&case.write("c3.safetensors", |s| remove(s, "classifier_4.weight"))));
    assert!(e.contains("classifier_4.weight") && e.contains("model.devide_length = 4"), "{e}");
    assert!(e.contains("3 local classifiers"), "{e}");
    // A fifth local classifier has no place either.
    let e = err_text(case.load(&case.write("c5.safetensors", |s| {
        let w = s.iter().find(|(k, ..)| k == "classifier_4.weight").unwrap().clone();
        s.push(("classifier_5.weight".into(), w.1, w.2));
    })));
    assert!(e.contains("classifier_5.weight") && e.contains("no place"), "{e}");
    // A missing branch parameter, named as TransReID names it.
    let e = err_text(case.load(&case.write("b2.safetensors", |s| remove(s, "b2.0.mlp.fc1.bias"))));
    assert!(e.contains("b2.0.mlp.fc1.bias") && e.contains("jpm.b2.block.mlp.fc1.bias"), "{e}");
    // Shapes name the key: a 6-camera SIE table, a classifier for other identities.
    let e = err_text(case.load(&case.write("sie.safetensors", |s| {
        remove(s, "base.sie_embed");
        s.push(("base.sie_embed".into(), vec![6, 1, 64], TensorData::new(vec![0f32; 6 * 64], [6, 1, 64])));
    })));
    assert!(e.contains("`base.sie_embed`") && e.contains("[6, 1, 64]") && e.contains("[3, 1, 64]"), "{e}");
    let e = err_text(case.load(&case.write("cls.safetensors", |s| {
        remove(s, "classifier_2.weight");
        s.push(("classifier_2.weight".into(), vec![9, 64], TensorData::new(vec![0f32; 9 * 64], [9, 64])));
    })));
    assert!(e.contains("classifier_2.weight") && e.contains("[9, 64]"), "{e}");
    // A JPM checkpoint into a model without JPM, and the reverse.
    let plain = Case { config: ReidConfig { jpm: None, ..case.config.clone() }, ..Case::open("transreid_jpm_s12_sie") };
    let e = err_text(plain.load(&case.write("jpm.safetensors", |_| {})));
    assert!(e.contains("b1.0.") && e.contains("set model.jpm"), "{e}");
    let global = Case::open("transreid_global_s12");
    let with_jpm = Case {
        config: ReidConfig { jpm: Some(JpmConfig::default()), ..global.config.clone() },
        ..Case::open("transreid_global_s12")
    };
    let e = err_text(with_jpm.load(&global.write("g.safetensors", |_| {})));
    assert!(e.contains("jpm.b1.") && e.contains("trained without model.jpm"), "{e}");
}

// ------------------------------------------------------------------------------------------------ full size

fn full_dir() -> PathBuf {
    PathBuf::from(std::env::var("REID_FULL_FIXTURES").expect("REID_FULL_FIXTURES"))
}

/// timm's `vit_base_patch16_224` (seeded, `gen_transreid_fixtures.py --full DIR`): `REID_FULL_FIXTURES=DIR cargo
/// test -p reid-models --test suite -- --ignored full_size_timm`.
#[test]
#[ignore = "needs REID_FULL_FIXTURES (about 350 MB, written by gen_transreid_fixtures.py --full)"]
fn full_size_timm_vit_base_gives_timms_class_token() {
    let dir = full_dir();
    let out = Checkpoint::open(&dir.join("timm_vit_base.outputs.safetensors")).unwrap();
    let vit = reid_models::backbone::vit::VitConfig::transreid("vit_base_patch16_224_TransReID", [224, 224], [16, 16])
        .unwrap();
    let config = ReidConfig {
        feat_dim: 768,
        neck: Neck::Bnneck,
        neck_feat: NeckFeat::After,
        num_classes: 751,
        input_channels: 3,
        input_height: 224,
        input_width: 224,
        backbone: BackboneConfig::Vit(vit),
        jpm: None,
    };
    let mut model = ReidModel::new(&config, &Device::flex()).unwrap();
    let report = model.load_pretrained(&dir.join("timm_vit_base.safetensors"), &config.backbone).unwrap();
    assert!(report.unexpected.is_empty() && report.kept.is_empty(), "{report:?}");
    let x = formula_input([2, 3, 224, 224], config_of(&out)["input_seed"].as_u64().unwrap(), &Device::flex());
    let d = assert_abs(&values(model.features(x)), &out, "__cls", TOL);
    eprintln!("FULL timm vit_base_patch16_224 at 224x224: class token max |diff| {d:.3e}");
}

/// TransReID's Market model (ViT-B/16, stride 12, 256 x 128, 6-camera SIE, JPM) as a real `.pth`.
#[test]
#[ignore = "needs REID_FULL_FIXTURES (about 400 MB, written by gen_transreid_fixtures.py --full)"]
fn full_size_transreid_vit_base_stride12_jpm_matches_reference() {
    let dir = full_dir();
    let out = Checkpoint::open(&dir.join("transreid_vit_base_full.safetensors")).unwrap();
    let c = config_of(&out);
    let case = Case { config: config(&c), c, out, state: Vec::new(), dir: tempfile::tempdir().unwrap() };
    let mut model = case.load(&dir.join("transreid_vit_base_full.pth")).unwrap();
    let d = check_outputs(&case, &mut model);
    eprintln!("FULL TransReID ViT-B/16 stride 12 256x128 SIE+JPM: test feature max |diff| {d:.3e}");
}
