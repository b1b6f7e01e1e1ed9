//! Errors of the data pipeline, each naming the file or folder at fault.

use std::path::PathBuf;
use thiserror::Error;

/// A dataset that cannot be trained or evaluated on.
#[derive(Debug, Error)]
pub enum DataError {
    /// The dataset layer refused the folder (missing, empty, a bad file name, ...).
    #[error(transparent)]
    Dataset(#[from] reid_runtime::dataset::DatasetError),
    /// An image that does not decode.
    #[error("cannot decode image {path}: {message}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// A split with fewer identities than training needs.
    #[error("{dir}: {message}")]
    Unusable {
        /// The split folder.
        dir: PathBuf,
        /// Why.
        message: String,
    },
    /// The loader's worker pool could not start.
    #[error("cannot start {workers} data loader threads: {message}")]
    Workers {
        /// Threads asked for (`dataset.num_workers`).
        workers: usize,
        /// The OS's message.
        message: String,
    },
}
