//! The burn run's batches, written down for PyTorch to replay: every step's augmented input tensor (f32, planar,
//! image after image, little-endian) in `images.f32`, and one line per step in `batches.jsonl` (`epoch` 1-based,
//! `index` 0-based, `n` images, `offset` in floats into `images.f32`, `labels`, `cameras`). Also the loss of every
//! step, recovered from the loop's running means.

use reid_trainer::data::Batch;
use reid_trainer::train::TrainObserver;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The images file inside a recording folder.
pub const IMAGES: &str = "images.f32";
/// The step list inside a recording folder.
pub const MANIFEST: &str = "batches.jsonl";

#[derive(Serialize)]
struct Line<'a> {
    epoch: usize,
    index: usize,
    n: usize,
    offset: u64,
    labels: &'a [usize],
    cameras: &'a [i64],
}

/// A [`TrainObserver`] that writes every batch the loop trains on (when given a folder) and keeps every step's
/// total loss.
pub struct BatchRecorder {
    out: Option<(BufWriter<File>, BufWriter<File>, PathBuf)>,
    offset: u64,
    error: Option<anyhow::Error>,
    /// The total loss of each step, in order.
    pub step_losses: Vec<f64>,
    last_mean: f64,
}

impl BatchRecorder {
    /// A recorder writing into `dir` (created), or one that only keeps the losses (`None`).
    pub fn new(dir: Option<&Path>) -> anyhow::Result<Self> {
        let out = match dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| anyhow::anyhow!("{}: {e}", d.display()))?;
                let open = |name: &str| {
                    let p = d.join(name);
                    File::create(&p).map(BufWriter::new).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
                };
                Some((open(IMAGES)?, open(MANIFEST)?, d.to_owned()))
            }
            None => None,
        };
        Ok(Self { out, offset: 0, error: None, step_losses: Vec::new(), last_mean: 0.0 })
    }

    /// Flushes the files; the first write error, naming the folder, if any happened.
    pub fn finish(mut self) -> anyhow::Result<Vec<f64>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some((mut images, mut manifest, dir)) = self.out.take() {
            images.flush().and_then(|_| manifest.flush()).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        }
        Ok(self.step_losses)
    }

    fn write(&mut self, epoch: usize, index: usize, batch: &Batch) -> anyhow::Result<()> {
        let Some((images, manifest, dir)) = self.out.as_mut() else { return Ok(()) };
        let fail = |e: std::io::Error| anyhow::anyhow!("recording batches in {}: {e}", dir.display());
        let mut bytes = Vec::with_capacity(batch.images.len() * 4);
        for v in &batch.images {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        images.write_all(&bytes).map_err(fail)?;
        let line =
            Line { epoch, index, n: batch.len(), offset: self.offset, labels: &batch.labels, cameras: &batch.cameras };
        serde_json::to_writer(&mut *manifest, &line)?;
        manifest.write_all(b"\n").map_err(fail)?;
        self.offset += batch.images.len() as u64;
        Ok(())
    }
}

impl TrainObserver for BatchRecorder {
    fn epoch_start(&mut self, _epoch: usize, _num_epochs: usize, _batches: usize) {
        self.last_mean = 0.0;
    }

    fn batch_start(&mut self, epoch: usize, index: usize, batch: &Batch) {
        if self.error.is_none()
            && let Err(e) = self.write(epoch, index, batch)
        {
            self.error = Some(e);
        }
    }

    fn batch_end(&mut self, done: usize, loss: f64, _accuracy: f64, _lr: f64) {
        // The loop reports the running mean of the epoch's losses; step `done`'s own is the difference of sums.
        let k = done as f64;
        self.step_losses.push(k * loss - (k - 1.0) * self.last_mean);
        self.last_mean = loss;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_batches_and_recovers_step_losses() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = BatchRecorder::new(Some(dir.path())).unwrap();
        let b = |v: f32| Batch { images: vec![v; 6], labels: vec![1, 2], cameras: vec![0, 3] };
        r.epoch_start(1, 1, 2);
        r.batch_start(1, 0, &b(0.5));
        r.batch_end(1, 2.0, 0.0, 0.1);
        r.batch_start(1, 1, &b(-1.0));
        r.batch_end(2, 1.5, 0.0, 0.1);
        let losses = r.finish().unwrap();
        assert_eq!(losses, vec![2.0, 1.0]);
        let bytes = std::fs::read(dir.path().join(IMAGES)).unwrap();
        assert_eq!(bytes.len(), 12 * 4);
        assert_eq!(f32::from_le_bytes(bytes[24..28].try_into().unwrap()), -1.0);
        let text = std::fs::read_to_string(dir.path().join(MANIFEST)).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["offset"], 6);
        assert_eq!(lines[1]["labels"], serde_json::json!([1, 2]));
        assert_eq!(lines[1]["cameras"], serde_json::json!([0, 3]));
    }
}
