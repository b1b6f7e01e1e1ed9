//! Errors of the synthetic person dataset writer; every message names the path or parameter it is about.

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// What can go wrong while writing a synthetic person dataset.
#[derive(Debug, Error)]
pub enum PersonsError {
    /// A file-system operation failed.
    ///
    /// The operating system's error is part of the message and not also a `source()`, so that error chains
    /// printed in full (`{:#}`) do not repeat it.
    #[error("cannot {action} `{}`: {error}", path.display())]
    Io {
        /// What was being done (e.g. "create folder").
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        error: io::Error,
    },
    /// The output folder already holds files and overwriting was not asked for.
    #[error("`{}` is not empty ({entries} entries): choose an empty or new folder, or pass --force to replace \
             its dataset folders", path.display())]
    NotEmpty {
        /// The output folder.
        path: PathBuf,
        /// How many entries it holds.
        entries: usize,
    },
    /// The output path exists and is not a folder.
    #[error("`{}` exists and is not a folder", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
    },
    /// A parameter is out of range.
    #[error("invalid `{parameter}`: {reason}")]
    InvalidSpec {
        /// The parameter (as the command line spells it).
        parameter: &'static str,
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// An image could not be encoded.
    #[error("cannot encode `{}`: {error}", path.display())]
    Encode {
        /// The image file being written.
        path: PathBuf,
        /// The encoder's error.
        error: image::ImageError,
    },
}

impl PersonsError {
    /// An I/O error while doing `action` on `path`.
    pub(crate) fn io(action: &'static str, path: &Path, error: io::Error) -> Self {
        Self::Io { action, path: path.to_owned(), error }
    }

    /// A parameter out of range.
    pub(crate) fn invalid(parameter: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidSpec { parameter, reason: reason.into() }
    }
}
