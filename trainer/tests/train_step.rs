//! Step parity with PyTorch: the trainer's own training step ([`train_step`], what `reid train` runs for every
//! batch: forward, losses, backward, center-loss step, clipping, grouped optimiser step at the schedule's rates)
//! trains the same small network from the same initial weights on the same recorded batches (20 steps over 10 batches) as the plain
//! PyTorch recipe of `tools/reference/gen_train_step_fixtures.py`, one fixture per recipe variant
//! (`fixtures/train_step/cases.json`).
//!
//! Tolerances: per step, the total loss within 1e-4 relative (`|burn - torch| / |torch|`); after 20 steps, every
//! tensor of the state dict (parameters, BatchNorm running statistics, the centers) and the eval-mode embedding
//! of batch 0 within 1e-3 relative in the norm `max_i |burn_i - torch_i| / max(max_i |torch_i|, 1e-6)` per
//! tensor.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, DeviceConfig, FloatDType, Tensor, TensorData};
use reid_models::BackboneConfig;
use reid_models::config::{BlockKind, ResnetConfig, SwinConfig};
use reid_trainer::data::Batch;
use reid_trainer::data::sampler::Sampler;
use reid_trainer::loss::CenterLoss;
use reid_trainer::spec::Spec;
use reid_trainer::train::RunPlan;
use reid_trainer::train::epoch::train_step;
use reid_trainer::train::session::{self, RunData};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const LOSS_TOLERANCE: f64 = 1e-4;
const PARAM_TOLERANCE: f64 = 1e-3;

/// Casts every float parameter and buffer to float64.
struct ToF64;

impl ModuleMapper for ToF64 {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| t.cast(FloatDType::F64))
    }
}

/// The CPU device, computing in float64 (configured once, before this process creates any tensor).
fn device() -> Device {
    static CONFIGURED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    CONFIGURED.get_or_init(|| {
        let mut d = Device::flex();
        d.configure(DeviceConfig::default().float_dtype(FloatDType::F64)).expect("float64 on the CPU device");
    });
    Device::flex()
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/train_step")
}

/// Every tensor of a safetensors file as `f64` (f32 and int64 converted), with its shape.
fn read(path: &Path) -> BTreeMap<String, (Vec<usize>, Vec<f64>)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let b = view.data();
            let values = match view.dtype() {
                safetensors::Dtype::F32 => {
                    b.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect()
                }
                safetensors::Dtype::F64 => {
                    b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
                }
                safetensors::Dtype::I64 => {
                    b.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64).collect()
                }
                other => panic!("{}: `{name}` is {other:?}", path.display()),
            };
            (name, (view.shape().to_vec(), values))
        })
        .collect()
}

fn network(v: &Value) -> BackboneConfig {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("network.{k}")) as usize;
    let list = |k: &str| v[k].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect::<Vec<_>>();
    match v["backbone"].as_str().unwrap() {
        "resnet" => {
            let layers = list("layers");
            BackboneConfig::Resnet(ResnetConfig {
                block: if v["block"] == "basic" { BlockKind::Basic } else { BlockKind::Bottleneck },
                layers: [layers[0], layers[1], layers[2], layers[3]],
                width: n("width"),
                last_stride: n("last_stride"),
            })
        }
        "swin" => BackboneConfig::Swin(SwinConfig {
            embed_dim: n("embed_dim"),
            depths: list("depths"),
            num_heads: list("num_heads"),
            window_size: n("window_size"),
            mlp_ratio: n("mlp_ratio"),
            patch_size: 4,
            drop_path_rate: 0.0,
        }),
        other => panic!("unknown network {other}"),
    }
}

/// `max |a - b| / max(max |b|, 1e-6)`.
fn rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let scale = b.iter().map(|y| y.abs()).fold(0.0, f64::max);
    diff / scale.max(1e-6)
}

