//! Reproducible random unit vectors: the data of `reid bench gallery` (against FAISS), the load benchmark and the
//! tests.

use rand::{Rng, SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// `n x dim` standard-normal rows scaled to unit length, reproducible from `seed` (rows generated in parallel
/// blocks, each from its own seeded generator).
pub fn random_unit_rows(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    const BLOCK: usize = 4096;
    let mut data = vec![0.0f32; n * dim];
    data.par_chunks_mut(BLOCK * dim.max(1)).enumerate().for_each(|(b, chunk)| {
        let mut rng = StdRng::seed_from_u64(seed ^ (b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        for row in chunk.chunks_exact_mut(dim.max(1)) {
            row.iter_mut().for_each(|x| *x = rng.sample(StandardNormal));
            reid_eval::distance::l2_normalize(row);
        }
    });
    data
}

/// A fresh random u64 (std's per-process random hasher keys mixed with the clock): for ids that must differ between
/// stores, not for secrets.
pub fn fresh_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish()
}

/// Unit vectors with the structure of a re-identification gallery, for approximate-index benchmarks (uniform random
/// vectors in 256-d have no neighbourhood structure: every point is about equally far from every other, and no
/// graph index finds their nearest neighbours much faster than a scan). Identity `i` has a centre `z_i` in a
/// `latent`-d space (standard normal); a view is `normalise(A (z_i + 0.4 e) + 0.3 n)` with `e` latent and `n`
/// `dim`-d standard-normal noise and `A` a fixed `dim x latent` Gaussian basis (entries of variance `1 / latent`),
/// so views of one identity are close, identities spread over a low-dimensional manifold (as learned embeddings do),
/// and every row is reproducible from `(seed, identity, view)` alone, so a gallery can be generated in chunks.
#[derive(Clone, Debug)]
pub struct LatentRows {
    dim: usize,
    latent: usize,
    views: usize,
    seed: u64,
    basis: Vec<f32>,
}

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl LatentRows {
    /// A generator of `dim`-d rows over a `latent`-d identity space, `views` rows per identity.
    pub fn new(dim: usize, latent: usize, views: usize, seed: u64) -> LatentRows {
        let mut rng = StdRng::seed_from_u64(mix(seed, 0xBA515));
        let scale = 1.0 / (latent.max(1) as f32).sqrt();
        let basis = (0..dim * latent).map(|_| rng.sample::<f32, _>(StandardNormal) * scale).collect();
        LatentRows { dim, latent, views: views.max(1), seed, basis }
    }

    /// Views per identity.
    pub fn views(&self) -> usize {
        self.views
    }

    fn row(&self, identity: u64, noise_key: u64, out: &mut [f32]) {
        let mut id_rng = StdRng::seed_from_u64(mix(self.seed, identity.wrapping_add(1)));
        let mut rng = StdRng::seed_from_u64(mix(self.seed ^ 0x5EED, noise_key));
        let z: Vec<f32> = (0..self.latent)
            .map(|_| id_rng.sample::<f32, _>(StandardNormal) + 0.4 * rng.sample::<f32, _>(StandardNormal))
            .collect();
        for (j, o) in out.iter_mut().enumerate() {
            let a = &self.basis[j * self.latent..(j + 1) * self.latent];
            *o = a.iter().zip(&z).map(|(x, y)| x * y).sum::<f32>() + 0.3 * rng.sample::<f32, _>(StandardNormal);
        }
        reid_eval::distance::l2_normalize(out);
    }

    /// Gallery rows `start..start + n`: row `r` is view `r % views` of identity `r / views`.
    pub fn gallery(&self, start: usize, n: usize) -> Vec<f32> {
        let mut data = vec![0.0f32; n * self.dim];
        data.par_chunks_mut(self.dim.max(1)).enumerate().for_each(|(i, row)| {
            let r = (start + i) as u64;
            self.row(r / self.views as u64, r, row);
        });
        data
    }

    /// `n` queries: fresh views (noise not in the gallery) of identities drawn from the first `identities`.
    pub fn queries(&self, n: usize, identities: usize) -> Vec<f32> {
        let mut data = vec![0.0f32; n * self.dim];
        data.par_chunks_mut(self.dim.max(1)).enumerate().for_each(|(i, row)| {
            let identity = mix(self.seed ^ 0x0E5, i as u64) % identities.max(1) as u64;
            self.row(identity, u64::MAX - i as u64, row);
        });
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_unit_and_reproducible() {
        let data = random_unit_rows(3, 5, 1);
        for r in data.chunks(5) {
            assert!((r.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        }
        assert_eq!(random_unit_rows(3, 5, 1), data);
        assert_ne!(random_unit_rows(3, 5, 2), data);
    }

    #[test]
    fn latent_rows_are_unit_chunkable_and_clustered_by_identity() {
        let g = LatentRows::new(64, 8, 4, 3);
        let all = g.gallery(0, 40);
        assert_eq!(&all[20 * 64..], &g.gallery(20, 20)[..], "chunks equal the whole");
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        for r in all.chunks(64) {
            assert!((dot(r, r) - 1.0).abs() < 1e-4);
        }
        // Views of one identity are closer than views of different ones, on average.
        let row = |i: usize| &all[i * 64..(i + 1) * 64];
        let same: f32 = (0..10).map(|p| dot(row(4 * p), row(4 * p + 1))).sum::<f32>() / 10.0;
        let other: f32 = (0..9).map(|p| dot(row(4 * p), row(4 * p + 4))).sum::<f32>() / 9.0;
        assert!(same > other + 0.3, "same {same} other {other}");
        assert_eq!(g.queries(5, 10), g.queries(5, 10));
    }
}
