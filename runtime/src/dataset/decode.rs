//! Decoding every image of a split: corrupt files and image sizes.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::error::BadFile;
use reid_eval::progress::Progress;

/// Minimum, median and maximum of a size (width or height) in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SizeStats {
    /// The smallest value.
    pub min: u32,
    /// The median (the lower middle value when the count is even).
    pub median: u32,
    /// The largest value.
    pub max: u32,
}

impl SizeStats {
    /// The statistics of `values`, `None` when there are none.
    pub fn of(mut values: Vec<u32>) -> Option<Self> {
        values.sort_unstable();
        let min = *values.first()?;
        let max = *values.last()?;
        let median = values[(values.len() - 1) / 2];
        Some(Self { min, median, max })
    }
}

/// What decoding the images of one split found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecodeSummary {
    /// Images decoded successfully.
    pub decoded: usize,
    /// Images that could not be opened or decoded, with the decoder's error.
    pub failures: Vec<BadFile>,
    /// Widths of the decoded images.
    pub width: Option<SizeStats>,
    /// Heights of the decoded images.
    pub height: Option<SizeStats>,
}

impl DecodeSummary {
    /// Summarises decode results (width and height, or the error) of the images at `paths`.
    pub(crate) fn from_results<'a>(
        paths: impl IntoIterator<Item = &'a Path>,
        results: impl IntoIterator<Item = Result<(u32, u32), String>>,
    ) -> Self {
        let mut widths = Vec::new();
        let mut heights = Vec::new();
        let mut failures = Vec::new();
        for (path, result) in paths.into_iter().zip(results) {
            match result {
                Ok((width, height)) => {
                    widths.push(width);
                    heights.push(height);
                }
                Err(reason) => failures.push(BadFile::new(path, reason)),
            }
        }
        Self { decoded: widths.len(), failures, width: SizeStats::of(widths), height: SizeStats::of(heights) }
    }
}

/// Fully decodes the image at `path` (format guessed from its content) and returns its width and height.
pub fn decode_image_size(path: &Path) -> Result<(u32, u32), String> {
    let reader = image::ImageReader::open(path).map_err(|err| one_line("cannot open", &err))?;
    let reader = reader.with_guessed_format().map_err(|err| one_line("cannot read", &err))?;
    let image = reader.decode().map_err(|err| one_line("cannot decode", &err))?;
    Ok((image.width(), image.height()))
}

/// `what: err` on one line (some decoder messages end in a newline).
fn one_line(what: &str, err: &dyn std::error::Error) -> String {
    let message = err.to_string();
    let words: Vec<&str> = message.split_whitespace().collect();
    format!("{what}: {}", words.join(" "))
}

/// Decodes every path in parallel, reporting one unit of progress per image.
pub(crate) fn decode_all(paths: &[&Path], progress: &dyn Progress) -> Vec<Result<(u32, u32), String>> {
    progress.stage("decode images", paths.len() as u64);
    let results = paths
        .par_iter()
        .map(|path| {
            let result = decode_image_size(path);
            progress.advance(1);
            result
        })
        .collect();
    progress.finish_stage();
    results
}
