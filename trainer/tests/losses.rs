//! The losses against hand-computed values and against PyTorch (the strong baseline's formulas,
//! `tools/reference/gen_loss_fixtures.py` -> `tests/fixtures/losses.json`), values and gradients.

use burn::tensor::{Device, Int, Tensor, TensorData};
use reid_trainer::data::sampler::SamplerKind;
use reid_trainer::loss::{
    CenterLoss, LossError, LossOptions, MetricLossType, ReidLoss, batch_hard_triplet, cross_entropy,
};
use serde_json::Value;

const TOL: f64 = 1e-5;

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/losses.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all[name].clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn t2(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

fn labels(values: &[i64], device: &Device) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), [values.len()]), device)
}

fn vec_of<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
}

fn scalar(t: Tensor<1>) -> f64 {
    vec_of(t)[0]
}

#[track_caller]
fn close(actual: f64, expected: f64, what: &str) {
    assert!((actual - expected).abs() <= TOL, "{what}: {actual} != {expected}");
}

#[track_caller]
fn all_close(actual: &[f64], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths");
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!((a - e).abs() <= TOL, "{what}[{i}]: {a} != {e}\n  actual   {actual:?}\n  expected {expected:?}");
    }
}

fn softplus(x: f64) -> f64 {
    x.exp().ln_1p()
}

// Logits ln(1), ln(2), ln(3) (softmax 1/6, 2/6, 3/6) with target 2, and zeros (uniform) with target 0.
fn ce_logits(device: &Device) -> Tensor<2> {
    t2(&[0.0, 2f32.ln(), 3f32.ln(), 0.0, 0.0, 0.0], [2, 3], device)
}

#[test]
fn cross_entropy_plain_by_hand_and_gradient() {
    let device = Device::flex().autodiff();
    let logits = ce_logits(&device).require_grad();
    let loss = cross_entropy(logits.clone(), labels(&[2, 0], &device), None);
    // -ln(3/6) and -ln(1/3), averaged.
    let expected = (2f64.ln() + 3f64.ln()) / 2.0;
    close(scalar(loss.clone()), expected, "plain CE");
    // d/dlogits = (softmax - onehot) / N.
    let grad = vec_of(logits.grad(&loss.backward()).unwrap());
    let hand = [1.0 / 12.0, 1.0 / 6.0, -0.25, -1.0 / 3.0, 1.0 / 6.0, 1.0 / 6.0];
    all_close(&grad, &hand, "plain CE gradient");
    let f = fixture("ce_plain");
    close(expected, f["loss"].as_f64().unwrap(), "hand vs torch");
    all_close(&grad, &floats(&f["grad"]), "plain CE gradient vs torch");
    // Some(0.0) is the same as None.
    close(scalar(cross_entropy(ce_logits(&device), labels(&[2, 0], &device), Some(0.0))), expected, "eps 0");
}

#[test]
fn cross_entropy_label_smoothing_by_hand_and_gradient() {
    let device = Device::flex().autodiff();
    let logits = ce_logits(&device).require_grad();
    let loss = cross_entropy(logits.clone(), labels(&[2, 0], &device), Some(0.1));
    // q = 0.9 * onehot + 0.1 / 3.
    let e = 0.1 / 3.0;
    let row0 = -(e * (1.0f64 / 6.0).ln() + e * (2.0f64 / 6.0).ln() + (0.9 + e) * 0.5f64.ln());
    let row1 = 3f64.ln(); // uniform prediction: sum(q) * ln 3
    let expected = (row0 + row1) / 2.0;
    close(scalar(loss.clone()), expected, "smoothed CE");
    let grad = vec_of(logits.grad(&loss.backward()).unwrap());
    let hand = [
        (1.0 / 6.0 - e) / 2.0,
        (2.0 / 6.0 - e) / 2.0,
        (0.5 - 0.9 - e) / 2.0,
        (1.0 / 3.0 - 0.9 - e) / 2.0,
        (1.0 / 3.0 - e) / 2.0,
        (1.0 / 3.0 - e) / 2.0,
    ];
    all_close(&grad, &hand, "smoothed CE gradient");
    let f = fixture("ce_smooth");
    close(expected, f["loss"].as_f64().unwrap(), "hand vs torch");
    all_close(&grad, &floats(&f["grad"]), "smoothed CE gradient vs torch");
}

