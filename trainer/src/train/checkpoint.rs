//! Checkpoints: a folder per saved epoch holding the network (PyTorch-named safetensors), the optimiser state,
//! the center-loss centers, the resolved spec and the run state (epoch, metric history, best score), so that a
//! resumed run continues exactly. A folder appears atomically (written as `*.partial`, then renamed), so a crash
//! never leaves a half-written checkpoint that looks complete.

use super::error::TrainError;
use super::history::EpochRecord;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// File names inside a checkpoint folder.
pub mod files {
    /// The network.
    pub const MODEL: &str = "model.safetensors";
    /// The optimiser state (burn record).
    pub const OPTIMIZER: &str = "optimizer.bpk";
    /// The center-loss centers.
    pub const CENTERS: &str = "centers.safetensors";
    /// The run state.
    pub const STATE: &str = "state.json";
    /// The resolved spec.
    pub const SPEC: &str = "spec.yaml";
}

/// Where training stood when the checkpoint was written.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunState {
    /// Epochs completed (1-based count).
    pub epoch: usize,
    /// `train.seed` of the run (batches and augmentations are functions of it and the epoch).
    pub seed: u64,
    /// Classifier width.
    pub num_classes: usize,
    /// Every epoch's record so far.
    pub history: Vec<EpochRecord>,
    /// Best validation mAP so far and its epoch.
    pub best: Option<(usize, f64)>,
}

/// The folder of epoch `epoch` under `dir`.
pub fn epoch_dir(dir: &Path, epoch: usize) -> PathBuf {
    dir.join(format!("epoch_{epoch:03}"))
}

/// Writes a checkpoint folder atomically: `fill` writes the files into a temporary folder that is then renamed.
pub fn write_atomically(target: &Path, fill: impl FnOnce(&Path) -> Result<(), TrainError>) -> Result<(), TrainError> {
    let partial = target.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| TrainError::write(&partial, e))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| TrainError::write(&partial, e))?;
    fill(&partial)?;
    if target.exists() {
        std::fs::remove_dir_all(target).map_err(|e| TrainError::write(target, e))?;
    }
    std::fs::rename(&partial, target).map_err(|e| TrainError::write(target, e))
}

/// Reads the run state of a checkpoint folder (or of the folder holding `model.safetensors`).
pub fn read_state(dir: &Path) -> Result<RunState, TrainError> {
    let path = dir.join(files::STATE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| TrainError::Checkpoint { path: path.clone(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| TrainError::Checkpoint { path, message: e.to_string() })
}

/// The checkpoint folder a path names: the folder itself, or the folder of a `model.safetensors` in it.
pub fn checkpoint_dir(path: &Path) -> PathBuf {
    if path.is_dir() { path.to_owned() } else { path.parent().map(Path::to_owned).unwrap_or_default() }
}

/// The network file a `*.checkpoint` key names: a `.safetensors`/`.pth` file, or `model.safetensors` in a folder.
pub fn model_file(path: &Path) -> PathBuf {
    if path.is_dir() { path.join(files::MODEL) } else { path.to_owned() }
}

/// The newest complete checkpoint folder under `dir`, if any.
pub fn latest(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_dir()
                && p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("epoch_"))
                && p.extension().is_none()
                && p.join(files::STATE).exists()
        })
        .collect();
    found.sort();
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_no_complete_folder() {
        let dir = tempfile::tempdir().unwrap();
        let target = epoch_dir(dir.path(), 3);
        let err = write_atomically(&target, |tmp| {
            std::fs::write(tmp.join(files::STATE), "{}").unwrap();
            Err(TrainError::Eval("simulated crash".into()))
        });
        assert!(err.is_err());
        assert!(!target.exists());
        assert_eq!(latest(dir.path()), None, "a partial folder is never taken as a checkpoint");
        write_atomically(&target, |tmp| {
            std::fs::write(tmp.join(files::STATE), "{}").map_err(|e| TrainError::write(tmp, e))
        })
        .unwrap();
        assert_eq!(latest(dir.path()), Some(target));
    }
}
