//! The learning-rate schedule against hand-computed values and against PyTorch schedulers stepped as the
//! reference trainers step them (`tools/reference/gen_loss_fixtures.py` -> `tests/fixtures/schedule.json`).

use reid_trainer::optim::schedule::{WarmupMethod, WarmupMultiStep};
use serde_json::Value;
use std::f64::consts::PI;

fn seed(method: WarmupMethod) -> WarmupMultiStep {
    WarmupMultiStep {
        base_lr: 0.0008,
        lr_steps: vec![40, 70],
        gamma: 0.1,
        warmup_factor: 0.01,
        warmup_epochs: 20,
        method,
        num_epochs: 120,
    }
}

#[track_caller]
fn close(actual: f64, expected: f64, what: &str) {
    // Relative 1e-9 (rates are ~1e-4..1e-6, so absolute tolerances would say nothing).
    assert!((actual - expected).abs() <= 1e-9 * expected.abs().max(1e-300), "{what}: {actual} != {expected}");
}

#[test]
fn linear_seed_example_every_epoch_by_hand() {
    let s = seed(WarmupMethod::Linear);
    s.validate().unwrap();
    // 0-based epoch e trains at the scheduler counter t = e + 1 (one step before the first epoch).
    for epoch in 0..120 {
        let t = (epoch + 1) as f64;
        let expected = if t < 20.0 {
            0.0008 * (0.01 * (1.0 - t / 20.0) + t / 20.0)
        } else if t < 40.0 {
            0.0008
        } else if t < 70.0 {
            0.00008
        } else {
            0.000008
        };
        close(s.lr_at(epoch), expected, &format!("epoch {epoch}"));
    }
    // The boundaries, as literals.
    for (epoch, lr) in [
        (0, 4.76e-5),   // 0.0008 * (0.01 * 0.95 + 0.05)
        (9, 4.04e-4),   // t = 10: 0.0008 * 0.505
        (18, 7.604e-4), // t = 19: 0.0008 * 0.9505
        (19, 8e-4),     // warm-up over
        (38, 8e-4),
        (39, 8e-5), // t = 40 = the first lr_step: the 40th epoch is the first decayed one
        (68, 8e-5),
        (69, 8e-6), // t = 70
        (119, 8e-6),
    ] {
        close(s.lr_at(epoch), lr, &format!("epoch {epoch}"));
    }
    // The raw counter: t = 0 is the warm-up start.
    close(s.lr_at_counter(0), 8e-6, "counter 0");
    close(s.lr_at_counter(40), 8e-5, "counter 40 (bisect_right: a step applies at its own epoch)");
    close(s.lr_at_counter(39), 8e-4, "counter 39");
}

#[test]
fn cosine_seed_example_by_hand() {
    let s = seed(WarmupMethod::Cosine);
    s.validate().unwrap();
    let floor = 0.002 * 0.0008;
    let cosine = |t: f64| floor + 0.5 * (0.0008 - floor) * (1.0 + (PI * t / 120.0).cos());
    // 0-based epoch e trains at t = e: a linear ramp from 0.01 * base_lr over 20 epochs.
    for epoch in 0..20 {
        close(s.lr_at(epoch), 8e-6 + epoch as f64 * (0.0008 - 8e-6) / 20.0, &format!("warm-up epoch {epoch}"));
    }
    for epoch in 20..120 {
        close(s.lr_at(epoch), cosine(epoch as f64), &format!("cosine epoch {epoch}"));
    }
    for (epoch, lr) in [
        (0, 8e-6),
        (10, 4.04e-4),                                          // 8e-6 + 10 * 3.96e-5
        (19, 7.604e-4),                                         // 8e-6 + 19 * 3.96e-5
        (20, 1.6e-6 + 0.5 * 7.984e-4 * (1.0 + 0.75f64.sqrt())), // cos(pi/6): the cosine is not shifted
        (60, 1.6e-6 + 0.5 * 7.984e-4),                          // cos(pi/2) = 0
        (120, 1.6e-6),                                          // past num_epochs: the floor
        (500, 1.6e-6),
    ] {
        close(s.lr_at(epoch), lr, &format!("epoch {epoch}"));
    }
    // lr_steps and gamma play no part in the cosine schedule.
    let mut other = s.clone();
    other.lr_steps = vec![1, 2, 3];
    other.gamma = 0.5;
    assert!((0..130).all(|e| other.lr_at(e) == s.lr_at(e)));
}