#[test]
fn cross_entropy_is_stable_for_huge_logits() {
    let device = Device::flex();
    let logits = t2(&[1000.0, 0.0, -1000.0, 1000.0, 0.0, -1000.0], [2, 3], &device);
    let loss = scalar(cross_entropy(logits.clone(), labels(&[0, 1], &device), None));
    close(loss, (0.0 + 1000.0) / 2.0, "log-sum-exp");
    let smoothed = scalar(cross_entropy(logits, labels(&[0, 0], &device), Some(0.1)));
    // -(e ln p0 + e ln p1 + e ln p2) - 0.9 ln p0 with ln p = (0, -1000, -2000).
    close(smoothed, 0.1 / 3.0 * 3000.0, "smoothed, huge logits");
}

// Two identities in the plane: 0 = {(0,0), (0,1)}, 1 = {(3,0), (3,4)}. Distances d01 = 1, d02 = 3, d03 = 5,
// d12 = sqrt 10, d13 = sqrt 18, d23 = 4. Hardest (positive, negative) per anchor:
// 0: (1, 3), 1: (1, sqrt 10), 2: (4, 3), 3: (4, sqrt 18).
fn triplet_features(device: &Device) -> Tensor<2> {
    t2(&[0.0, 0.0, 0.0, 1.0, 3.0, 0.0, 3.0, 4.0], [4, 2], device)
}

#[test]
fn triplet_with_margin_by_hand_and_gradient() {
    let device = Device::flex().autodiff();
    let x = triplet_features(&device).require_grad();
    let out = batch_hard_triplet(x.clone(), labels(&[0, 0, 1, 1], &device), Some(0.3));
    let (s10, s18) = (10f64.sqrt(), 18f64.sqrt());
    all_close(&vec_of(out.dist_ap.clone()), &[1.0, 1.0, 4.0, 4.0], "d_ap");
    all_close(&vec_of(out.dist_an.clone()), &[3.0, s10, 3.0, s18], "d_an");
    // relu(d_ap - d_an + 0.3): 0, 0, 1.3, 4.3 - sqrt 18.
    let expected = (1.3 + 4.3 - s18) / 4.0;
    close(scalar(out.loss.clone()), expected, "margin loss");
    close(scalar(out.correct.clone()), 0.75, "share of d_an > d_ap");
    let grad = vec_of(x.grad(&out.loss.backward()).unwrap());
    // x0 only enters through anchor 2's negative d02: d(-d02/4)/dx0 = -(x0 - x2) / (4 * 3) = (1/4, 0).
    close(grad[0], 0.25, "d loss / d x0.x");
    close(grad[1], 0.0, "d loss / d x0.y");
    let f = fixture("triplet_margin");
    close(expected, f["loss"].as_f64().unwrap(), "hand vs torch");
    all_close(&grad, &floats(&f["grad"]), "margin gradient vs torch");
}

#[test]
fn soft_margin_triplet_by_hand_and_gradient() {
    let device = Device::flex().autodiff();
    let x = triplet_features(&device).require_grad();
    let out = batch_hard_triplet(x.clone(), labels(&[0, 0, 1, 1], &device), None);
    let (s10, s18) = (10f64.sqrt(), 18f64.sqrt());
    let expected = [1.0 - 3.0, 1.0 - s10, 4.0 - 3.0, 4.0 - s18].iter().map(|&d| softplus(d)).sum::<f64>() / 4.0;
    close(scalar(out.loss.clone()), expected, "soft-margin loss");
    let grad = vec_of(x.grad(&out.loss.backward()).unwrap());
    let f = fixture("triplet_soft");
    close(expected, f["loss"].as_f64().unwrap(), "hand vs torch");
    all_close(&grad, &floats(&f["grad"]), "soft-margin gradient vs torch");
}

