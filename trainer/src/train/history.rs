//! The per-epoch record of a run: written as one JSON line per epoch (`metrics.jsonl`) and kept in checkpoints.

use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Validation scores.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    /// Mean average precision.
    pub map: f64,
    /// Rank-1.
    pub rank1: f64,
    /// Rank-5.
    pub rank5: f64,
    /// Rank-10.
    pub rank10: f64,
}

/// One epoch of training.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochRecord {
    /// Epoch (1-based).
    pub epoch: usize,
    /// Learning rate of the weight group.
    pub lr: f64,
    /// Mean total loss.
    pub loss: f64,
    /// Mean ID loss, when on.
    pub id_loss: Option<f64>,
    /// Mean triplet loss, when on.
    pub triplet_loss: Option<f64>,
    /// Mean (unweighted) center loss, when on.
    pub center_loss: Option<f64>,
    /// Training classification accuracy.
    pub accuracy: f64,
    /// Mean global gradient norm (before clipping).
    pub grad_norm: f64,
    /// Images trained on.
    pub images: usize,
    /// Wall time of the epoch's training (without validation).
    pub seconds: f64,
    /// Validation scores, on validation epochs.
    pub validation: Option<Validation>,
}

/// Rewrites `path` with `records`, one JSON object per line (atomically).
pub fn write_jsonl(path: &Path, records: &[EpochRecord]) -> std::io::Result<()> {
    let tmp = path.with_extension("jsonl.partial");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for r in records {
            serde_json::to_writer(&mut f, r)?;
            f.write_all(b"\n")?;
        }
        f.flush()?;
    }
    std::fs::rename(tmp, path)
}
