//! PNG plots drawn with `plotters` and an embedded font, so nothing depends on system fonts.
//!
//! - [`cmc_png`]: CMC curves (matching rate against rank).
//! - [`sampled_matches_png`]: a grid of sampled queries and their top-k gallery images, true matches framed
//!   green and false ones red; [`sample_match_rows`] picks and ranks the rows from evaluation inputs.
//! - [`training_curves`]: losses, accuracy/mAP/rank-1 and learning rate per epoch in three stacked panels.
//! - [`log_steps_png`]: per-step values spanning many decades (a log y axis), e.g. two trainers' loss difference.

mod cmc;
mod curves;
mod matches;
mod steps;

pub use cmc::{Curve, cmc_png};
pub use curves::{Series, SparseSeries, TRAINING_CURVES_SIZE, TrainingCurves, training_curves};
pub use matches::{
    MatchRow, MatchSampling, MatchThumb, QueryPick, SampleError, SampledMatches, THUMB_HEIGHT, THUMB_WIDTH,
    sample_match_rows, sampled_matches_png,
};
pub use steps::log_steps_png;

use plotters::coord::CoordTranslate;
use plotters::prelude::{
    BLACK, ChartContext, Color, DrawingBackend, LineSeries, PathElement, SeriesLabelPosition, WHITE,
};
use plotters::style::FontStyle;
use std::path::{Path, PathBuf};
use std::sync::Once;
use thiserror::Error;

/// A plot that could not be drawn or written.
#[derive(Debug, Error)]
#[error("cannot draw {path}: {message}")]
pub struct PlotError {
    /// The output file.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

impl PlotError {
    /// An error about the output file `path`.
    pub(crate) fn new(path: &Path, message: impl ToString) -> Self {
        Self { path: path.to_owned(), message: message.to_string() }
    }
}

/// Refuses an empty output path before any drawing (the backend would only fail when writing).
pub(crate) fn check_output(path: &Path) -> Result<(), PlotError> {
    if path.as_os_str().is_empty() {
        return Err(PlotError::new(path, "the output path is empty"));
    }
    Ok(())
}

/// Draws each `(label, points)` as a line in the palette's colours, `width` pixels wide, with its legend entry, then
/// the legend box in the lower right (the line plots' shared tail). Errors as the backend's message.
pub(crate) fn draw_labelled_lines<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    lines: impl IntoIterator<Item = (String, Vec<(f64, f64)>)>,
    width: u32,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate<From = (f64, f64)>,
{
    for (i, (label, points)) in lines.into_iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(width)))
            .map_err(|e| e.to_string())?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())
}

static FONT: Once = Once::new();

/// Registers the embedded font as `sans-serif` (once per process).
pub fn register_font() {
    FONT.call_once(|| {
        // The bytes are a valid TrueType font shipped by `epaint_default_fonts`; failure would be a packaging bug.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    });
}

/// Line colours (matplotlib's `tab10`).
pub(crate) const PALETTE: [plotters::style::RGBColor; 8] = [
    plotters::style::RGBColor(31, 119, 180),
    plotters::style::RGBColor(214, 39, 40),
    plotters::style::RGBColor(44, 160, 44),
    plotters::style::RGBColor(255, 127, 14),
    plotters::style::RGBColor(148, 103, 189),
    plotters::style::RGBColor(140, 86, 75),
    plotters::style::RGBColor(227, 119, 194),
    plotters::style::RGBColor(23, 190, 207),
];