#[test]
fn an_anchor_without_another_positive_is_its_own_positive() {
    // Labels 0, 0, 1, 2: anchors 2 and 3 are alone; their positive is themselves at sqrt(1e-12) = 1e-6.
    let device = Device::flex().autodiff();
    let s10 = 10f64.sqrt();
    for (name, margin) in [("triplet_singletons_soft", None), ("triplet_singletons_margin", Some(3.5))] {
        let x = triplet_features(&device).require_grad();
        let out = batch_hard_triplet(x.clone(), labels(&[0, 0, 1, 2], &device), margin);
        all_close(&vec_of(out.dist_ap.clone()), &[1.0, 1.0, 1e-6, 1e-6], "d_ap");
        all_close(&vec_of(out.dist_an.clone()), &[3.0, s10, 3.0, 4.0], "d_an");
        let diffs = [1.0 - 3.0, 1.0 - s10, 1e-6 - 3.0, 1e-6 - 4.0];
        let expected = match margin {
            None => diffs.iter().map(|&d| softplus(d)).sum::<f64>() / 4.0,
            Some(m) => diffs.iter().map(|&d| (d + f64::from(m)).max(0.0)).sum::<f64>() / 4.0,
        };
        close(scalar(out.loss.clone()), expected, name);
        close(scalar(out.correct.clone()), 1.0, "all ordered");
        let f = fixture(name);
        close(expected, f["loss"].as_f64().unwrap(), "hand vs torch");
        let grad = vec_of(x.grad(&out.loss.backward()).unwrap());
        assert!(grad.iter().all(|g| g.is_finite()), "{name}: {grad:?}");
        all_close(&grad, &floats(&f["grad"]), "gradient vs torch (masked mining)");
    }
}

#[test]
fn a_batch_of_one_identity_has_no_negatives_and_zero_loss() {
    let device = Device::flex().autodiff();
    for margin in [Some(0.3), None] {
        let x = triplet_features(&device).require_grad();
        let out = batch_hard_triplet(x.clone(), labels(&[5, 5, 5, 5], &device), margin);
        close(scalar(out.loss.clone()), 0.0, "no anchor has a negative");
        close(scalar(out.correct.clone()), 0.0, "none counted");
        assert!(vec_of(out.dist_an.clone()).iter().all(|&d| d == f64::from(f32::MAX)), "d_an is f32::MAX");
        let grad = vec_of(x.grad(&out.loss.backward()).unwrap());
        assert!(grad.iter().all(|&g| g == 0.0), "{grad:?}");
    }
}

// Features (1,2), (3,4), (0,0) with labels 0, 1, 0 and centers (0,0), (1,1): squared distances 5, 13 and
// 0 (clamped to 1e-12); loss (5 + 13) / 3 = 6.
fn center_inputs(device: &Device) -> (Tensor<2>, Tensor<2>, Tensor<1, Int>) {
    (
        t2(&[1.0, 2.0, 3.0, 4.0, 0.0, 0.0], [3, 2], device),
        t2(&[0.0, 0.0, 1.0, 1.0], [2, 2], device),
        labels(&[0, 1, 0], device),
    )
}

#[test]
fn center_loss_by_hand_and_gradients() {
    let device = Device::flex().autodiff();
    let (x, c, y) = center_inputs(&device);
    let x = x.require_grad();
    let center = CenterLoss::from_centers(c);
    assert_eq!((center.num_classes(), center.feat_dim()), (2, 2));
    let loss = center.forward(x.clone(), y);
    close(scalar(loss.clone()), 6.0, "center loss");
    let grads = loss.backward();
    // d/dc_j = -2 sum_{i: y_i = j} (x_i - c_j) / N; the clamped third sample gives nothing.
    let gc = vec_of(center.centers.val().grad(&grads).unwrap());
    all_close(&gc, &[-2.0 / 3.0, -4.0 / 3.0, -4.0 / 3.0, -2.0], "d loss / d centers");
    let gx = vec_of(x.grad(&grads).unwrap());
    all_close(&gx, &[2.0 / 3.0, 4.0 / 3.0, 4.0 / 3.0, 2.0, 0.0, 0.0], "d loss / d features");
    let f = fixture("center");
    close(6.0, f["loss"].as_f64().unwrap(), "hand vs torch (baseline's all-class clamp adds 1e-12s)");
    all_close(&gc, &floats(&f["grad_centers"]), "center gradient vs torch");
    all_close(&gx, &floats(&f["grad_features"]), "feature gradient vs torch");
}

