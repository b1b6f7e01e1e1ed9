//! The samplers: P x K structure, use of every image before repetition, determinism, errors.

use reid_trainer::data::sampler::{Sampler, SamplerError, SamplerKind, epoch_seed};
use std::collections::{BTreeMap, BTreeSet};

/// Identity `i` (0..10) has `i + 1` images, interleaved: 55 images, identities 0..2 smaller than K = 4.
fn labels() -> Vec<usize> {
    let mut labels = Vec::new();
    for round in 0..10 {
        for id in 0..10 {
            if round <= id {
                labels.push(id);
            }
        }
    }
    labels
}

#[test]
fn every_batch_is_p_identities_times_k_images() {
    let labels = labels();
    for kind in [SamplerKind::Triplet, SamplerKind::SoftmaxTriplet] {
        let sampler = Sampler::new(kind, &labels, 12, 4).unwrap();
        assert_eq!(sampler.identities_per_batch(), Some(3));
        for seed in 0..50 {
            let batches = sampler.epoch(seed);
            assert!(!batches.is_empty());
            for batch in &batches {
                assert_eq!(batch.len(), 12);
                // K consecutive images of one identity, P distinct identities.
                let ids: Vec<usize> = batch
                    .chunks(4)
                    .map(|chunk| {
                        let id = labels[chunk[0]];
                        assert!(chunk.iter().all(|&i| labels[i] == id), "chunk {chunk:?} mixes identities");
                        id
                    })
                    .collect();
                assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), 3, "{ids:?}");
            }
        }
    }
}

#[test]
fn each_identity_uses_its_images_before_repeating_any() {
    let labels = labels();
    let sampler = Sampler::new(SamplerKind::SoftmaxTriplet, &labels, 8, 4).unwrap();
    for seed in 0..50 {
        let mut per_identity: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in sampler.epoch(seed).iter().flatten() {
            per_identity.entry(labels[i]).or_default().push(i);
        }
        for (&id, images) in &per_identity {
            let distinct: BTreeSet<usize> = images.iter().copied().collect();
            let owned = id + 1;
            if owned >= 4 {
                // Shuffled chunks of 4: no repeats; the `owned % 4` left over wait for another epoch.
                assert_eq!(distinct.len(), images.len(), "identity {id} repeats an image: {images:?}");
                assert!(images.len() % 4 == 0 && images.len() <= owned - owned % 4, "identity {id}: {images:?}");
            } else {
                // Fewer than K: all of its images, padded with repeats to K.
                assert_eq!(images.len(), 4, "identity {id}: {images:?}");
                assert_eq!(distinct.len(), owned, "identity {id} must show every image: {images:?}");
            }
        }
    }
}

#[test]
fn an_epoch_runs_until_fewer_than_p_identities_have_chunks() {
    // Identities x 8 images, K = 4 (two chunks each): the epoch stops when fewer than P identities have a
    // chunk left, so at most P - 1 identities keep unused chunks; no image is used twice.
    for (identities, p) in [(6, 2), (3, 2), (9, 3)] {
        let labels: Vec<usize> = (0..8 * identities).map(|i| i % identities).collect();
        let sampler = Sampler::new(SamplerKind::Triplet, &labels, 4 * p, 4).unwrap();
        let mut stops = BTreeSet::new();
        for seed in 0..50 {
            let batches = sampler.epoch(seed);
            let all: Vec<usize> = batches.iter().flatten().copied().collect();
            assert_eq!(all.iter().collect::<BTreeSet<_>>().len(), all.len(), "no image twice");
            let mut chunks_used = vec![0; identities];
            for &i in all.iter().step_by(4) {
                chunks_used[labels[i]] += 1;
            }
            let left = chunks_used.iter().filter(|&&used| used < 2).count();
            assert!(left < p, "{identities} ids, P {p}, seed {seed}: {left} identities still had chunks");
            stops.insert(batches.len());
        }
        if identities == 6 {
            // 12 chunks: 6 batches when the draws come out even, 5 when one identity is left with two.
            assert_eq!(stops, BTreeSet::from([5, 6]));
        }
    }
}

