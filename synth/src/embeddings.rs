//! Clustered synthetic embedding sets with Market-1501 file names: for demos, tests and benchmarks.
//!
//! Each identity has a random centre whose norm (how distinctive the person looks) varies between identities;
//! each camera adds a shared random shift (the domain gap between views), which lets same-camera impostors
//! compete with cross-camera true matches as in real ReID data; each image adds noise of varying strength
//! (image quality). Distractors (pid 0) are isolated points; junk images (pid -1) are
//! noise that evaluation drops. Everything is L2-normalised, as a ReID network's output would be.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use reid_eval::Matrix;
use reid_eval::distance::l2_normalize;
use reid_eval::metrics::Label;
use reid_runtime::embeddings::EmbeddingSet;
use serde::{Deserialize, Serialize};

/// The shape and difficulty of a synthetic set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynthSpec {
    /// Identities with query and gallery images.
    pub identities: usize,
    /// Cameras (ids `1..=cameras`).
    pub cameras: u32,
    /// Embedding dimension.
    pub dim: usize,
    /// Query images.
    pub queries: usize,
    /// Gallery images of the identities (distractors and junk come on top).
    pub gallery: usize,
    /// Distractor images (pid 0) in the gallery.
    pub distractors: usize,
    /// Junk images (pid -1) in the gallery; evaluation drops them.
    pub junk: usize,
    /// Norm of each camera's shift relative to an identity centre's.
    pub camera_shift: f32,
    /// Typical norm of each image's own noise relative to the most distinctive identity centre's.
    pub noise: f32,
    /// Norm of the least distinctive identity centre (centre norms are uniform in `[distinct_min, 1]`).
    pub distinct_min: f32,
    /// Random seed.
    pub seed: u64,
}

impl SynthSpec {
    /// Market-1501's test split: 750 identities, 6 cameras, 3,368 queries, 15,913 gallery images
    /// (13,115 of the identities and 2,798 distractors).
    pub fn market1501(dim: usize) -> Self {
        Self {
            identities: 750,
            cameras: 6,
            dim,
            queries: 3368,
            gallery: 13_115,
            distractors: 2798,
            junk: 0,
            camera_shift: 0.42,
            noise: 0.78,
            distinct_min: 0.38,
            seed: 1501,
        }
    }

    /// MSMT17's test split: 3,060 identities, 15 cameras, 11,659 queries, 82,161 gallery images.
    pub fn msmt17(dim: usize) -> Self {
        Self {
            identities: 3060,
            cameras: 15,
            dim,
            queries: 11_659,
            gallery: 82_161,
            distractors: 0,
            junk: 0,
            camera_shift: 0.42,
            noise: 0.78,
            distinct_min: 0.38,
            seed: 17,
        }
    }

    /// A small set that evaluates in well under a second: 100 identities, 256-d.
    pub fn small() -> Self {
        Self {
            identities: 100,
            cameras: 6,
            dim: 256,
            queries: 400,
            gallery: 1800,
            distractors: 200,
            junk: 50,
            camera_shift: 0.42,
            noise: 0.78,
            distinct_min: 0.38,
            seed: 7,
        }
    }
}

/// A generated query and gallery set with their ground-truth labels.
#[derive(Clone, Debug)]
pub struct SynthSet {
    /// Query embeddings with Market-style paths (`query/PPPP_cC s1_FFFFFF_00.jpg`).
    pub query: EmbeddingSet,
    /// Gallery embeddings with Market-style paths (`bounding_box_test/...`), junk included.
    pub gallery: EmbeddingSet,
    /// Query labels (`pid` is the Market pid).
    pub query_labels: Vec<Label>,
    /// Gallery labels; junk items carry `pid = u32::MAX`.
    pub gallery_labels: Vec<Label>,
}

