//! A streaming loader: images are decoded and transformed on `num_workers` threads while the network trains
//! on the previous batch; at most `prefetch` batches wait in memory, so a dataset larger than memory trains.
//!
//! Every random choice of an image's transform comes from an RNG seeded by `(seed, batch, position)`, so a
//! batch is the same whatever the thread count or timing: a resumed run sees exactly the batches it would have.

use super::augment::{AugmentConfig, eval_transform, sample_train_params, train_transform};
use super::error::DataError;
use image::RgbImage;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use reid_runtime::engine::EngineError;
use reid_runtime::engine::preprocess::decode_image;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// A batch ready for the network: `[n, 3, height, width]` values and one label (and, for training, one camera id)
/// per image.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Planar normalised pixels, image after image.
    pub images: Vec<f32>,
    /// Labels (relabelled pids for training; the caller's indices for evaluation).
    pub labels: Vec<usize>,
    /// Training: the images' 0-based side-information camera ids (all 0 when the run has no camera embedding).
    /// Evaluation batches leave it empty: their labels index the caller's cameras.
    pub cameras: Vec<i64>,
}

impl Batch {
    /// Images in the batch.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the batch holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Decodes an image file to RGB, naming the file on failure.
pub fn decode(path: &Path) -> Result<RgbImage, DataError> {
    decode_image(path).map_err(|e| match e {
        EngineError::Decode { path, message } => DataError::Decode { path, message },
        other => DataError::Decode { path: path.to_owned(), message: other.to_string() },
    })
}

/// A 64-bit mix (SplitMix64 finaliser) of the seed and indices, so neighbouring seeds give unrelated streams.
pub fn mix_seed(parts: &[u64]) -> u64 {
    let mut z = 0x9E37_79B9_7F4A_7C15u64;
    for &p in parts {
        z = (z ^ p).wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
    }
    z
}

/// What a worker does to one image.
#[derive(Clone, Debug)]
enum Transform {
    Train { seed: u64 },
    Eval,
}

/// Batches produced in the background, in order; dropping it stops the producer.
pub struct BatchStream {
    rx: Receiver<Result<Batch, DataError>>,
    handle: Option<JoinHandle<()>>,
}

impl Iterator for BatchStream {
    type Item = Result<Batch, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}

impl Drop for BatchStream {
    fn drop(&mut self) {
        // Unblock the producer (its next send fails) before joining it.
        let (_tx, rx) = sync_channel(0);
        drop(std::mem::replace(&mut self.rx, rx));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Loader settings.
#[derive(Clone, Debug)]
pub struct LoaderConfig {
    /// The transform's settings.
    pub augment: AugmentConfig,
    /// Decoding threads (`dataset.num_workers`, at least 1).
    pub workers: usize,
    /// Batches prepared ahead of the consumer.
    pub prefetch: usize,
}

/// Training batches: `batches` lists item indices (from a sampler); `labels[i]` is item `i`'s label and
/// `cameras[i]` its camera id (an empty `cameras` gives camera 0 to every image).
pub fn train_stream(
    paths: Arc<Vec<PathBuf>>,
    labels: Arc<Vec<usize>>,
    cameras: Arc<Vec<i64>>,
    batches: Vec<Vec<usize>>,
    cfg: &LoaderConfig,
    seed: u64,
) -> Result<BatchStream, DataError> {
    spawn(paths, labels, cameras, batches, cfg, Transform::Train { seed })
}

/// Evaluation batches of `batch_size` images in order; a batch's labels are the images' indices.
pub fn eval_stream(paths: Arc<Vec<PathBuf>>, batch_size: usize, cfg: &LoaderConfig) -> Result<BatchStream, DataError> {
    let n = paths.len();
    let labels = Arc::new((0..n).collect());
    let batches = (0..n).collect::<Vec<_>>().chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect();
    spawn(paths, labels, Arc::new(Vec::new()), batches, cfg, Transform::Eval)
}

fn spawn(
    paths: Arc<Vec<PathBuf>>,
    labels: Arc<Vec<usize>>,
    cameras: Arc<Vec<i64>>,
    batches: Vec<Vec<usize>>,
    cfg: &LoaderConfig,
    transform: Transform,
) -> Result<BatchStream, DataError> {
    let workers = cfg.workers.max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(|i| format!("reid-loader-{i}"))
        .build()
        .map_err(|e| DataError::Workers { workers, message: e.to_string() })?;
    let (tx, rx) = sync_channel(cfg.prefetch.max(1));
    let augment = cfg.augment.clone();
    let handle = std::thread::Builder::new()
        .name("reid-loader".into())
        .spawn(move || produce(&pool, (&paths[..], &labels[..], &cameras[..]), batches, &augment, &transform, tx))
        .map_err(|e| DataError::Workers { workers, message: e.to_string() })?;
    Ok(BatchStream { rx, handle: Some(handle) })
}

fn produce(
    pool: &rayon::ThreadPool,
    (paths, labels, cameras): (&[PathBuf], &[usize], &[i64]),
    batches: Vec<Vec<usize>>,
    augment: &AugmentConfig,
    transform: &Transform,
    tx: SyncSender<Result<Batch, DataError>>,
) {
    for (b, indices) in batches.into_iter().enumerate() {
        let images: Result<Vec<Vec<f32>>, DataError> = pool.install(|| {
            indices
                .par_iter()
                .enumerate()
                .map(|(pos, &i)| {
                    let img = decode(&paths[i])?;
                    Ok(match transform {
                        Transform::Train { seed } => {
                            let mut rng = StdRng::seed_from_u64(mix_seed(&[*seed, b as u64, pos as u64]));
                            let params = sample_train_params(augment, &mut rng);
                            train_transform(&img, augment, &params)
                        }
                        Transform::Eval => eval_transform(&img, augment),
                    })
                })
                .collect()
        });
        let failed = images.is_err();
        let batch = images.map(|imgs| Batch {
            images: imgs.concat(),
            labels: indices.iter().map(|&i| labels[i]).collect(),
            cameras: match transform {
                Transform::Train { .. } => indices.iter().map(|&i| cameras.get(i).copied().unwrap_or(0)).collect(),
                Transform::Eval => Vec::new(),
            },
        });
        if tx.send(batch).is_err() || failed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_images(dir: &Path, n: usize) -> Vec<PathBuf> {
        (0..n)
            .map(|i| {
                let p = dir.join(format!("{i}.png"));
                RgbImage::from_pixel(4, 8, image::Rgb([i as u8 * 10, 0, 0])).save(&p).unwrap();
                p
            })
            .collect()
    }

    fn cfg(workers: usize) -> LoaderConfig {
        LoaderConfig {
            augment: AugmentConfig {
                height: 8,
                width: 4,
                padding: 2,
                flip_prob: 0.5,
                re_prob: 0.5,
                mean: [0.0; 3],
                std: [1.0; 3],
            },
            workers,
            prefetch: 2,
        }
    }

    #[test]
    fn batches_do_not_depend_on_thread_count() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Arc::new(write_images(dir.path(), 6));
        let labels = Arc::new(vec![0, 0, 1, 1, 2, 2]);
        let cameras = Arc::new(vec![0, 1, 0, 2, 1, 3]);
        let batches = vec![vec![0, 1, 2, 3], vec![5, 4, 3, 2]];
        let run = |w| {
            train_stream(paths.clone(), labels.clone(), cameras.clone(), batches.clone(), &cfg(w), 9)
                .unwrap()
                .map(Result::unwrap)
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].labels, vec![2, 2, 1, 1]);
        assert_eq!(a[1].cameras, vec![3, 1, 2, 0], "each image carries its camera id");
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.images, y.images);
        }
        assert_eq!(a[0].images.len(), 4 * 3 * 8 * 4);
    }

    #[test]
    fn eval_stream_keeps_order_and_reports_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut paths = write_images(dir.path(), 5);
        let batches: Vec<Batch> =
            eval_stream(Arc::new(paths.clone()), 2, &cfg(2)).unwrap().map(Result::unwrap).collect();
        assert_eq!(batches.iter().map(Batch::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(batches[2].labels, vec![4]);
        // Red of image 3 is 30/255 everywhere.
        assert!((batches[1].images[3 * 8 * 4] - 30.0 / 255.0).abs() < 1e-6);
        let bad = dir.path().join("bad.jpg");
        std::fs::write(&bad, b"not a jpeg").unwrap();
        paths.insert(1, bad);
        let results: Vec<_> = eval_stream(Arc::new(paths), 2, &cfg(2)).unwrap().collect();
        assert_eq!(results.len(), 1, "the stream stops at the first error");
        let err = results.into_iter().next().unwrap().unwrap_err().to_string();
        assert!(err.contains("bad.jpg"), "{err}");
    }
}