#[test]
fn small_case_by_hand() {
    let mut s = WarmupMultiStep {
        base_lr: 1.0,
        lr_steps: vec![2, 4],
        gamma: 0.5,
        warmup_factor: 0.25,
        warmup_epochs: 2,
        method: WarmupMethod::Linear,
        num_epochs: 6,
    };
    // Counters 0..6: warm 0.25, 0.625; then 1 * 0.5^(steps <= t).
    let counters = [0.25, 0.625, 0.5, 0.5, 0.25, 0.25, 0.25];
    for (t, lr) in counters.iter().enumerate() {
        close(s.lr_at_counter(t), *lr, &format!("linear counter {t}"));
    }
    let epochs: Vec<f64> = (0..6).map(|e| s.lr_at(e)).collect();
    assert_eq!(epochs, counters[1..].to_vec(), "epoch e = counter e + 1");
    // A bias group (bias_lr_factor 2) scales the whole multi-step schedule.
    close(s.lr_at_group(0, 2.0), 1.25, "bias group");

    s.method = WarmupMethod::Cosine;
    // Warm-up 0.25, 0.625; cosine floor 0.002: 0.002 + 0.499 * (1 + cos(pi t / 6)).
    let hand =
        [0.25, 0.625, 0.002 + 0.499 * 1.5, 0.002 + 0.499, 0.002 + 0.499 * 0.5, 0.002 + 0.499 * (1.0 - 0.75f64.sqrt())];
    for (e, lr) in hand.iter().enumerate() {
        close(s.lr_at(e), *lr, &format!("cosine epoch {e}"));
    }
    close(s.lr_at(6), 0.002, "floor");
    // A bias group keeps the global start and floor and ramps to its own peak.
    close(s.lr_at_group(1, 2.0), 0.25 + (2.0 - 0.25) / 2.0, "cosine bias group warm-up");
    close(s.lr_at_group(3, 2.0), 0.002 + 0.5 * (2.0 - 0.002), "cosine bias group at cos(pi/2)");
}

#[test]
fn matches_pytorch_schedulers_as_the_trainers_step_them() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schedule.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    for case in ["seed", "small"] {
        let f = &all[case];
        let steps: Vec<usize> =
            f["lr_steps"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
        let base_lr = f["base_lr"].as_f64().unwrap();
        for (method, key) in [(WarmupMethod::Linear, "linear"), (WarmupMethod::Cosine, "cosine")] {
            let s = WarmupMultiStep {
                base_lr,
                lr_steps: steps.clone(),
                gamma: f["gamma"].as_f64().unwrap(),
                warmup_factor: f["warmup_factor"].as_f64().unwrap(),
                warmup_epochs: f["warmup_epochs"].as_u64().unwrap() as usize,
                method,
                num_epochs: f["num_epochs"].as_u64().unwrap() as usize,
            };
            let rows = f[key].as_array().unwrap();
            assert!(rows.len() > s.num_epochs);
            for (epoch, row) in rows.iter().enumerate() {
                let groups = row.as_array().unwrap();
                let what = format!("{case} {key} epoch {epoch}");
                close(s.lr_at(epoch), groups[0].as_f64().unwrap(), &what);
                close(s.lr_at_group(epoch, 2.0 * base_lr), groups[1].as_f64().unwrap(), &format!("{what} bias"));
            }
        }
    }
}

#[test]
fn bad_parameters_name_the_key() {
    let mut s = seed(WarmupMethod::Linear);
    s.lr_steps = vec![70, 40];
    assert!(s.validate().unwrap_err().to_string().starts_with("train.optim.lr_steps = [70, 40]"));
    let mut s = seed(WarmupMethod::Linear);
    s.base_lr = 0.0;
    assert!(s.validate().unwrap_err().to_string().starts_with("train.optim.base_lr = 0"));
    let mut s = seed(WarmupMethod::Cosine);
    s.num_epochs = 0;
    assert!(s.validate().unwrap_err().to_string().contains("train.num_epochs = 0"));
    let err = "exp".parse::<WarmupMethod>().unwrap_err().to_string();
    assert!(err.contains("train.optim.warmup_method = `exp`"), "{err}");
    assert_eq!("cosine".parse::<WarmupMethod>().unwrap(), WarmupMethod::Cosine);
    // No warm-up at all.
    let mut s = seed(WarmupMethod::Linear);
    s.warmup_epochs = 0;
    close(s.lr_at_counter(0), 0.0008, "no warm-up");
}

