//! Open-set answers: who is this, or nobody we know?
//!
//! **Rule.** The best identity is the identity of the first labelled match in the result order (for plain top-k
//! that is the highest-scoring labelled match, i.e. the max-score rule per identity; with re-ranking it is the
//! best re-ranked labelled match). Its score is that match's cosine score. Unlabelled matches are skipped. The
//! answer is `unknown` when no match is labelled or the score is below the threshold; the nearest identity is
//! still reported then, so clients must read `unknown`. `votes` counts the matches in the list carrying that
//! identity, as a confidence hint; it does not change the answer (a majority rule lets several mediocre
//! matches outvote one near-duplicate, which is the wrong trade for re-identification).
//!
//! [`calibrate`] picks the threshold for a target false-match rate from labelled genuine and impostor scores.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The open-set verdict for one query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Identity of the best labelled match (present even when `unknown`).
    pub identity: Option<String>,
    /// Its cosine score.
    pub score: Option<f32>,
    /// True when no labelled match reaches the threshold.
    pub unknown: bool,
    /// Matches in the list that carry the identity.
    pub votes: usize,
}

/// Applies the rule above to `(identity, score)` pairs in result order.
pub fn decide<'a>(matches: impl IntoIterator<Item = (Option<&'a str>, f32)> + Clone, threshold: f32) -> Verdict {
    let best = matches.clone().into_iter().find_map(|(who, s)| who.map(|w| (w, s)));
    match best {
        None => Verdict { identity: None, score: None, unknown: true, votes: 0 },
        Some((who, score)) => {
            let votes = matches.into_iter().filter(|(w, _)| *w == Some(who)).count();
            Verdict { identity: Some(who.to_string()), score: Some(score), unknown: score < threshold, votes }
        }
    }
}

/// A threshold and the rates it achieves on the calibration set.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Scores at or above it are matches.
    pub threshold: f32,
    /// Share of impostor scores at or above the threshold.
    pub false_match_rate: f64,
    /// Share of genuine scores below the threshold.
    pub false_non_match_rate: f64,
    /// Genuine pairs used.
    pub genuine: usize,
    /// Impostor pairs used.
    pub impostor: usize,
}

/// Calibration inputs that cannot give a threshold.
#[derive(Debug, Error, PartialEq)]
pub enum CalibrateError {
    /// No impostor scores.
    #[error("impostor scores: none given; a false-match rate needs impostor pairs")]
    NoImpostors,
    /// A NaN or infinite score.
    #[error("{set} scores: value {index} is {value}, not a finite number")]
    NonFinite {
        /// "genuine" or "impostor".
        set: &'static str,
        /// Position.
        index: usize,
        /// The value.
        value: f32,
    },
    /// Target rate outside [0, 1].
    #[error("target false-match rate {0} is outside [0, 1]")]
    Target(f64),
}

/// The lowest threshold whose false-match rate on `impostor` (share of impostor scores `>=` threshold) is at most
/// `target_fmr`; the lowest such threshold keeps the most genuine matches. With `m = floor(target * impostors)`
/// false matches allowed, the threshold is just above the `(m+1)`-th highest impostor score (ties at that score
/// are all rejected, so the achieved rate may be below the target but never above it).
pub fn calibrate(genuine: &[f32], impostor: &[f32], target_fmr: f64) -> Result<Calibration, CalibrateError> {
    if !(0.0..=1.0).contains(&target_fmr) {
        return Err(CalibrateError::Target(target_fmr));
    }
    for (set, v) in [("genuine", genuine), ("impostor", impostor)] {
        if let Some(index) = v.iter().position(|s| !s.is_finite()) {
            return Err(CalibrateError::NonFinite { set, index, value: v[index] });
        }
    }
    if impostor.is_empty() {
        return Err(CalibrateError::NoImpostors);
    }
    let mut imp = impostor.to_vec();
    imp.sort_by(|a, b| b.total_cmp(a));
    let allowed = ((target_fmr * imp.len() as f64) + 1e-9).floor() as usize;
    let threshold = if allowed >= imp.len() {
        // Every impostor may match: the threshold only has to accept everything.
        imp[imp.len() - 1].min(genuine.iter().copied().fold(f32::INFINITY, f32::min))
    } else {
        next_up(imp[allowed])
    };
    let fm = imp.iter().filter(|&&s| s >= threshold).count();
    let fnm = genuine.iter().filter(|&&s| s < threshold).count();
    Ok(Calibration {
        threshold,
        false_match_rate: fm as f64 / imp.len() as f64,
        false_non_match_rate: if genuine.is_empty() { 0.0 } else { fnm as f64 / genuine.len() as f64 },
        genuine: genuine.len(),
        impostor: imp.len(),
    })
}

