//! nvinfer's preprocessing as close as it gets to the model's: one `net-scale-factor` for all channels.
//!
//! The model wants `y_c = (x * scale - mean_c) / std_c` of each 8-bit value `x` (`runtime/src/engine/preprocess/`),
//! which is `y_c = s_c * (x - o_c)` with `s_c = scale / std_c` and `o_c = mean_c / scale`. nvinfer computes
//! `y = net-scale-factor * (x - offsets[c])` ("Gst-nvinfer", DeepStream developer guide,
//! <https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/DS_plugin_gst-nvinfer.html>): per-channel
//! offsets, but one scale `k`. So `offsets[c] = o_c` exactly and only the scale is approximated; channel `c` then
//! gets `k * (x - o_c)`, off by `(k - s_c) * (x - o_c)`, that is its normalised value times the gain `k / s_c`.
//!
//! [`fit_scale`] chooses `k` by one of two objectives over `x` in `0..=255` and all three channels:
//! - [`ScaleFit::WorstCase`] (default): the smallest largest deviation `max_c max_x |k - s_c| |x - o_c|`; the
//!   function is convex and piecewise linear in `k`, so its minimum lies on one of the `s_c` or where two channels'
//!   lines `R_i (k - s_i) = R_j (s_j - k)` cross (`R_c = max_x |x - o_c|`); every candidate is evaluated.
//! - [`ScaleFit::MeanSquare`]: the smallest mean squared deviation over all 256 values of every channel, in closed
//!   form `k = sum_c w_c s_c / sum_c w_c` with `w_c = mean_x (x - o_c)^2`.
//!
//! nvinfer keeps the scale and the offsets as `float` (`NvDsInferContextInitParams`), so [`Approximation`] rounds
//! both to `f32`, and [`Approximation::normalize`] computes what nvinfer would.

use std::fmt;
use std::str::FromStr;

/// How the single scale is chosen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ScaleFit {
    /// Minimise the largest deviation of any normalised value.
    #[default]
    WorstCase,
    /// Minimise the mean squared deviation over every 8-bit value of every channel.
    MeanSquare,
}

impl fmt::Display for ScaleFit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScaleFit::WorstCase => "worst-case",
            ScaleFit::MeanSquare => "mean-square",
        })
    }
}

impl FromStr for ScaleFit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "worst-case" | "worst" | "max" => Ok(ScaleFit::WorstCase),
            "mean-square" | "mse" => Ok(ScaleFit::MeanSquare),
            other => Err(format!("unknown scale fit `{other}` (expected worst-case or mean-square)")),
        }
    }
}

/// nvinfer's `net-scale-factor` and `offsets` for a model's scale, mean and std, with what the approximation costs.
#[derive(Clone, Debug, PartialEq)]
pub struct Approximation {
    /// `net-scale-factor`, as nvinfer stores it.
    pub scale_factor: f32,
    /// `offsets`, per model channel, as nvinfer stores them (`mean_c / scale`).
    pub offsets: [f32; 3],
    /// The exact per-channel scales `scale / std_c`.
    pub exact_scales: [f64; 3],
    /// Per channel, the gain `k / s_c - 1` the approximation puts on the normalised value (0: exact).
    pub gain_error: [f64; 3],
    /// The largest deviation `|k (x - o_c) - s_c (x - o_c)|` over `x` in `0..=255` and every channel, in normalised
    /// units (with `k` and `o_c` as stored).
    pub max_deviation: f64,
    /// The root mean squared deviation over every 8-bit value of every channel.
    pub rms_deviation: f64,
}

impl Approximation {
    /// Whether one scale reproduces the model's normalisation exactly (equal per-channel scales).
    pub fn is_exact(&self) -> bool {
        self.max_deviation == 0.0
    }

    /// What nvinfer feeds the network for the 8-bit value `x` in model channel `c`.
    pub fn normalize(&self, x: u8, c: usize) -> f32 {
        self.scale_factor * (f32::from(x) - self.offsets[c])
    }
}

/// The largest `|x - o|` over `x` in `0..=255` (at an end of the range).
fn reach(o: f64) -> f64 {
    o.abs().max((255.0 - o).abs())
}

/// The mean of `(x - o)^2` over the 256 values `x` in `0..=255`.
fn mean_square_reach(o: f64) -> f64 {
    (0..=255).map(|x| (f64::from(x) - o).powi(2)).sum::<f64>() / 256.0
}

/// The largest deviation of channel values for scale `k`.
fn worst(k: f64, s: &[f64; 3], r: &[f64; 3]) -> f64 {
    (0..3).map(|c| (k - s[c]).abs() * r[c]).fold(0.0, f64::max)
}

