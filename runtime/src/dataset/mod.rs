//! Dataset format: Market-1501 and camera-less (folder per identity) layouts.
//!
//! - [`parse_market_name`]: the file-name grammar `PPPP_cC[sS_FFFFFF_NN].jpg` (pid -1 junk, pid 0 distractor).
//! - [`load_split`] and [`open_dataset`]: list a split folder or a whole dataset root into [`ImageRecord`]s,
//!   detecting the [`Layout`].
//! - [`Labeler`]: dense identity ids shared by query and gallery, from dataset records or from the image
//!   paths of an inference JSON ([`LabelSource`]).
//! - [`check_dataset`]: the report a user runs first (counts, cameras, junk, distractors, queries without a
//!   valid match, train/test leaks, optionally undecodable images and image sizes).
//!
//! Untrusted input never panics: every problem is a [`DatasetError`] naming the file or folder, or, in
//! lenient mode, a [`BadFile`] listed with its reason.

mod decode;
mod error;
mod identity;
mod labels;
mod layout;
mod name;
mod report;
mod split;

pub use decode::{DecodeSummary, SizeStats, decode_image_size};
pub use error::{BadFile, DatasetError};
pub use identity::Identity;
pub use labels::{LabelSource, Labeler, Labelled, UnknownLabelSource};
pub use layout::{Dataset, DatasetDirs, MARKET_GALLERY, MARKET_TRAIN, QUERY, SplitKind, detect_layout, open_dataset};
pub use name::{
    DISTRACTOR_PID, IMAGE_EXTENSIONS, JUNK_PID, MarketName, NameError, is_image_extension, parse_market_name,
};
pub use report::{CameraCount, CheckOptions, DatasetReport, SplitReport, check_dataset, check_dataset_with_progress};
pub use split::{ImageRecord, Layout, Split, load_split};