fn gaussian(rng: &mut StdRng, dim: usize, scale: f32) -> Vec<f32> {
    // Each coordinate has variance scale^2 / dim so the vector's norm is close to `scale`.
    let s = scale / (dim as f32).sqrt();
    (0..dim).map(|_| rng.sample::<f32, _>(StandardNormal) * s).collect()
}

/// Generates a set from `spec` (deterministic for a given seed).
pub fn generate(spec: &SynthSpec) -> SynthSet {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let dim = spec.dim;
    let cams = spec.cameras.max(1);
    let lo = spec.distinct_min.clamp(0.0, 1.0);
    let centres: Vec<Vec<f32>> = (0..spec.identities)
        .map(|_| {
            let r = rng.random_range(lo..=1.0);
            gaussian(&mut rng, dim, r)
        })
        .collect();
    let shifts: Vec<Vec<f32>> = (0..cams).map(|_| gaussian(&mut rng, dim, spec.camera_shift)).collect();
    let mut frame = 0u32;
    let mut sample = |rng: &mut StdRng, centre: &[f32], cam: u32| {
        let quality = (0.35 * rng.sample::<f32, _>(StandardNormal)).exp();
        let noise = gaussian(rng, dim, spec.noise * quality);
        let mut v: Vec<f32> =
            centre.iter().zip(&shifts[(cam - 1) as usize]).zip(noise).map(|((c, s), n)| c + s + n).collect();
        l2_normalize(&mut v);
        frame += 1;
        (v, frame)
    };
    let name = |dir: &str, pid: i64, cam: u32, frame: u32| match pid {
        -1 => format!("{dir}/-1_c{cam}s1_{frame:06}_00.jpg"),
        _ => format!("{dir}/{pid:04}_c{cam}s1_{frame:06}_00.jpg"),
    };

    // Images of the identities, assigned round-robin, each from a random camera.
    let mut identity_images = |rng: &mut StdRng, dir: &str, count: usize| {
        let mut out = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..count {
            let p = i % spec.identities.max(1);
            let cam = rng.random_range(1..=cams);
            let (v, f) = sample(rng, &centres[p], cam);
            out.0.push(name(dir, p as i64 + 1, cam, f));
            out.1.extend(v);
            out.2.push(Label::new(p as u32 + 1, Some(cam)));
        }
        out
    };
    let q = identity_images(&mut rng, "query", spec.queries);
    let mut g = identity_images(&mut rng, "bounding_box_test", spec.gallery);
    for (pid, count) in [(0i64, spec.distractors), (-1, spec.junk)] {
        for _ in 0..count {
            let cam = rng.random_range(1..=cams);
            let centre = gaussian(&mut rng, dim, 1.0);
            let (v, f) = sample(&mut rng, &centre, cam);
            g.0.push(name("bounding_box_test", pid, cam, f));
            g.1.extend(v);
            g.2.push(Label::new(if pid < 0 { u32::MAX } else { 0 }, Some(cam)));
        }
    }
    let set = |(paths, data, _): (Vec<String>, Vec<f32>, Vec<Label>)| {
        let rows = paths.len();
        EmbeddingSet { paths, embeddings: Matrix::from_vec(rows, dim, data).expect("rows of equal width") }
    };
    let (query_labels, gallery_labels) = (q.2.clone(), g.2.clone());
    SynthSet { query: set(q), gallery: set(g), query_labels, gallery_labels }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_names_and_determinism() {
        let spec =
            SynthSpec { identities: 5, queries: 7, gallery: 11, distractors: 2, junk: 1, dim: 8, ..SynthSpec::small() };
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.query.embeddings, b.query.embeddings);
        assert_eq!(a.query.len(), 7);
        assert_eq!(a.gallery.len(), 14);
        assert!(a.gallery.paths[11].starts_with("bounding_box_test/0000_c"));
        assert!(a.gallery.paths[13].starts_with("bounding_box_test/-1_c"), "{}", a.gallery.paths[13]);
        let norm: f32 = a.query.embeddings.row(3).iter().map(|x| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert_eq!(a.query_labels[6].pid, 2);
    }
}
