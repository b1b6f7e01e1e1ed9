//! Dataset roots: detecting the layout and loading the train, query and gallery splits.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tracing::info;

use super::error::DatasetError;
use super::split::{Layout, Split, load_split};

/// The role of a split in a dataset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitKind {
    /// Training images.
    Train,
    /// Query images of the test set.
    Query,
    /// Gallery images of the test set.
    Gallery,
}

impl fmt::Display for SplitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitKind::Train => "train",
            SplitKind::Query => "query",
            SplitKind::Gallery => "gallery",
        })
    }
}

/// Market-1501 folder of training images.
pub const MARKET_TRAIN: &str = "bounding_box_train";
/// Market-1501 folder of gallery images.
pub const MARKET_GALLERY: &str = "bounding_box_test";
/// Query folder, in both layouts.
pub const QUERY: &str = "query";

/// A dataset root with its splits loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// The root folder that was opened.
    pub root: PathBuf,
    /// The detected layout.
    pub layout: Layout,
    /// Training images, when the root has a training folder.
    pub train: Option<Split>,
    /// Query images.
    pub query: Split,
    /// Gallery images.
    pub gallery: Split,
}

impl Dataset {
    /// The splits present, in the order train, query, gallery.
    pub fn splits(&self) -> Vec<(SplitKind, &Split)> {
        let mut splits = Vec::with_capacity(3);
        if let Some(train) = &self.train {
            splits.push((SplitKind::Train, train));
        }
        splits.push((SplitKind::Query, &self.query));
        splits.push((SplitKind::Gallery, &self.gallery));
        splits
    }
}

/// The split folders of a dataset root, before loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetDirs {
    /// The detected layout.
    pub layout: Layout,
    /// The training folder, if any.
    pub train: Option<PathBuf>,
    /// The query folder.
    pub query: PathBuf,
    /// The gallery folder.
    pub gallery: PathBuf,
}

/// Detects the layout of `root` and finds its split folders.
///
/// Market-1501 when the root has `bounding_box_test` and `query` (`bounding_box_train` optional);
/// folder per identity when it has `query` and `gallery` or `test` (`train` optional). Anything else is an
/// error naming the root, what was expected and what was found.
pub fn detect_layout(root: &Path) -> Result<DatasetDirs, DatasetError> {
    let meta = fs::metadata(root).map_err(|err| DatasetError::io("open dataset root", root, err))?;
    if !meta.is_dir() {
        return Err(DatasetError::NotAFolder { path: root.to_owned() });
    }
    let folder = |name: &str| {
        let path = root.join(name);
        path.is_dir().then_some(path)
    };
    if let (Some(gallery), Some(query)) = (folder(MARKET_GALLERY), folder(QUERY)) {
        return Ok(DatasetDirs { layout: Layout::Market, train: folder(MARKET_TRAIN), query, gallery });
    }
    if let Some(query) = folder(QUERY) {
        let gallery = match (folder("gallery"), folder("test")) {
            (Some(_), Some(_)) => return Err(DatasetError::AmbiguousGallery { root: root.to_owned() }),
            (Some(gallery), None) | (None, Some(gallery)) => Some(gallery),
            (None, None) => None,
        };
        if let Some(gallery) = gallery {
            return Ok(DatasetDirs { layout: Layout::Folders, train: folder("train"), query, gallery });
        }
    }
    Err(DatasetError::UnknownLayout { root: root.to_owned(), found: sub_folders(root)? })
}

fn sub_folders(root: &Path) -> Result<Vec<String>, DatasetError> {
    let read = fs::read_dir(root).map_err(|err| DatasetError::io("list folder", root, err))?;
    let mut names = Vec::new();
    for entry in read {
        let entry = entry.map_err(|err| DatasetError::io("list folder", root, err))?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Opens a dataset root: detects its layout ([`detect_layout`]) and loads every split ([`load_split`]).
pub fn open_dataset(root: &Path, lenient: bool) -> Result<Dataset, DatasetError> {
    let dirs = detect_layout(root)?;
    info!(root = %root.display(), layout = %dirs.layout, "opening dataset");
    let train = dirs.train.as_deref().map(|dir| load_split(dir, dirs.layout, lenient)).transpose()?;
    let query = load_split(&dirs.query, dirs.layout, lenient)?;
    let gallery = load_split(&dirs.gallery, dirs.layout, lenient)?;
    Ok(Dataset { root: root.to_owned(), layout: dirs.layout, train, query, gallery })
}