#[test]
fn a_seed_determines_the_epoch() {
    let labels = labels();
    for kind in [SamplerKind::Softmax, SamplerKind::Triplet] {
        let a = Sampler::new(kind, &labels, 8, 4).unwrap();
        let b = Sampler::new(kind, &labels, 8, 4).unwrap();
        assert_eq!(a.epoch(7), b.epoch(7), "{kind}: same seed, same batches");
        assert_eq!(a.epoch(7), a.epoch(7));
        assert_ne!(a.epoch(7), a.epoch(8), "{kind}: another seed, other batches");
    }
    assert_eq!(epoch_seed(42, 3), epoch_seed(42, 3));
    let seeds: BTreeSet<u64> =
        (0..1000).map(|e| epoch_seed(42, e)).chain((0..1000).map(|e| epoch_seed(43, e))).collect();
    assert_eq!(seeds.len(), 2000, "distinct per epoch and run");
}

#[test]
fn softmax_covers_every_index_once_per_epoch() {
    let labels: Vec<usize> = (0..60).map(|i| i % 7).collect();
    let sampler = Sampler::new(SamplerKind::Softmax, &labels, 12, 4).unwrap();
    assert_eq!(sampler.identities_per_batch(), None);
    for seed in 0..20 {
        let batches = sampler.epoch(seed);
        assert_eq!(batches.len(), 5);
        assert!(batches.iter().all(|b| b.len() == 12));
        let mut all: Vec<usize> = batches.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(all, (0..60).collect::<Vec<_>>());
    }
    // 64 images: the last incomplete batch (4 images) is dropped, the rest distinct.
    let labels: Vec<usize> = (0..64).map(|i| i % 7).collect();
    let sampler = Sampler::new(SamplerKind::Softmax, &labels, 12, 5).unwrap(); // K does not matter here
    let batches = sampler.epoch(1);
    assert_eq!(batches.len(), 5);
    assert_eq!(batches.iter().flatten().collect::<BTreeSet<_>>().len(), 60);
}

#[test]
fn errors_name_the_parameter() {
    let labels = labels();
    let err = Sampler::new(SamplerKind::Triplet, &labels, 30, 4).unwrap_err();
    assert_eq!(err, SamplerError::NotMultiple { batch_size: 30, num_instances: 4 });
    assert_eq!(err.to_string(), "dataset.batch_size = 30 is not a multiple of dataset.num_instances = 4");
    let err = Sampler::new(SamplerKind::SoftmaxTriplet, &labels, 64, 4).unwrap_err().to_string();
    assert!(err.contains("needs 16 identities") && err.contains("has 10"), "{err}");
    assert!(err.contains("dataset.batch_size = 64") && err.contains("dataset.num_instances = 4"), "{err}");
    assert_eq!(Sampler::new(SamplerKind::Triplet, &[], 8, 4).unwrap_err(), SamplerError::Empty);
    let err = Sampler::new(SamplerKind::Triplet, &labels, 0, 4).unwrap_err().to_string();
    assert!(err.starts_with("dataset.batch_size = 0"), "{err}");
    let err = Sampler::new(SamplerKind::Triplet, &labels, 8, 0).unwrap_err().to_string();
    assert!(err.starts_with("dataset.num_instances = 0"), "{err}");
    let err = Sampler::new(SamplerKind::Softmax, &labels, 56, 4).unwrap_err().to_string();
    assert!(err.contains("dataset.batch_size = 56") && err.contains("55 images"), "{err}");
    let err = "random".parse::<SamplerKind>().unwrap_err().to_string();
    assert!(err.contains("dataset.sampler = `random`"), "{err}");
    assert_eq!("softmax_triplet".parse::<SamplerKind>().unwrap(), SamplerKind::SoftmaxTriplet);
}