#[test]
fn center_sgd_step_undoes_the_weight_like_the_baseline() {
    let device = Device::flex().autodiff();
    let (x, c, y) = center_inputs(&device);
    let center = CenterLoss::from_centers(c);
    let weight = 0.0005;
    let total = center.forward(x, y).mul_scalar(weight);
    let grads = total.backward();
    let rescaled = vec_of(center.center_gradient(&grads, weight).unwrap());
    all_close(&rescaled, &[-2.0 / 3.0, -4.0 / 3.0, -4.0 / 3.0, -2.0], "gradient / center_loss_weight");
    // c <- c - 0.5 * grad: (0,0) + (1/3, 2/3), (1,1) + (2/3, 1).
    let stepped = center.sgd_step(&grads, weight, 0.5);
    all_close(&vec_of(stepped.centers.val()), &[1.0 / 3.0, 2.0 / 3.0, 5.0 / 3.0, 2.0], "centers after the step");
    assert!(stepped.centers.val().is_require_grad(), "still trainable");
    // The next forward pass trains the updated centers.
    let (x, _, y) = center_inputs(&device);
    let grads = stepped.forward(x, y).backward();
    assert!(stepped.centers.val().grad(&grads).is_some());
}

fn options(sampler: SamplerKind, metric: MetricLossType, with_center: bool) -> LossOptions {
    LossOptions {
        sampler,
        metric_loss_type: metric,
        with_center_loss: with_center,
        label_smooth: false,
        no_margin: false,
        triplet_loss_margin: 0.3,
        center_loss_weight: 0.5,
    }
}

#[test]
fn combined_loss_parts_and_total() {
    let device = Device::flex();
    let logits = Tensor::<2>::zeros([4, 2], &device); // CE = ln 2 per sample
    let y = labels(&[0, 0, 1, 1], &device);
    let triplet = (5.6 - 18f64.sqrt()) / 4.0;
    // Centers (0,0) and (3,2): squared distances 0 (-> 1e-12), 1, 4, 4; mean 9 / 4.
    let centers = CenterLoss::from_centers(t2(&[0.0, 0.0, 3.0, 2.0], [2, 2], &device));
    let center = 9.0 / 4.0;
    let ln2 = 2f64.ln();

    let cases = [
        (SamplerKind::SoftmaxTriplet, MetricLossType::Triplet, false, Some(ln2), Some(triplet), None),
        (SamplerKind::SoftmaxTriplet, MetricLossType::TripletCenter, false, Some(ln2), Some(triplet), None),
        (SamplerKind::Softmax, MetricLossType::Triplet, false, Some(ln2), None, None),
        (SamplerKind::Triplet, MetricLossType::Triplet, false, None, Some(triplet), None),
        (SamplerKind::SoftmaxTriplet, MetricLossType::Center, true, Some(ln2), None, Some(center)),
        (SamplerKind::Triplet, MetricLossType::TripletCenter, true, Some(ln2), Some(triplet), Some(center)),
    ];
    for (sampler, metric, with_center, id, tri, cen) in cases {
        let loss = ReidLoss::new(&options(sampler, metric, with_center)).unwrap();
        let parts = loss.compute(logits.clone(), triplet_features(&device), y.clone(), Some(&centers)).values();
        let what = format!("{sampler} / {metric} / center {with_center}");
        assert_eq!(parts.id.is_some(), id.is_some(), "{what}: id on");
        assert_eq!(parts.triplet.is_some(), tri.is_some(), "{what}: triplet on");
        assert_eq!(parts.center.is_some(), cen.is_some(), "{what}: center on");
        assert_eq!(parts.triplet_correct.is_some(), tri.is_some(), "{what}: correct share with the triplet");
        for (got, want) in [(parts.id, id), (parts.triplet, tri), (parts.center, cen)] {
            if let (Some(g), Some(w)) = (got, want) {
                close(f64::from(g), w, &what);
            }
        }
        let total = id.unwrap_or(0.0) + tri.unwrap_or(0.0) + 0.5 * cen.unwrap_or(0.0);
        close(parts.total, total, &format!("{what}: total"));
    }
}