/// TransReID's `create_scheduler` as its `processor.py` steps it (`scheduler.step(epoch)` with epoch from 1):
/// 0-based epoch e trains at t = e + 1 of the TAO cosine formula; written out for its Market recipe.
#[test]
fn transreid_cosine_steps_one_epoch_later() {
    let s = WarmupMultiStep {
        base_lr: 0.008,
        lr_steps: vec![40, 70],
        gamma: 0.1,
        warmup_factor: 0.01,
        warmup_epochs: 5,
        method: WarmupMethod::TransreidCosine,
        num_epochs: 120,
    };
    s.validate().unwrap();
    // warmup_lr_init 8e-5, warmup step (0.008 - 8e-5) / 5 = 1.584e-3; lr_min 1.6e-5.
    for (epoch, lr) in [(0, 8e-5 + 1.584e-3), (1, 8e-5 + 2.0 * 1.584e-3), (3, 8e-5 + 4.0 * 1.584e-3)] {
        close(s.lr_at(epoch), lr, &format!("warm-up epoch {epoch}"));
    }
    let cosine = |t: f64| 1.6e-5 + 0.5 * (0.008 - 1.6e-5) * (1.0 + (PI * t / 120.0).cos());
    for epoch in 4..119 {
        close(s.lr_at(epoch), cosine(epoch as f64 + 1.0), &format!("cosine epoch {epoch}"));
    }
    close(s.lr_at(59), 1.6e-5 + 0.5 * (0.008 - 1.6e-5), "t = 60: cos(pi/2) = 0");
    close(s.lr_at(119), 1.6e-5, "the 120th epoch trains at lr_min (t = t_initial ends the one cycle)");
    let tao = WarmupMultiStep { method: WarmupMethod::Cosine, ..s.clone() };
    assert!((0..130).all(|e| s.lr_at(e) == tao.lr_at(e + 1)), "the TAO cosine one epoch later");
    // A bias group (bias_lr_factor 2) ramps from the same start to its own peak, to the same floor.
    close(s.lr_at_group(0, 0.016), 8e-5 + (0.016 - 8e-5) / 5.0, "bias warm-up");
    close(s.lr_at_group(119, 0.016), 1.6e-5, "bias floor");
    assert_eq!("transreid_cosine".parse::<WarmupMethod>().unwrap(), WarmupMethod::TransreidCosine);
}

/// The optimiser's groups take their rates from the schedule's groups (biases at `base_lr * bias_lr_factor`,
/// the classifiers at `2 * base_lr` with `large_fc_lr`), not from the base rate times the factor.
#[test]
fn group_rates_follow_the_schedule_groups() {
    use reid_trainer::optim::{GroupedOptimizer, OptimSettings, OptimizerKind};
    let s = WarmupMultiStep {
        base_lr: 1.0,
        lr_steps: vec![2],
        gamma: 0.5,
        warmup_factor: 0.25,
        warmup_epochs: 2,
        method: WarmupMethod::Cosine,
        num_epochs: 6,
    };
    let settings = OptimSettings {
        kind: OptimizerKind::Sgd,
        momentum: 0.9,
        weight_decay: 0.0,
        weight_decay_bias: 0.0,
        bias_lr_factor: 2.0,
        large_fc_lr: true,
    };
    let optim = GroupedOptimizer::new(settings);
    let r = optim.rates_at(&s, 1);
    // Warm-up t = 1 of 2 from 0.25: weights 0.625, biases 0.25 + (2 - 0.25) / 2 = 1.125 (not 2 * 0.625).
    close(r.base, 0.625, "weights");
    close(r.bias, 1.125, "biases");
    close(r.classifier.unwrap(), 1.125, "classifiers");
    let linear = WarmupMultiStep { method: WarmupMethod::Linear, ..s };
    let r = optim.rates_at(&linear, 0);
    close(r.bias, 2.0 * r.base, "multi-step scales the group by its factor");
}