/// The single scale for per-channel scales `s` with offsets `o` under `fit` (before rounding to `f32`).
pub fn fit_scale(s: &[f64; 3], o: &[f64; 3], fit: ScaleFit) -> f64 {
    match fit {
        ScaleFit::WorstCase => {
            let r = o.map(reach);
            let mut candidates: Vec<f64> = s.to_vec();
            for i in 0..3 {
                for j in i + 1..3 {
                    if r[i] + r[j] > 0.0 {
                        candidates.push((r[i] * s[i] + r[j] * s[j]) / (r[i] + r[j]));
                    }
                }
            }
            // The first minimum: an exact channel scale wins ties, so equal scales give exactly that scale.
            candidates
                .into_iter()
                .fold((f64::INFINITY, s[0]), |(best, bk), k| {
                    let v = worst(k, s, &r);
                    if v < best { (v, k) } else { (best, bk) }
                })
                .1
        }
        ScaleFit::MeanSquare => {
            if s[0] == s[1] && s[1] == s[2] {
                return s[0];
            }
            let w = o.map(mean_square_reach);
            (0..3).map(|c| w[c] * s[c]).sum::<f64>() / w.iter().sum::<f64>()
        }
    }
}

/// The decimal number an `f32` was parsed from (its shortest round-trip form): `0.485f32` gives `0.485`, not
/// `0.48500001430511475`, so `offsets` come out as `255 * mean` of the metadata's decimals.
fn decimal(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// nvinfer's scale and offsets for a model normalising `x * scale` by `mean` and `std` (model channel order).
pub fn approximate(scale: f64, mean: [f32; 3], std: [f32; 3], fit: ScaleFit) -> Approximation {
    let exact_scales = std.map(|sd| scale / decimal(sd));
    let exact_offsets = mean.map(|m| decimal(m) / scale);
    let scale_factor = if exact_scales[0] == exact_scales[1] && exact_scales[1] == exact_scales[2] {
        exact_scales[0] as f32
    } else {
        fit_scale(&exact_scales, &exact_offsets, fit) as f32
    };
    let offsets = exact_offsets.map(|o| o as f32);
    // The deviations of what nvinfer computes (stored f32 values) from the model's normalisation.
    let (mut max_deviation, mut sum_sq) = (0.0f64, 0.0f64);
    for c in 0..3 {
        for x in 0..=255u8 {
            let approx = f64::from(scale_factor) * (f64::from(x) - f64::from(offsets[c]));
            let exact = (f64::from(x) * scale - decimal(mean[c])) / decimal(std[c]);
            let d = (approx - exact).abs();
            max_deviation = max_deviation.max(d);
            sum_sq += d * d;
        }
    }
    // Values that agree to f32 rounding are exact for nvinfer, which computes in f32.
    if exact_scales.iter().all(|s| (*s as f32) == scale_factor) {
        max_deviation = 0.0;
        sum_sq = 0.0;
    }
    Approximation {
        scale_factor,
        offsets,
        exact_scales,
        gain_error: exact_scales.map(|s| f64::from(scale_factor) / s - 1.0),
        max_deviation,
        rms_deviation: (sum_sq / (3.0 * 256.0)).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
    const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

    /// The largest deviation for scale `k`, by brute force over every value and channel (independent of `worst`).
    fn brute_worst(k: f64, scale: f64, mean: [f32; 3], std: [f32; 3]) -> f64 {
        let mut m = 0.0f64;
        for c in 0..3 {
            for x in 0..=255 {
                let exact = (f64::from(x) * scale - f64::from(mean[c])) / f64::from(std[c]);
                let approx = k * (f64::from(x) - f64::from(mean[c]) / scale);
                m = m.max((approx - exact).abs());
            }
        }
        m
    }

    #[test]
    fn equal_stds_give_the_exact_scale_and_zero_deviation() {
        for fit in [ScaleFit::WorstCase, ScaleFit::MeanSquare] {
            let a = approximate(1.0 / 255.0, IMAGENET_MEAN, [0.226; 3], fit);
            assert!((f64::from(a.scale_factor) - 1.0 / (255.0 * 0.226)).abs() < 1e-9, "{}", a.scale_factor);
            assert_eq!(a.max_deviation, 0.0);
            assert_eq!(a.rms_deviation, 0.0);
            assert!(a.is_exact());
            assert_eq!(a.gain_error.map(|g| g.abs() < 1e-7), [true; 3]);
            // offsets = 255 * mean, to f32.
            assert_eq!(a.offsets, [123.675, 116.28, 103.53]);
        }
    }

    #[test]
    fn imagenet_worst_case_scale_balances_red_and_green() {
        // s = 1/(255 std), o = 255 mean; R = max(o, 255 - o) = (131.325, 138.72, 151.47). Red has the smallest
        // scale and green the largest, so the optimum balances them:
        // k = (R_r s_r + R_g s_g) / (R_r + R_g) = (131.325/58.395 + 138.72/57.12) / 270.045 = 0.0173211...
        let a = approximate(1.0 / 255.0, IMAGENET_MEAN, IMAGENET_STD, ScaleFit::WorstCase);
        let (sr, sg) = (1.0 / (255.0 * 0.229f64), 1.0 / (255.0 * 0.224f64));
        let want = (131.325 * sr + 138.72 * sg) / (131.325 + 138.72);
        assert!((f64::from(a.scale_factor) - want).abs() < 1e-7, "{} vs {want}", a.scale_factor);
        assert!((f64::from(a.scale_factor) - 0.017_321_1).abs() < 5e-8, "{}", a.scale_factor);
        // Red gains +1.15 %, green loses 1.06 %: both reach the same largest deviation, blue stays below it.
        assert!((a.gain_error[0] - 0.011_47).abs() < 1e-4, "{:?}", a.gain_error);
        assert!((a.gain_error[1] + 0.010_62).abs() < 1e-4, "{:?}", a.gain_error);
        assert!((a.max_deviation - 0.025_79).abs() < 2e-4, "{}", a.max_deviation);
        // No scale does better: a fine grid around it, by brute force.
        let best = a.max_deviation;
        for i in -2000..=2000 {
            let k = want * (1.0 + f64::from(i) * 1e-5);
            assert!(brute_worst(k, 1.0 / 255.0, IMAGENET_MEAN, IMAGENET_STD) >= best - 1e-6, "k = {k} beats {want}");
        }
        assert!((brute_worst(f64::from(a.scale_factor), 1.0 / 255.0, IMAGENET_MEAN, IMAGENET_STD) - best).abs() < 1e-6);
    }

    #[test]
    fn mean_square_fit_is_the_least_squares_scale() {
        let a = approximate(1.0 / 255.0, IMAGENET_MEAN, IMAGENET_STD, ScaleFit::MeanSquare);
        let sq = |k: f64| -> f64 {
            let mut sum = 0.0;
            for c in 0..3 {
                for x in 0..=255 {
                    let exact = (f64::from(x) / 255.0 - f64::from(IMAGENET_MEAN[c])) / f64::from(IMAGENET_STD[c]);
                    sum += (k * (f64::from(x) - 255.0 * f64::from(IMAGENET_MEAN[c])) - exact).powi(2);
                }
            }
            sum
        };
        let k = f64::from(a.scale_factor);
        assert!(sq(k) <= sq(k * (1.0 + 1e-4)) && sq(k) <= sq(k * (1.0 - 1e-4)));
        assert!((a.rms_deviation - (sq(k) / 768.0).sqrt()).abs() < 1e-6);
        // Between the smallest and largest channel scale, and different from the worst-case choice.
        let w = approximate(1.0 / 255.0, IMAGENET_MEAN, IMAGENET_STD, ScaleFit::WorstCase);
        assert!(a.scale_factor != w.scale_factor);
        assert!(a.max_deviation >= w.max_deviation);
        assert!(k > 1.0 / (255.0 * 0.229) && k < 1.0 / (255.0 * 0.224));
    }

    #[test]
    fn a_far_off_channel_dominates_and_bgr_order_is_kept() {
        // Model channel order as stored (a BGR model lists blue first); the odd channel is the third.
        let a = approximate(1.0 / 255.0, [0.5, 0.5, 0.5], [0.25, 0.25, 1.0], ScaleFit::WorstCase);
        // s = (4/255, 4/255, 1/255), R = 127.5 each: k = (4/255 + 1/255) / 2 = 2.5/255.
        assert!((f64::from(a.scale_factor) - 2.5 / 255.0).abs() < 1e-9);
        assert!((a.max_deviation - 1.5 / 255.0 * 127.5).abs() < 1e-5, "{}", a.max_deviation);
        assert!((a.gain_error[2] - 1.5).abs() < 1e-6 && (a.gain_error[0] + 0.375).abs() < 1e-6);
        assert_eq!(a.offsets, [127.5; 3]);
        // nvinfer's value for x = 255 in the third channel.
        assert!((a.normalize(255, 2) - 2.5 / 255.0 * 127.5).abs() < 1e-6);
    }

    #[test]
    fn scale_fit_names_parse() {
        assert_eq!("worst-case".parse::<ScaleFit>(), Ok(ScaleFit::WorstCase));
        assert_eq!("MSE".parse::<ScaleFit>(), Ok(ScaleFit::MeanSquare));
        assert!("median".parse::<ScaleFit>().unwrap_err().contains("worst-case"));
    }
}
