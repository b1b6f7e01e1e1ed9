//! Errors of the dataset code; every message names the path it is about.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};
use thiserror::Error;

/// A file that could not be used, and why (a bad name, an image outside an identity folder, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadFile {
    /// The file (or folder) as found on disk or in the input list.
    #[serde(serialize_with = "serialize_lossy_path")]
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl BadFile {
    /// A bad file with its reason.
    pub fn new(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self { path: path.into(), reason: reason.into() }
    }
}

impl fmt::Display for BadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path.display(), self.reason)
    }
}

/// What can go wrong while reading, labelling or checking a dataset.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// A file-system operation failed.
    ///
    /// The operating system's error is part of the message and not also a `source()`, so that error chains
    /// printed in full (`{:#}`) do not repeat it.
    #[error("cannot {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done (e.g. "list folder").
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// A path that must be a folder is missing or is a file.
    #[error("`{}` is not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A file that cannot be used (strict mode): a bad name, an image outside an identity folder, ...
    #[error("{0}")]
    BadFile(BadFile),
    /// The root is neither a Market-1501 root nor a folder-per-identity root.
    #[error(
        "`{}` is not a dataset root: expected Market-1501 folders `bounding_box_test` and `query` (and optionally \
         `bounding_box_train`), or folder-per-identity folders `query` and `gallery` (or `test`) (and optionally \
         `train`); found {}",
        root.display(),
        list_found(found)
    )]
    UnknownLayout {
        /// The root that was given.
        root: PathBuf,
        /// The sub-folders it has.
        found: Vec<String>,
    },
    /// A folder-per-identity root has both `gallery` and `test`.
    #[error("`{}` has both `gallery` and `test` folders: keep only one as the gallery", root.display())]
    AmbiguousGallery {
        /// The dataset root.
        root: PathBuf,
    },
    /// A split folder holds no usable image.
    #[error(
        "no usable images in `{}` ({junk_dropped} junk images dropped, {skipped} bad files skipped, \
         {ignored_files} other entries ignored)",
        dir.display()
    )]
    EmptySplit {
        /// The split folder.
        dir: PathBuf,
        /// Junk images (pid -1) found and dropped.
        junk_dropped: usize,
        /// Files skipped in lenient mode.
        skipped: usize,
        /// Non-image entries ignored.
        ignored_files: usize,
    },
    /// Automatic label detection found both Market-1501 names and names that are not.
    #[error(
        "`{path}` is not a Market-1501 name ({reason}) but `{market_example}` is: the list mixes Market-1501 \
         names and folder-per-identity paths; choose the label source explicitly"
    )]
    MixedLabels {
        /// The first path whose file name does not parse.
        path: String,
        /// Why it does not parse.
        reason: String,
        /// A path whose file name does parse.
        market_example: String,
    },
    /// More identities than dense `u32` ids.
    #[error("too many identities to number with 32 bits (at `{path}`)")]
    TooManyIdentities {
        /// The path whose identity did not fit.
        path: String,
    },
}

impl DatasetError {
    /// An I/O error while doing `action` on `path`.
    pub(crate) fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self::Io { action, path: path.to_owned(), error: source }
    }
}

fn list_found(found: &[String]) -> String {
    if found.is_empty() {
        "no sub-folders".to_owned()
    } else {
        let quoted: Vec<String> = found.iter().map(|name| format!("`{name}`")).collect();
        format!("sub-folders {}", quoted.join(", "))
    }
}

/// Serialises a path as a string, replacing bytes that are not UTF-8 (serde refuses such paths otherwise).
pub(crate) fn serialize_lossy_path<P: AsRef<Path>, S: Serializer>(path: &P, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&path.as_ref().to_string_lossy())
}
