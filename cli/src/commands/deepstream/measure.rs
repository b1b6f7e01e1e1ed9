//! What nvinfer's single scale costs: embeddings of synthetic person crops preprocessed exactly (the runtime's one
//! preprocessing) and as nvinfer would (the same resize, then `net-scale-factor * (x - offsets[c])`), compared by
//! cosine. The crops come from `reid-synth` (seeded, so the numbers repeat).

use super::approx::Approximation;
use anyhow::{Context, Result};
use image::RgbImage;
use reid_eval::distance::cosine;
use reid_runtime::engine::preprocess::{preprocess_image, resize_triangle};
use reid_runtime::engine::{Engine, PreprocessConfig};
use reid_synth::persons::{Camera, DatasetSpec, Identity, render_crop};

/// Cosine similarities of exact vs approximated preprocessing over the sample crops.
#[derive(Clone, Debug, PartialEq)]
pub struct CosineReport {
    /// Crops compared.
    pub samples: usize,
    /// The smallest cosine.
    pub min: f64,
    /// The mean cosine.
    pub mean: f64,
}

/// `n` synthetic person crops of `width x height` (the Market-1501 writer's 64x128 by default): identity `i`,
/// camera `1 + i % 6`, the writer's shot for that identity and camera.
pub fn sample_crops(n: usize, width: u32, height: u32) -> Vec<RgbImage> {
    let spec = DatasetSpec { width, height, ..DatasetSpec::default() };
    (0..n as u32)
        .map(|i| {
            let camera = Camera::new(spec.seed, 1 + i % 6);
            let identity = Identity::new(spec.seed, i + 1);
            render_crop(&identity, &camera, &spec.shot(&camera, i + 1, i / 6), width, height)
        })
        .collect()
}

/// The network input nvinfer would build from `img`: the runtime's resize, then the approximation per model
/// channel (planar `[3, h, w]`).
pub fn approximate_input(img: &RgbImage, cfg: &PreprocessConfig, approx: &Approximation) -> Vec<f32> {
    let resized = if img.dimensions() == (cfg.width, cfg.height) {
        img.as_raw().clone()
    } else {
        resize_triangle(img.as_raw(), img.width(), img.height(), cfg.width, cfg.height)
    };
    let channels = cfg.color.source_channels();
    let n = resized.len() / 3;
    let mut out = vec![0.0f32; 3 * n];
    for (i, p) in resized.chunks_exact(3).enumerate() {
        for (c, &src) in channels.iter().enumerate() {
            out[c * n + i] = approx.normalize(p[src], c);
        }
    }
    out
}

/// Runs `crops` through `engine` both ways, `batch` at a time, and compares the raw outputs by cosine.
pub fn measure(
    engine: &dyn Engine,
    crops: &[RgbImage],
    cfg: &PreprocessConfig,
    approx: &Approximation,
    batch: usize,
) -> Result<CosineReport> {
    let (mut min, mut sum) = (f64::INFINITY, 0.0f64);
    for chunk in crops.chunks(batch.max(1)) {
        let exact: Vec<f32> = chunk.iter().flat_map(|img| preprocess_image(img, cfg)).collect();
        let near: Vec<f32> = chunk.iter().flat_map(|img| approximate_input(img, cfg, approx)).collect();
        let a = engine.embed_batch(&exact, chunk.len()).context("embedding the exactly preprocessed crops")?;
        let b = engine.embed_batch(&near, chunk.len()).context("embedding the nvinfer-preprocessed crops")?;
        let d = a.len() / chunk.len();
        if d == 0 || a.len() != b.len() {
            anyhow::bail!("the model gave {} and {} output values for {} crops", a.len(), b.len(), chunk.len());
        }
        for (x, y) in a.chunks_exact(d).zip(b.chunks_exact(d)) {
            let c = cosine(x, y);
            min = min.min(c);
            sum += c;
        }
    }
    Ok(CosineReport { samples: crops.len(), min, mean: sum / crops.len().max(1) as f64 })
}

#[cfg(test)]
mod tests {
    use super::super::approx::{ScaleFit, approximate};
    use super::*;
    use reid_runtime::engine::ColorOrder;
    use reid_runtime::engine::preprocess::IMAGENET_MEAN;

