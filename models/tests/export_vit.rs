//! ViT export parity: small TransReID ViTs (SIE on/off, with a view axis, JPM on/off with and without the
//! shuffle's padding token, neck_feat before/after, strides 12 and 16) exported to ONNX and run by the runtime's
//! tract and ONNX Runtime engines, with per-image camera ids, equal the burn forward (`embed_side` with the same
//! cameras) to 1e-4 at batch 1 and 17. Every parameter and BatchNorm statistic is perturbed so that a weight
//! written in the wrong place or a neck left out shows. The metadata and the single input of non-SIE models,
//! and a camera id beyond the table, are checked through the engines.

use crate::common::*;
use burn::module::{Module, ModuleMapper, Param, RunningState};
use burn::nn::BatchNorm;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use reid_models::backbone::vit::{SieConfig, VitConfig};
use reid_models::config::{BackboneConfig, JpmConfig};
use reid_models::export::{ExportOptions, export_onnx, meta};
use reid_models::{Neck, NeckFeat, ReidConfig, ReidModel};
use reid_runtime::engine::ort::{OrtEngine, OrtOptions};
use reid_runtime::engine::{Engine, EngineError, TractEngine};
use std::path::Path;

const HW: [usize; 2] = [96, 48];

/// One exported variant.
struct Case {
    name: &'static str,
    stride: usize,
    cameras: usize,
    views: usize,
    jpm: Option<JpmConfig>,
    neck_feat: NeckFeat,
    feat_dim: usize,
}

fn cases() -> Vec<Case> {
    let jpm = JpmConfig::default();
    vec![
        // 7 x 3 = 21 patches: the shuffle pads one token (TransReID's default shift 5, 2 groups, 4 slices).
        Case {
            name: "s12_sie_jpm_after",
            stride: 12,
            cameras: 3,
            views: 0,
            jpm: Some(jpm),
            neck_feat: NeckFeat::After,
            feat_dim: 64,
        },
        Case {
            name: "s16_plain_before_fcneck",
            stride: 16,
            cameras: 0,
            views: 0,
            jpm: None,
            neck_feat: NeckFeat::Before,
            feat_dim: 32,
        },
        // 6 x 3 = 18 patches, 3 groups: no padding; a view axis (index camera * views).
        Case {
            name: "s16_sie_views_jpm_before",
            stride: 16,
            cameras: 3,
            views: 2,
            jpm: Some(JpmConfig { shift_num: 3, shuffle_group: 3, devide_length: 3, re_arrange: true }),
            neck_feat: NeckFeat::Before,
            feat_dim: 64,
        },
        Case {
            name: "s12_jpm_in_order_after",
            stride: 12,
            cameras: 0,
            views: 0,
            jpm: Some(JpmConfig { re_arrange: false, ..jpm }),
            neck_feat: NeckFeat::After,
            feat_dim: 64,
        },
        Case {
            name: "s12_sie_after",
            stride: 12,
            cameras: 4,
            views: 0,
            jpm: None,
            neck_feat: NeckFeat::After,
            feat_dim: 64,
        },
    ]
}

/// Adds N(0, 0.1) to every float parameter (layer norms, biases and tokens stop being 1 and 0).
struct Perturb;

impl ModuleMapper for Perturb {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, value, mapper) = param.consume();
        let noise = Tensor::random(value.shape(), Distribution::Normal(0.0, 0.1), &value.device());
        Param::from_mapped_value(id, value + noise, mapper)
    }
}

/// Running statistics away from 0 and 1.
fn perturb_stats(bn: &mut BatchNorm) {
    let d = bn.gamma.dims()[0];
    let device = bn.gamma.device();
    bn.running_mean = RunningState::new(Tensor::random([d], Distribution::Normal(0.0, 0.5), &device));
    bn.running_var = RunningState::new(Tensor::random([d], Distribution::Uniform(0.5, 2.0), &device));
}

fn build(case: &Case, device: &Device) -> (ReidConfig, ReidModel) {
    let mut vit = VitConfig::tiny(HW, [case.stride; 2]);
    vit.sie = SieConfig { cameras: case.cameras, views: case.views, coe: 3.0 };
    let config = ReidConfig {
        backbone: BackboneConfig::Vit(vit),
        feat_dim: case.feat_dim,
        neck: Neck::Bnneck,
        neck_feat: case.neck_feat,
        num_classes: 5,
        input_channels: 3,
        input_height: HW[0],
        input_width: HW[1],
        jpm: case.jpm,
    };
    let mut model = ReidModel::new(&config, device).unwrap().map(&mut Perturb);
    if let Some(bn) = model.bottleneck.as_mut() {
        perturb_stats(bn);
    }
    if let Some(jpm) = model.jpm.as_mut() {
        jpm.bottlenecks.iter_mut().for_each(perturb_stats);
    }
    (config, model)
}