#[test]
fn combined_options_reach_the_terms() {
    let mut o = options(SamplerKind::SoftmaxTriplet, MetricLossType::Triplet, false);
    o.label_smooth = true;
    o.no_margin = true;
    let loss = ReidLoss::new(&o).unwrap();
    assert_eq!(loss.label_smoothing, Some(0.1));
    assert_eq!(loss.margin, None, "no_margin: soft margin");
    let device = Device::flex();
    let logits = Tensor::<2>::zeros([4, 2], &device);
    let parts = loss.compute(logits, triplet_features(&device), labels(&[0, 0, 1, 1], &device), None).values();
    // A uniform prediction costs ln 2 whatever the smoothing.
    close(f64::from(parts.id.unwrap()), 2f64.ln(), "smoothed id");
    let soft = fixture("triplet_soft")["loss"].as_f64().unwrap();
    close(f64::from(parts.triplet.unwrap()), soft, "soft triplet");
}

#[test]
fn combined_errors_name_the_key() {
    let err = ReidLoss::new(&options(SamplerKind::SoftmaxTriplet, MetricLossType::Center, false)).unwrap_err();
    assert_eq!(err, LossError::CenterWithoutCenterLoss);
    assert!(err.to_string().contains("model.with_center_loss"), "{err}");
    let err = ReidLoss::new(&options(SamplerKind::SoftmaxTriplet, MetricLossType::Triplet, true)).unwrap_err();
    assert!(err.to_string().contains("model.metric_loss_type"), "{err}");
    let mut o = options(SamplerKind::SoftmaxTriplet, MetricLossType::Triplet, false);
    o.triplet_loss_margin = -1.0;
    assert!(ReidLoss::new(&o).unwrap_err().to_string().contains("train.optim.triplet_loss_margin = -1"));
    o.no_margin = true; // the margin is not used then
    assert!(ReidLoss::new(&o).is_ok());
    let mut o = options(SamplerKind::SoftmaxTriplet, MetricLossType::TripletCenter, true);
    o.center_loss_weight = 0.0;
    assert!(ReidLoss::new(&o).unwrap_err().to_string().contains("train.optim.center_loss_weight = 0"));
    let err = "quadruplet".parse::<MetricLossType>().unwrap_err().to_string();
    assert!(err.contains("model.metric_loss_type = `quadruplet`"), "{err}");
    assert_eq!("triplet_center".parse::<MetricLossType>().unwrap(), MetricLossType::TripletCenter);
}

/// Mean cross-entropy of `[n, classes]` logits with label smoothing `eps`, in f64 from the definition.
fn ce_by_hand(logits: &[f64], classes: usize, targets: &[usize], eps: f64) -> f64 {
    let mut total = 0.0;
    for (i, &t) in targets.iter().enumerate() {
        let row = &logits[i * classes..(i + 1) * classes];
        let lse = row.iter().map(|x| x.exp()).sum::<f64>().ln();
        for (c, x) in row.iter().enumerate() {
            let q = if c == t { 1.0 - eps } else { 0.0 } + eps / classes as f64;
            total -= q * (x - lse);
        }
    }
    total / targets.len() as f64
}

/// Soft-margin batch-hard triplet of `[n, d]` features, from the definition.
fn soft_triplet_by_hand(f: &[f64], d: usize, labels: &[usize]) -> f64 {
    let n = labels.len();
    let dist = |i: usize, j: usize| {
        let (a, b) = (&f[i * d..(i + 1) * d], &f[j * d..(j + 1) * d]);
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        let sq = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>();
        (sq(a) + sq(b) - 2.0 * dot).max(1e-12).sqrt()
    };
    let mut total = 0.0;
    for i in 0..n {
        let ap = (0..n).filter(|&j| labels[j] == labels[i]).map(|j| dist(i, j)).fold(f64::MIN, f64::max);
        let an = (0..n).filter(|&j| labels[j] != labels[i]).map(|j| dist(i, j)).fold(f64::MAX, f64::min);
        total += softplus(ap - an);
    }
    total / n as f64
}