/// One point of the open-set threshold curve: at this threshold, the share of impostor pairs accepted (false
/// match) and of genuine pairs accepted (true match).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvePoint {
    /// Cosine threshold.
    pub threshold: f32,
    /// Share of impostor scores at or above it.
    pub false_match_rate: f64,
    /// Share of genuine scores at or above it.
    pub true_match_rate: f64,
}

/// What `reid gallery calibrate --curve FILE` writes and the console's Calibration page plots.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationCurve {
    /// The target false-match rate asked for.
    pub target_fmr: f64,
    /// The threshold [`calibrate`] chose and its rates.
    pub chosen: Calibration,
    /// The curve, thresholds ascending.
    pub points: Vec<CurvePoint>,
}

/// Most points a curve file may hold.
pub const MAX_CURVE_POINTS: usize = 10_000;

/// The threshold curve at `steps + 1` thresholds evenly spaced from the lowest to the highest score (both sets),
/// each point's rates counted exactly (scores sorted once, then a binary search per threshold).
pub fn curve(genuine: &[f32], impostor: &[f32], steps: usize) -> Vec<CurvePoint> {
    let mut g: Vec<f32> = genuine.iter().copied().filter(|s| s.is_finite()).collect();
    let mut i: Vec<f32> = impostor.iter().copied().filter(|s| s.is_finite()).collect();
    if g.is_empty() && i.is_empty() {
        return Vec::new();
    }
    g.sort_by(f32::total_cmp);
    i.sort_by(f32::total_cmp);
    let lo = g.first().copied().unwrap_or(f32::INFINITY).min(i.first().copied().unwrap_or(f32::INFINITY));
    let hi = g.last().copied().unwrap_or(f32::NEG_INFINITY).max(i.last().copied().unwrap_or(f32::NEG_INFINITY));
    let steps = steps.clamp(1, MAX_CURVE_POINTS - 1);
    let at_or_above = |v: &[f32], t: f32| {
        if v.is_empty() { 0.0 } else { (v.len() - v.partition_point(|&s| s < t)) as f64 / v.len() as f64 }
    };
    (0..=steps)
        .map(|k| {
            let t = lo + (hi - lo) * k as f32 / steps as f32;
            CurvePoint { threshold: t, false_match_rate: at_or_above(&i, t), true_match_rate: at_or_above(&g, t) }
        })
        .collect()
}

