//! Batch samplers over the training images: a shuffled pass (`softmax`) or P x K identity batches
//! (`triplet`, `softmax_triplet`), the `RandomIdentitySampler` of Luo et al. 2019's reid-strong-baseline
//! (`data/samplers/triplet_sampler.py`) as TAO ReIdentificationNet uses it (Hermans et al. 2017 introduced
//! P x K batches for the batch-hard triplet loss).
//!
//! Each epoch is a pure function of the labels and a `u64` seed ([`Sampler::epoch`]), so a resumed run replays
//! the same batches; [`epoch_seed`] derives a per-epoch seed from a run seed. The generator is rand's `StdRng`,
//! whose stream may change between rand releases (not between runs of one build).

use crate::choice::{Choice, named_choice};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The spec's `dataset.sampler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SamplerKind {
    /// `softmax`: a random permutation of all images per epoch.
    Softmax,
    /// `triplet`: P x K identity batches.
    Triplet,
    /// `softmax_triplet`: P x K identity batches (the losses differ from `triplet`, the batches do not).
    SoftmaxTriplet,
}

impl Choice for SamplerKind {
    const SPELLINGS: &'static [(&'static str, Self)] = &[
        ("softmax", SamplerKind::Softmax),
        ("triplet", SamplerKind::Triplet),
        ("softmax_triplet", SamplerKind::SoftmaxTriplet),
    ];
}

named_choice!(SamplerKind);

impl SamplerKind {
    /// The spec spelling.
    pub fn as_str(self) -> &'static str {
        self.name()
    }

    /// Whether batches are P identities x K images.
    pub fn is_identity_batched(self) -> bool {
        !matches!(self, SamplerKind::Softmax)
    }
}

impl FromStr for SamplerKind {
    type Err = SamplerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SamplerKind::from_name(s).ok_or_else(|| SamplerError::UnknownKind(s.to_string()))
    }
}

/// Why a sampler cannot be built; the message names the spec key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplerError {
    /// `dataset.sampler` is not one of the three.
    #[error("dataset.sampler = `{0}` is not one of softmax, triplet, softmax_triplet")]
    UnknownKind(String),
    /// No training images.
    #[error("the training set is empty: no labels to sample from")]
    Empty,
    /// `batch_size` is 0.
    #[error("dataset.batch_size = 0: a batch needs at least one image")]
    ZeroBatchSize,
    /// `num_instances` is 0.
    #[error("dataset.num_instances = 0: each identity needs at least one image per batch")]
    ZeroInstances,
    /// `batch_size` is not P x `num_instances`.
    #[error("dataset.batch_size = {batch_size} is not a multiple of dataset.num_instances = {num_instances}")]
    NotMultiple {
        /// `dataset.batch_size`.
        batch_size: usize,
        /// `dataset.num_instances`.
        num_instances: usize,
    },
    /// Fewer identities than a batch holds.
    #[error(
        "dataset.batch_size = {batch_size} with dataset.num_instances = {num_instances} needs {needed} identities \
         per batch, but the training set has {identities}"
    )]
    TooFewIdentities {
        /// `dataset.batch_size`.
        batch_size: usize,
        /// `dataset.num_instances`.
        num_instances: usize,
        /// P = `batch_size / num_instances`.
        needed: usize,
        /// Identities in the training set.
        identities: usize,
    },
    /// Fewer images than one batch (the last incomplete batch is dropped, so an epoch would be empty).
    #[error("dataset.batch_size = {batch_size} is larger than the training set ({images} images)")]
    TooFewImages {
        /// `dataset.batch_size`.
        batch_size: usize,
        /// Images in the training set.
        images: usize,
    },
}

/// A deterministic, seeded batch sampler over training image indices.
#[derive(Debug, Clone)]
pub struct Sampler {
    kind: SamplerKind,
    num_images: usize,
    batch_size: usize,
    num_instances: usize,
    /// Image indices of each identity, identities in ascending label order.
    identities: Vec<Vec<usize>>,
}