/// TransReID's `make_loss` with JPM: ID = 0.5 * mean over the local CEs + 0.5 * the global CE, each smoothed
/// alike; triplet likewise on the features; the center loss on the global feature only.
#[test]
fn jpm_weighting_follows_transreid_make_loss() {
    use reid_models::{LocalOutput, TrainOutput};
    let device = Device::flex();
    let y = [0usize, 0, 1, 1];
    let g_logits = [2.0, -1.0, 0.5, 0.3, -0.2, 1.1, 0.0, 0.7];
    let l_logits = [[1.0, 0.0, 0.2, 0.9, 0.4, -0.4, -1.0, 2.0], [0.3, 0.1, -0.5, 0.5, 1.5, 0.0, 0.2, 0.2]];
    let g_feat = [0.0, 0.0, 1.0, 0.0, 3.0, 2.0, 2.0, 2.0];
    let l_feat = [[1.0, 1.0, 0.0, 2.0, 2.0, 0.0, 3.0, 1.0], [0.5, 0.0, 0.0, 0.5, 1.0, 1.0, 4.0, 0.0]];
    let t = |v: &[f64]| t2(&v.iter().map(|&x| x as f32).collect::<Vec<_>>(), [4, 2], &device);
    let output = || TrainOutput {
        logits: t(&g_logits),
        features: t(&g_feat),
        local: (0..2).map(|i| LocalOutput { logits: t(&l_logits[i]), features: t(&l_feat[i]) }).collect(),
    };
    let centers = CenterLoss::from_centers(t2(&[0.0, 0.0, 3.0, 2.0], [2, 2], &device));
    // Center loss of the global features by hand: squared distances 0 (-> 1e-12), 1, 0 (-> 1e-12), 1; sum / 4.
    let center = (2e-12 + 2.0) / 4.0;
    for (smooth, eps) in [(false, 0.0), (true, 0.1)] {
        let id = 0.5 * (ce_by_hand(&l_logits[0], 2, &y, eps) + ce_by_hand(&l_logits[1], 2, &y, eps)) / 2.0
            + 0.5 * ce_by_hand(&g_logits, 2, &y, eps);
        let tri = 0.5 * (soft_triplet_by_hand(&l_feat[0], 2, &y) + soft_triplet_by_hand(&l_feat[1], 2, &y)) / 2.0
            + 0.5 * soft_triplet_by_hand(&g_feat, 2, &y);
        let mut o = options(SamplerKind::SoftmaxTriplet, MetricLossType::TripletCenter, true);
        o.label_smooth = smooth;
        o.no_margin = true;
        let loss = ReidLoss::new(&o).unwrap();
        let v = loss.compute_train(output(), labels(&[0, 0, 1, 1], &device), Some(&centers)).values();
        let what = format!("label_smooth {smooth}");
        close(f64::from(v.id.unwrap()), id, &format!("{what}: id"));
        close(f64::from(v.triplet.unwrap()), tri, &format!("{what}: triplet"));
        close(f64::from(v.center.unwrap()), center, &format!("{what}: center on the global feature"));
        close(v.total, id + tri + 0.5 * center, &format!("{what}: total"));
        // Without local features: the global terms alone, as `compute`.
        let bare = TrainOutput { local: Vec::new(), ..output() };
        let b = loss.compute_train(bare, labels(&[0, 0, 1, 1], &device), Some(&centers)).values();
        close(f64::from(b.id.unwrap()), ce_by_hand(&g_logits, 2, &y, eps), &format!("{what}: global id"));
        close(f64::from(b.triplet.unwrap()), soft_triplet_by_hand(&g_feat, 2, &y), &format!("{what}: global tri"));
    }
}
