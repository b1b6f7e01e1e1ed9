//! `dataset.skip_unreadable`: every image of the splits is decoded before training and those that do not decode
//! are left out (one warning each) instead of stopping the run.

use super::error::DataError;
use super::loader::decode;
use super::split::{EvalSet, TrainSet};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

/// An image that does not decode, with the decoder's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be read.
    pub message: String,
}

/// The images among `paths` that do not decode (decoded in parallel), in the order given.
pub fn find_unreadable(paths: &[&Path]) -> Vec<Unreadable> {
    paths
        .par_iter()
        .filter_map(|p| match decode(p) {
            Ok(_) => None,
            Err(DataError::Decode { message, .. }) => Some(Unreadable { path: p.to_path_buf(), message }),
            Err(other) => Some(Unreadable { path: p.to_path_buf(), message: other.to_string() }),
        })
        .collect()
}

impl TrainSet {
    /// The set without the images in `bad`, identities relabelled densely again (an identity left without images
    /// is dropped); an error when fewer than 2 identities remain.
    pub fn without(self, bad: &HashSet<PathBuf>) -> Result<TrainSet, DataError> {
        let items: Vec<_> = self.items.into_iter().filter(|i| !bad.contains(&i.path)).collect();
        let kept: BTreeSet<usize> = items.iter().map(|i| i.label).collect();
        let relabel: BTreeMap<usize, usize> = kept.iter().enumerate().map(|(new, &old)| (old, new)).collect();
        if relabel.len() < 2 {
            return Err(DataError::Unusable {
                dir: self.dir,
                message: format!(
                    "training needs at least 2 identities, {} remain after leaving out unreadable images",
                    relabel.len()
                ),
            });
        }
        let identities = relabel.keys().map(|&old| self.identities[old].clone()).collect();
        let items = items.into_iter().map(|mut i| {
            i.label = relabel[&i.label];
            i
        });
        Ok(TrainSet { dir: self.dir, items: items.collect(), num_classes: relabel.len(), identities })
    }
}

impl EvalSet {
    /// The set without the images in `bad`.
    pub fn without(self, bad: &HashSet<PathBuf>) -> EvalSet {
        let keep = |paths: Vec<PathBuf>, labels: Vec<_>| -> (Vec<PathBuf>, Vec<_>) {
            paths.into_iter().zip(labels).filter(|(p, _)| !bad.contains(p)).unzip()
        };
        let (query, query_labels) = keep(self.query, self.query_labels);
        let (gallery, gallery_labels) = keep(self.gallery, self.gallery_labels);
        EvalSet { query, query_labels, gallery, gallery_labels }
    }
}