impl Sampler {
    /// A sampler over `labels` (one identity label per image index, e.g. relabelled pids `0..num_classes`).
    ///
    /// `num_instances` (K) only matters for the identity-batched kinds, which need `batch_size = P x K` and at
    /// least P identities.
    pub fn new(
        kind: SamplerKind,
        labels: &[usize],
        batch_size: usize,
        num_instances: usize,
    ) -> Result<Sampler, SamplerError> {
        if labels.is_empty() {
            return Err(SamplerError::Empty);
        }
        if batch_size == 0 {
            return Err(SamplerError::ZeroBatchSize);
        }
        let mut by_label: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (index, &label) in labels.iter().enumerate() {
            by_label.entry(label).or_default().push(index);
        }
        let identities: Vec<Vec<usize>> = by_label.into_values().collect();
        if kind.is_identity_batched() {
            if num_instances == 0 {
                return Err(SamplerError::ZeroInstances);
            }
            if !batch_size.is_multiple_of(num_instances) {
                return Err(SamplerError::NotMultiple { batch_size, num_instances });
            }
            let needed = batch_size / num_instances;
            if identities.len() < needed {
                return Err(SamplerError::TooFewIdentities {
                    batch_size,
                    num_instances,
                    needed,
                    identities: identities.len(),
                });
            }
        } else if labels.len() < batch_size {
            return Err(SamplerError::TooFewImages { batch_size, images: labels.len() });
        }
        Ok(Sampler { kind, num_images: labels.len(), batch_size, num_instances, identities })
    }

    /// The kind.
    pub fn kind(&self) -> SamplerKind {
        self.kind
    }

    /// Images in a batch.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Identities in a batch (P): `batch_size / num_instances` when identity-batched, else `None`.
    pub fn identities_per_batch(&self) -> Option<usize> {
        self.kind.is_identity_batched().then(|| self.batch_size / self.num_instances)
    }

    /// The number of distinct identities in the training set.
    pub fn num_identities(&self) -> usize {
        self.identities.len()
    }

    /// The number of training images.
    pub fn num_images(&self) -> usize {
        self.num_images
    }

    /// One epoch of batches (image indices), determined by `seed` alone. Every batch has exactly `batch_size`
    /// indices.
    ///
    /// - `softmax`: a random permutation of all images cut into batches; the last incomplete batch is dropped.
    /// - `triplet` / `softmax_triplet` (P x K, the baseline's `RandomIdentitySampler`): each identity's images
    ///   are shuffled and cut into chunks of K, the `len % K` left over are dropped this epoch; an identity with
    ///   fewer than K images forms one chunk of all its images padded with random repeats of them to K (the
    ///   baseline instead draws K with replacement, which may leave some out). Then, while at least P identities
    ///   have chunks left, P of them are drawn at random without replacement and each gives its next chunk:
    ///   one batch, P identities x K images, identity after identity. No image appears twice in an epoch except
    ///   the padding of identities smaller than K.
    pub fn epoch(&self, seed: u64) -> Vec<Vec<usize>> {
        let mut rng = StdRng::seed_from_u64(seed);
        if self.kind.is_identity_batched() {
            self.identity_batches(&mut rng)
        } else {
            let mut order: Vec<usize> = (0..self.num_images).collect();
            order.shuffle(&mut rng);
            order.chunks_exact(self.batch_size).map(<[usize]>::to_vec).collect()
        }
    }

    fn identity_batches(&self, rng: &mut StdRng) -> Vec<Vec<usize>> {
        let k = self.num_instances;
        let p = self.batch_size / k;
        // Chunks of K per identity, consumed front to back (reversed so that `pop` takes the front).
        let mut chunks: Vec<Vec<Vec<usize>>> = self
            .identities
            .iter()
            .map(|images| {
                let mut images = images.clone();
                if images.len() < k {
                    let pad: Vec<usize> = (images.len()..k).map(|_| *images.choose(rng).expect("non-empty")).collect();
                    images.extend(pad);
                }
                images.shuffle(rng);
                let mut per_identity: Vec<Vec<usize>> = images.chunks_exact(k).map(<[usize]>::to_vec).collect();
                per_identity.reverse();
                per_identity
            })
            .collect();
        let mut available: Vec<usize> = (0..chunks.len()).collect();
        let mut batches = Vec::new();
        while available.len() >= p {
            let selected: Vec<usize> = available.choose_multiple(rng, p).copied().collect();
            let mut batch = Vec::with_capacity(self.batch_size);
            for identity in selected {
                let chunk = chunks[identity].pop().expect("available identities have chunks");
                batch.extend(chunk);
                if chunks[identity].is_empty() {
                    available.retain(|&i| i != identity);
                }
            }
            batches.push(batch);
        }
        batches
    }
}

/// A per-epoch seed from a run seed (SplitMix64 of `run_seed` and `epoch`), so consecutive epochs and runs get
/// unrelated streams and a resumed run recomputes the same seed for the same epoch.
pub fn epoch_seed(run_seed: u64, epoch: usize) -> u64 {
    let mut z = run_seed ^ (epoch as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