impl CalibrationCurve {
    /// Reads and checks a curve file (JSON, at most 4 MiB): every rate in [0, 1], thresholds finite and
    /// ascending, at most [`MAX_CURVE_POINTS`] points. Errors name the file and the field.
    pub fn read(path: &std::path::Path) -> Result<CalibrationCurve, String> {
        let shown = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: {e}"))?;
        if meta.len() > 4 << 20 {
            return Err(format!("{shown}: {} bytes; a calibration curve file is at most 4 MiB", meta.len()));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        let c: CalibrationCurve = serde_json::from_slice(&bytes).map_err(|e| format!("{shown}: {e}"))?;
        c.check().map_err(|e| format!("{shown}: {e}"))?;
        Ok(c)
    }

    /// The checks [`CalibrationCurve::read`] applies.
    pub fn check(&self) -> Result<(), String> {
        if self.points.len() > MAX_CURVE_POINTS {
            return Err(format!("points: {} is more than {MAX_CURVE_POINTS}", self.points.len()));
        }
        let rate = |v: f64| v.is_finite() && (0.0..=1.0).contains(&v);
        if !rate(self.target_fmr) || !rate(self.chosen.false_match_rate) || !rate(self.chosen.false_non_match_rate) {
            return Err("target_fmr / chosen: a rate outside [0, 1]".into());
        }
        if !self.chosen.threshold.is_finite() {
            return Err("chosen.threshold: not a finite number".into());
        }
        for (k, p) in self.points.iter().enumerate() {
            if !p.threshold.is_finite() || !rate(p.false_match_rate) || !rate(p.true_match_rate) {
                return Err(format!("points[{k}]: a threshold that is not finite or a rate outside [0, 1]"));
            }
            if k > 0 && p.threshold < self.points[k - 1].threshold {
                return Err(format!("points[{k}].threshold: below the previous point's (thresholds ascend)"));
            }
        }
        Ok(())
    }
}

/// The smallest f32 greater than `x` (finite `x`).
fn next_up(x: f32) -> f32 {
    if x == 0.0 {
        return f32::from_bits(1);
    }
    let b = x.to_bits();
    f32::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_identity_skips_unlabelled_and_applies_threshold() {
        let m = [(None, 0.95), (Some("bob"), 0.8), (Some("amy"), 0.79), (Some("bob"), 0.5)];
        let v = decide(m.iter().copied(), 0.7);
        assert_eq!(v, Verdict { identity: Some("bob".into()), score: Some(0.8), unknown: false, votes: 2 });
        let v = decide(m.iter().copied(), 0.85);
        assert!(v.unknown);
        assert_eq!(v.identity.as_deref(), Some("bob"));
        let v = decide([(None, 0.9f32)].iter().copied(), 0.0);
        assert_eq!(v, Verdict { identity: None, score: None, unknown: true, votes: 0 });
    }

    #[test]
    fn calibrate_hits_target_on_hand_made_scores() {
        // Ten impostors 0.1..=1.0 (0.1 steps); genuine scores 0.55..0.95.
        let impostor: Vec<f32> = (1..=10).map(|i| i as f32 / 10.0).collect();
        let genuine = [0.55f32, 0.65, 0.75, 0.85, 0.95];
        // 20% FMR allows two false matches: 1.0 and 0.9 pass, 0.8 must not, so threshold is just above 0.8.
        let c = calibrate(&genuine, &impostor, 0.2).unwrap();
        assert!(c.threshold > 0.8 && c.threshold < 0.8 + 1e-6, "{c:?}");
        assert_eq!(c.false_match_rate, 0.2);
        // 0.55, 0.65 and 0.75 fall below it.
        assert_eq!(c.false_non_match_rate, 0.6);
        // 0% FMR: above the highest impostor.
        let c = calibrate(&genuine, &impostor, 0.0).unwrap();
        assert!(c.threshold > 1.0);
        assert_eq!(c.false_match_rate, 0.0);
        assert_eq!(c.false_non_match_rate, 1.0);
        // 15% allows one (floor), like 10%.
        assert_eq!(calibrate(&genuine, &impostor, 0.15).unwrap().threshold, next_up(0.9));
        // Ties at the boundary are all rejected: FMR lands below the target, never above.
        let tied = [0.5f32, 0.5, 0.5, 0.1];
        let c = calibrate(&[], &tied, 0.5).unwrap();
        assert_eq!(c.false_match_rate, 0.0);
        assert!(c.threshold > 0.5);
        // 100%: everything matches.
        let c = calibrate(&genuine, &impostor, 1.0).unwrap();
        assert_eq!((c.false_match_rate, c.false_non_match_rate), (1.0, 0.0));
    }

    #[test]
    fn calibrate_errors_name_the_input() {
        assert_eq!(calibrate(&[0.5], &[], 0.1), Err(CalibrateError::NoImpostors));
        let e = calibrate(&[0.5, f32::NAN], &[0.1], 0.1).unwrap_err();
        assert_eq!(e.to_string(), "genuine scores: value 1 is NaN, not a finite number");
        assert!(calibrate(&[0.5], &[0.1], 1.5).unwrap_err().to_string().contains("1.5"));
        assert!(next_up(-0.5) > -0.5);
    }

    #[test]
    fn curve_counts_rates_at_each_threshold() {
        let genuine = [0.9, 0.8, 0.7, 0.6];
        let impostor = [0.1, 0.2, 0.3, 0.65];
        let c = curve(&genuine, &impostor, 8);
        assert_eq!(c.len(), 9);
        assert_eq!(c[0].threshold, 0.1);
        assert_eq!((c[0].false_match_rate, c[0].true_match_rate), (1.0, 1.0));
        assert!((c[8].threshold - 0.9).abs() < 1e-6);
        assert_eq!((c[8].false_match_rate, c[8].true_match_rate), (0.0, 0.25));
        // threshold 0.6: impostor 0.65 only; genuine all four.
        let p = c.iter().find(|p| (p.threshold - 0.6).abs() < 1e-6).unwrap();
        assert_eq!((p.false_match_rate, p.true_match_rate), (0.25, 1.0));
        let chosen = calibrate(&genuine, &impostor, 0.0).unwrap();
        let file = CalibrationCurve { target_fmr: 0.0, chosen, points: c };
        assert!(file.check().is_ok());
        let mut bad = file.clone();
        bad.points[3].true_match_rate = 1.5;
        assert!(bad.check().unwrap_err().contains("points[3]"));
    }
}