    #[test]
    fn equal_stds_reproduce_the_runtime_preprocessing_and_unequal_ones_differ_by_the_gain() {
        let crops = sample_crops(3, 64, 128);
        assert_eq!(crops[0].dimensions(), (64, 128));
        assert_ne!(crops[0], crops[1], "different identities look different");
        let mut cfg = PreprocessConfig::imagenet(32, 16);
        cfg.std = [0.226; 3];
        let a = approximate(cfg.scale, cfg.mean, cfg.std, ScaleFit::WorstCase);
        for img in &crops {
            let exact = preprocess_image(img, &cfg);
            let near = approximate_input(img, &cfg, &a);
            let worst = exact.iter().zip(&near).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < 2e-5, "equal stds: nvinfer's normalisation is the runtime's (to f32), got {worst}");
        }
        // Unequal stds: each channel is the exact value times its gain k / s_c.
        cfg.std = [0.25, 0.5, 2.0];
        let a = approximate(cfg.scale, cfg.mean, cfg.std, ScaleFit::WorstCase);
        let exact = preprocess_image(&crops[0], &cfg);
        let near = approximate_input(&crops[0], &cfg, &a);
        let n = exact.len() / 3;
        for c in 0..3 {
            let gain = 1.0 + a.gain_error[c];
            for i in (0..n).step_by(37) {
                let want = f64::from(exact[c * n + i]) * gain;
                assert!((f64::from(near[c * n + i]) - want).abs() < 1e-4, "channel {c} pixel {i}");
            }
        }
        // A BGR model's first channel reads blue.
        let mut bgr = PreprocessConfig::imagenet(32, 16);
        bgr.color = ColorOrder::Bgr;
        bgr.mean = [IMAGENET_MEAN[2], IMAGENET_MEAN[1], IMAGENET_MEAN[0]];
        bgr.std = [0.226; 3];
        let a = approximate(bgr.scale, bgr.mean, bgr.std, ScaleFit::WorstCase);
        let exact = preprocess_image(&crops[1], &bgr);
        let near = approximate_input(&crops[1], &bgr, &a);
        assert!(exact.iter().zip(&near).all(|(x, y)| (x - y).abs() < 2e-5));
    }

    /// An engine whose "embedding" is the mean of each input plane, so the approximation's effect on it is the
    /// channel gains: `cos(m, g * m)` for the exact plane means `m`.
    struct PlaneMeans(reid_runtime::engine::ModelInfo);

    impl Engine for PlaneMeans {
        fn info(&self) -> &reid_runtime::engine::ModelInfo {
            &self.0
        }
        fn embed_batch_cameras(
            &self,
            input: &[f32],
            n: usize,
            _cameras: Option<&[i64]>,
        ) -> Result<Vec<f32>, reid_runtime::engine::EngineError> {
            let plane = input.len() / n / 3;
            Ok(input.chunks_exact(plane).map(|p| p.iter().sum::<f32>() / plane as f32).collect())
        }
    }

    #[test]
    fn measure_compares_exact_and_approximated_inputs_image_by_image() {
        let mut cfg = PreprocessConfig::imagenet(32, 16);
        cfg.std = [0.2, 0.3, 0.6];
        let engine = PlaneMeans(reid_runtime::engine::ModelInfo {
            path: "plane-means".into(),
            input_name: "input".to_owned(),
            input_shape: Vec::new(),
            output_name: "means".to_owned(),
            output_dim: Some(3),
            metadata: Default::default(),
            preprocess: cfg.clone(),
            l2_normalized: false,
            camera: None,
        });
        let a = approximate(cfg.scale, cfg.mean, cfg.std, ScaleFit::WorstCase);
        let crops = sample_crops(5, 48, 96);
        let report = measure(&engine, &crops, &cfg, &a, 2).unwrap();
        // Independently: the exact plane means, each scaled by its channel's gain.
        let want: Vec<f64> = crops
            .iter()
            .map(|img| {
                let x = preprocess_image(img, &cfg);
                let n = x.len() / 3;
                let m: Vec<f64> = (0..3)
                    .map(|c| x[c * n..(c + 1) * n].iter().map(|v| f64::from(*v)).sum::<f64>() / n as f64)
                    .collect();
                let g: Vec<f64> = (0..3).map(|c| m[c] * (1.0 + a.gain_error[c])).collect();
                let dot: f64 = m.iter().zip(&g).map(|(p, q)| p * q).sum();
                dot / (m.iter().map(|p| p * p).sum::<f64>().sqrt() * g.iter().map(|q| q * q).sum::<f64>().sqrt())
            })
            .collect();
        assert_eq!(report.samples, 5);
        let min = want.iter().copied().fold(f64::INFINITY, f64::min);
        let mean = want.iter().sum::<f64>() / 5.0;
        assert!((report.min - min).abs() < 1e-5, "{} vs {min}", report.min);
        assert!((report.mean - mean).abs() < 1e-5, "{} vs {mean}", report.mean);
        assert!(report.min < 0.9999, "gains of +-20% must show: {report:?}");
    }
}