/// Trains case `name` with the trainer's step and returns every difference beyond the tolerances (empty when
/// the case is at parity), after printing the per-step and per-tensor comparison.
fn run_case(name: &str) -> Vec<String> {
    let cases: Value = serde_json::from_str(&std::fs::read_to_string(dir().join("cases.json")).unwrap()).unwrap();
    let case = cases["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).expect("case in cases.json");
    let overrides: Vec<String> =
        case["overrides"].as_array().unwrap().iter().map(|o| o.as_str().unwrap().to_owned()).collect();
    let spec = Spec::parse(cases["spec"].as_str().unwrap(), "cases.json", &overrides).unwrap();
    let mut plan = RunPlan::from_spec(&spec).unwrap();
    // The recipe is the spec's; the network is its reduced-size variant (same layout, fewer channels).
    plan.model.config.backbone = network(&case["network"]);
    let steps = cases["steps"].as_u64().unwrap() as usize;
    let per_epoch = cases["steps_per_epoch"].as_u64().unwrap() as usize;

    let batches = read(&dir().join("batches.safetensors"));
    let (ishape, images) = &batches["images"];
    let (_, labels) = &batches["labels"];
    let [recorded, n, c, h, w] = ishape[..] else { panic!("images shape {ishape:?}") };
    let image_len = n * c * h * w;
    let num_classes = plan.data.declared_classes;
    let all_labels: Vec<usize> = (0..num_classes).flat_map(|l| [l; 2]).collect();
    let data = RunData {
        paths: Arc::new(Vec::new()),
        labels: Arc::new(all_labels.clone()),
        cameras: Arc::new(Vec::new()),
        sie_cameras: 0,
        num_classes,
        sampler: Sampler::new(plan.data.sampler, &all_labels, plan.data.batch_size, plan.data.num_instances).unwrap(),
        eval: None,
        skipped_unreadable: 0,
    };
    let mut s = session::build(&plan, &[device()], data).unwrap();
    s.model.load_checkpoint(&dir().join(case["init"].as_str().unwrap()), &plan.model.config.backbone).unwrap();
    // Imports read weights as f32; the network computes in the device's float64.
    s.model = s.model.map(&mut ToF64);
    let mut s = s.start_training();
    let want = read(&dir().join(format!("{name}.safetensors")));
    if s.centers.is_some() {
        let (shape, v) = &want["__initial_centers"];
        let t = Tensor::<2>::from_data(TensorData::new(v.clone(), [shape[0], shape[1]]), &s.devices.train);
        s.centers = Some(CenterLoss::from_centers(t.require_grad()));
    }

    let mut problems = Vec::new();
    for step in 0..steps {
        let epoch = step / per_epoch + 1;
        let rates = s.optim.rates_at(&plan.schedule, epoch - 1);
        let lr_want = want["__lr"].1[step];
        if (rates.base - lr_want).abs() > 1e-6 * lr_want {
            problems.push(format!("step {step}: lr {} vs PyTorch {lr_want}", rates.base));
        }
        let b = step % recorded;
        let batch = Batch {
            images: images[b * image_len..(b + 1) * image_len].iter().map(|&v| v as f32).collect(),
            labels: labels[b * n..(b + 1) * n].iter().map(|&l| l as usize).collect(),
            cameras: vec![0; n],
        };
        let (next, out) = train_step(&plan, s, batch, &rates, [epoch as u64, (step % per_epoch) as u64]).unwrap();
        s = next;
        let loss_want = want["__loss"].1[step];
        let r = (out.values.total - loss_want).abs() / loss_want.abs().max(1e-12);
        println!(
            "{name} step {step:2}: loss {:.6} torch {loss_want:.6} rel {r:.2e} (id {:?} tri {:?} center {:?})",
            out.values.total, out.values.id, out.values.triplet, out.values.center
        );
        if let Ok(snapshots) = std::env::var("TRAIN_STEP_SNAPSHOTS") {
            // Debugging aid (the generator writes these with the same variable set): the tensors furthest from
            // PyTorch's after this step.
            let tmp = tempfile::tempdir().unwrap();
            let saved = tmp.path().join("model.safetensors");
            session::synced(&s.model).save_safetensors(&saved, &BTreeMap::new()).unwrap();
            let got = read(&saved);
            std::fs::copy(&saved, Path::new(&snapshots).join(format!("burn_{name}_{step}.safetensors"))).unwrap();
            let snap = read(&Path::new(&snapshots).join(format!("{name}_{step}.safetensors")));
            let mut rels: Vec<(f64, &String)> = snap
                .iter()
                .filter(|(k, _)| !k.contains("running"))
                .filter_map(|(k, (_, v))| got.get(k).map(|(_, g)| (rel(g, v), k)))
                .collect();
            rels.sort_by(|a, b| b.0.total_cmp(&a.0));
            println!("  worst after step {step}: {:?}", &rels[..12.min(rels.len())]);
        }
        if r > LOSS_TOLERANCE {
            problems.push(format!("step {step}: loss {} vs PyTorch {loss_want} (rel {r:.2e})", out.values.total));
        }
    }

    // The state dict after 20 steps, as a checkpoint writes it (PyTorch names and layouts).
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("model.safetensors");
    session::synced(&s.model).save_safetensors(&saved, &BTreeMap::new()).unwrap();
    let mut got = read(&saved);
    if let Some(centers) = &s.centers {
        let t = centers.centers.val();
        got.insert("centers".into(), (t.dims().to_vec(), t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()));
    }
    let (eshape, batch0) = (&ishape[1..], &images[..image_len]);
    let x = Tensor::<4>::from_data(TensorData::new(batch0.to_vec(), [eshape[0], c, h, w]), &s.devices.base);
    let e = s.model.valid().embed(x);
    got.insert("__eval".into(), (e.dims().to_vec(), e.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()));

    let mut worst = (0.0, String::new());
    for (key, (shape, values)) in &want {
        if key.starts_with("__") && key != "__eval" {
            continue;
        }
        let Some((gshape, gvalues)) = got.get(key) else {
            problems.push(format!("`{key}` missing from the trainer's state dict"));
            continue;
        };
        if gshape != shape {
            problems.push(format!("`{key}`: shape {gshape:?} vs PyTorch {shape:?}"));
            continue;
        }
        let r = rel(gvalues, values);
        if r > worst.0 {
            worst = (r, key.clone());
        }
        if r > PARAM_TOLERANCE {
            problems.push(format!("`{key}` after {steps} steps: rel {r:.2e}"));
        }
    }
    println!("{name}: worst tensor `{}` rel {:.2e}", worst.1, worst.0);
    problems
}

fn check(name: &str) {
    #[cfg(feature = "flex")]
    let before = reid_models::cpu_conv::calls();
    let problems = run_case(name);
    // The ResNet's convolutions run through the whole-batch products (`models/src/cpu_conv/`) on the CPU unless
    // `REID_CPU_CONV=burn`: those cases must have called all three of its ops, or the parity shown is burn's.
    #[cfg(feature = "flex")]
    if name.starts_with("resnet") && reid_models::cpu_conv::enabled() {
        let after = reid_models::cpu_conv::calls();
        assert!((0..3).all(|i| after[i] > before[i]), "{name}: the products did not run ({before:?} -> {after:?})");
    }
    assert!(problems.is_empty(), "{name}: {} differences from PyTorch:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn resnet_sgd_linear_warmup_multistep() {
    check("resnet_sgd_linear");
}

#[test]
fn resnet_sgd_cosine_warmup() {
    check("resnet_sgd_cosine");
}

#[test]
fn resnet_adam() {
    check("resnet_adam");
}

#[test]
fn resnet_adamw() {
    check("resnet_adamw");
}

#[test]
fn resnet_soft_margin_triplet() {
    check("resnet_soft_margin");
}

#[test]
fn resnet_center_loss_with_its_own_optimiser() {
    check("resnet_center");
}

#[test]
fn resnet_large_fc_lr() {
    check("resnet_large_fc_lr");
}

#[test]
fn resnet_clip_grad_norm() {
    check("resnet_clip");
}

#[test]
fn swin_sgd_linear_warmup_multistep() {
    check("swin_sgd_linear");
}