fn options() -> ExportOptions {
    ExportOptions {
        backbone_name: "vit_base_patch16_224_TransReID".into(),
        pixel_mean: [0.5; 3],
        pixel_std: [0.5; 3],
        l2_normalize: false,
    }
}

fn max_rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max) / scale
}

fn engines(path: &Path) -> Vec<(&'static str, Box<dyn Engine>)> {
    let ort = OrtEngine::open(path, None, &OrtOptions { threads: 2, ..OrtOptions::default() })
        .unwrap_or_else(|e| panic!("{e} (run scripts/setup-ort.sh)"));
    vec![("tract", Box::new(TractEngine::open(path, None).unwrap())), ("onnxruntime", Box::new(ort))]
}

#[test]
fn vit_exports_match_burn_on_tract_and_onnxruntime() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    for case in cases() {
        let (config, model) = build(&case, &device);
        let path = dir.path().join(format!("{}.onnx", case.name));
        export_onnx(&model, &config, &options(), &path).unwrap();
        let engines = engines(&path);
        let dim = config.embedding_dim();
        for n in [1usize, 17] {
            let x = formula_input([n, 3, HW[0], HW[1]], 3 + n as u64, &device);
            let ids: Vec<i64> = (0..n as i64).map(|i| (i * 2 + 1) % case.cameras.max(1) as i64).collect();
            let cam =
                (case.cameras > 0).then(|| Tensor::<1, Int>::from_data(TensorData::new(ids.clone(), [n]), &device));
            let want = values(model.embed_side(x.clone(), cam));
            assert_eq!(want.len(), n * dim);
            let input = values(x);
            for (engine_name, engine) in &engines {
                let got = engine.embed_batch_cameras(&input, n, (case.cameras > 0).then_some(&ids[..])).unwrap();
                let d = max_rel_diff(&got, &want);
                eprintln!("{} {engine_name} batch {n}: max relative diff {d:.2e}", case.name);
                assert!(d < 1e-4, "{} on {engine_name}, batch {n}: differs from burn by {d}", case.name);
            }
        }
    }
}

#[test]
fn camera_models_declare_their_camera_input_and_refuse_ids_beyond_the_table() {
    let device = Device::flex();
    let dir = tempfile::tempdir().unwrap();
    let read = |path: &Path| {
        let bytes = std::fs::read(path).unwrap();
        <tract_onnx::pb::ModelProto as prost::Message>::decode(bytes.as_slice()).unwrap()
    };
    let all = cases();
    let (sie, plain) = (&all[0], &all[3]);
    let (config, model) = build(sie, &device);
    let path = dir.path().join("sie.onnx");
    export_onnx(&model, &config, &options(), &path).unwrap();
    let proto = read(&path);
    let get = |k: &str| proto.metadata_props.iter().find(|p| p.key == k).map(|p| p.value.clone());
    assert_eq!(get(meta::CAMERA_INPUT).as_deref(), Some("camera"));
    assert_eq!(get(meta::SIE_CAMERAS).as_deref(), Some("3"));
    assert_eq!(get(meta::FEAT_DIM).as_deref(), Some("320"), "64 global + 4 x 64 local");
    let graph = proto.graph.as_ref().unwrap();
    let names: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["input", "camera"]);
    for (engine_name, engine) in engines(&path) {
        let info = engine.info();
        assert_eq!(info.camera.as_ref().map(|c| (c.name.as_str(), c.count)), Some(("camera", 3)));
        assert_eq!(info.output_dim, Some(320));
        let x = vec![0.25f32; 2 * 3 * HW[0] * HW[1]];
        let err = engine.embed_batch_cameras(&x, 2, Some(&[1, 3])).unwrap_err();
        assert!(matches!(err, EngineError::Camera { id: 3, count: 3, .. }), "{engine_name}: {err}");
        let text = err.to_string();
        assert!(text.contains("camera id 3") && text.contains("sie.onnx"), "{engine_name}: {text}");
        // No ids is camera 0 for every image, as burn without cameras.
        let want = values(model.embed(Tensor::from_data(TensorData::new(x.clone(), [2, 3, HW[0], HW[1]]), &device)));
        let got = engine.embed_batch(&x, 2).unwrap();
        assert!(max_rel_diff(&got, &want) < 1e-4, "{engine_name}: camera 0");
    }

    let (config, model) = build(plain, &device);
    let path = dir.path().join("plain.onnx");
    export_onnx(&model, &config, &options(), &path).unwrap();
    let proto = read(&path);
    let graph = proto.graph.as_ref().unwrap();
    let inputs: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, ["input"], "a model without SIE keeps one input");
    let keys: Vec<&str> = proto.metadata_props.iter().map(|p| p.key.as_str()).collect();
    assert!(!keys.contains(&meta::CAMERA_INPUT) && !keys.contains(&meta::SIE_CAMERAS), "{keys:?}");
    assert!(TractEngine::open(&path, None).unwrap().info().camera.is_none());
}
