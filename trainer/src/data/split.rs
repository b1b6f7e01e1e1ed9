//! The splits training reads: the train folder with identities relabelled `0..num_classes`, and the
//! query/test folders with the evaluation labels of `reid-runtime`.

use super::error::DataError;
use reid_eval::metrics::Label;
use reid_runtime::dataset::{Labeler, Layout, load_split};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One training image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainItem {
    /// The image file.
    pub path: PathBuf,
    /// Relabelled identity in `0..num_classes`.
    pub label: usize,
    /// The camera number of its Market-1501 name (`c3` is 3), `None` in the folder-per-identity layout.
    pub camera: Option<u32>,
}

/// The training split with dense labels.
#[derive(Clone, Debug)]
pub struct TrainSet {
    /// The folder read.
    pub dir: PathBuf,
    /// Images, sorted by path.
    pub items: Vec<TrainItem>,
    /// Number of identities (the classifier's width).
    pub num_classes: usize,
    /// The original identity name of each label.
    pub identities: Vec<String>,
}

impl TrainSet {
    /// Labels in item order (what the samplers take).
    pub fn labels(&self) -> Vec<usize> {
        self.items.iter().map(|i| i.label).collect()
    }

    /// The side-information camera ids of the items in item order, 0-based as TransReID's `camid -= 1` (`c1` is
    /// 0), and the camera count of the SIE table: the largest id plus one (TransReID counts the distinct cameras,
    /// the same for Market-1501's contiguous `c1..c6`; the largest id also fits gaps). An error names an image
    /// without a camera (folder-per-identity layout) or with camera 0.
    pub fn sie_cameras(&self) -> Result<(Vec<i64>, usize), DataError> {
        let ids = sie_camera_ids(self.items.iter().map(|i| (i.path.as_path(), i.camera)))?;
        let count = ids.iter().max().map_or(0, |&m| m as usize + 1);
        Ok((ids, count))
    }
}

/// 0-based SIE camera ids (`camera - 1`) of images with their name's camera; an error names the first image
/// without a camera or with camera 0.
pub fn sie_camera_ids<'a>(items: impl Iterator<Item = (&'a Path, Option<u32>)>) -> Result<Vec<i64>, DataError> {
    items
        .map(|(path, camera)| match camera {
            Some(c) if c >= 1 => Ok(i64::from(c) - 1),
            Some(_) => Err(DataError::Unusable {
                dir: path.to_owned(),
                message: "camera c0: side information embedding ids are the name's camera minus 1 (TransReID's \
                          camid -= 1), so cameras are numbered from c1"
                    .into(),
            }),
            None => Err(DataError::Unusable {
                dir: path.to_owned(),
                message: "has no camera (folder-per-identity layout): model.sie_camera needs Market-1501 names \
                          with `_c<camera>`"
                    .into(),
            }),
        })
        .collect()
}

/// Market-1501 names when the folder holds images, one folder per identity when it holds folders.
pub fn layout_of(dir: &Path) -> Layout {
    let has_subdirs = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_type().is_ok_and(|t| t.is_dir()) && !e.file_name().to_string_lossy().starts_with('.'))
        })
        .unwrap_or(false);
    if has_subdirs { Layout::Folders } else { Layout::Market }
}

/// Reads a training folder; identities are relabelled in sorted order, distractors (pid 0) are left out.
pub fn load_train_set(dir: &Path) -> Result<TrainSet, DataError> {
    let split = load_split(dir, layout_of(dir), false)?;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for r in &split.records {
        if !r.identity.is_distractor() {
            ids.entry(r.identity.to_string()).or_insert(0);
        }
    }
    for (label, v) in ids.values_mut().enumerate() {
        *v = label;
    }
    let items: Vec<TrainItem> = split
        .records
        .iter()
        .filter(|r| !r.identity.is_distractor())
        .map(|r| TrainItem { path: r.path.clone(), label: ids[&r.identity.to_string()], camera: r.camera })
        .collect();
    if ids.len() < 2 {
        return Err(DataError::Unusable {
            dir: dir.to_owned(),
            message: format!("training needs at least 2 identities, found {}", ids.len()),
        });
    }
    Ok(TrainSet { dir: dir.to_owned(), items, num_classes: ids.len(), identities: ids.into_keys().collect() })
}

/// Query and gallery images with labels for the evaluation protocol.
#[derive(Clone, Debug)]
pub struct EvalSet {
    /// Query images.
    pub query: Vec<PathBuf>,
    /// Query labels.
    pub query_labels: Vec<Label>,
    /// Gallery images (`test_dataset_dir`).
    pub gallery: Vec<PathBuf>,
    /// Gallery labels.
    pub gallery_labels: Vec<Label>,
}

/// Reads the query and gallery folders, labelling both with one [`Labeler`] so a person has one id.
pub fn load_eval_set(query_dir: &Path, gallery_dir: &Path) -> Result<EvalSet, DataError> {
    let query = load_split(query_dir, layout_of(query_dir), false)?;
    let gallery = load_split(gallery_dir, layout_of(gallery_dir), false)?;
    let mut labeler = Labeler::new();
    let query_labels = labeler.label_records(&query.records)?;
    let gallery_labels = labeler.label_records(&gallery.records)?;
    Ok(EvalSet {
        query: query.records.into_iter().map(|r| r.path).collect(),
        query_labels,
        gallery: gallery.records.into_iter().map(|r| r.path).collect(),
        gallery_labels,
    })
}
