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
}
