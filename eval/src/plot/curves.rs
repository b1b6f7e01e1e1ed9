//! Training curves: losses, accuracy with validation mAP and rank-1, and the learning rate, per epoch.

use super::{PALETTE, PlotError, check_output, register_font};
use plotters::coord::ranged1d::{Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::Path;

/// Width and height in pixels of the PNG [`training_curves`] writes.
pub const TRAINING_CURVES_SIZE: (u32, u32) = (960, 1200);

/// A named per-epoch series: `values[i]` belongs to `TrainingCurves::epochs[i]`.
///
/// Non-finite values are skipped (the line breaks there); values past the end of `epochs` are ignored.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Legend label, e.g. `loss`, `id loss`, `train accuracy`, `lr`.
    pub name: String,
    /// One value per epoch.
    pub values: Vec<f64>,
}

impl Series {
    /// A series named `name`.
    pub fn new(name: impl Into<String>, values: Vec<f64>) -> Self {
        Self { name: name.into(), values }
    }
}

/// A named series measured at some epochs only, e.g. validation `mAP` or `rank-1`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparseSeries {
    /// Legend label.
    pub name: String,
    /// `(epoch, value)` points; points with a non-finite coordinate are skipped.
    pub points: Vec<(f64, f64)>,
}

impl SparseSeries {
    /// A sparse series named `name`.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Self { name: name.into(), points }
    }
}

/// Everything [`training_curves`] draws.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainingCurves {
    /// Title over the three panels.
    pub title: String,
    /// The x value of each per-epoch entry (usually `1.0, 2.0, ...`).
    pub epochs: Vec<f64>,
    /// Top panel: loss terms.
    pub losses: Vec<Series>,
    /// Middle panel (0..1): per-epoch fractions such as training accuracy.
    pub accuracy: Vec<Series>,
    /// Middle panel (0..1): sparse validation fractions such as mAP and rank-1, drawn with markers.
    pub validation: Vec<SparseSeries>,
    /// Bottom panel: learning rate(s); a log axis when the positive values span more than 10x.
    pub learning_rate: Vec<Series>,
}

/// One legend entry and its finite points, split into runs at skipped values.
struct Line {
    name: String,
    color: RGBColor,
    runs: Vec<Vec<(f64, f64)>>,
    markers: bool,
}

impl Line {
    fn points(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.runs.iter().flatten()
    }
}

/// Splits `(x, y)` points into runs of points that `keep` accepts.
fn runs(points: impl Iterator<Item = (f64, f64)>, keep: impl Fn(f64, f64) -> bool) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (x, y) in points {
        if x.is_finite() && y.is_finite() && keep(x, y) {
            out.last_mut().expect("never empty").push((x, y));
        } else if !out.last().expect("never empty").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// Lines for per-epoch series, colours from `first_color` on.
fn dense_lines(epochs: &[f64], series: &[Series], first_color: usize, keep: impl Fn(f64, f64) -> bool) -> Vec<Line> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let runs = runs(epochs.iter().copied().zip(s.values.iter().copied()), &keep);
            // Markers where the line alone would not show the points: few epochs or isolated values.
            let markers = epochs.len() <= 25 || runs.iter().any(|r| r.len() == 1);
            Line { name: s.name.clone(), color: PALETTE[(first_color + i) % PALETTE.len()], runs, markers }
        })
        .collect()
}

/// `lo..hi` of the finite values, or `None`.
fn extent<'a>(values: impl Iterator<Item = &'a f64>) -> Option<(f64, f64)> {
    values.filter(|v| v.is_finite()).fold(None, |acc, &v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// A short number for tick labels.
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-2 {
        format!("{v:.1e}")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// Draws the training curves into a PNG of [`TRAINING_CURVES_SIZE`] at `path`: losses on top, accuracy with
/// validation mAP and rank-1 (0..1) in the middle, the learning rate at the bottom.
///
/// Non-finite values are skipped, empty series and panels are drawn empty, a single epoch is drawn as
/// markers. An empty path or a PNG that cannot be written is an error naming the path.
pub fn training_curves(path: &Path, curves: &TrainingCurves) -> Result<(), PlotError> {
    check_output(path)?;
    register_font();
    let err = |e: &dyn std::fmt::Display| PlotError::new(path, e);

    let epochs = &curves.epochs;
    let x_extent = extent(epochs.iter().chain(curves.validation.iter().flat_map(|s| s.points.iter().map(|p| &p.0))));
    let (x0, x1) = match x_extent {
        None => (0.0, 1.0),
        Some((lo, hi)) if hi - lo < 1e-9 => (lo - 1.0, hi + 1.0),
        Some((lo, hi)) => (lo, hi),
    };
    // Whole epochs over a short span: one tick per epoch, so no fractional epoch labels.
    let whole = epochs.iter().chain(curves.validation.iter().flat_map(|s| s.points.iter().map(|p| &p.0)));
    let whole = whole.filter(|x| x.is_finite()).all(|x| x.fract() == 0.0);
    let x_labels = if whole && x1 - x0 <= 10.0 { (x1 - x0) as usize + 1 } else { 11 };

    let losses = dense_lines(epochs, &curves.losses, 0, |_, _| true);
    let mut accuracy = dense_lines(epochs, &curves.accuracy, 0, |_, _| true);
    let first = accuracy.len();
    accuracy.extend(curves.validation.iter().enumerate().map(|(i, s)| Line {
        name: s.name.clone(),
        color: PALETTE[(first + i) % PALETTE.len()],
        runs: runs(s.points.iter().copied(), |_, _| true),
        markers: true,
    }));
    let positive = extent(curves.learning_rate.iter().flat_map(|s| s.values.iter()).filter(|v| **v > 0.0));
    let log_lr = positive.is_some_and(|(lo, hi)| hi > 10.0 * lo);
    let lr = dense_lines(epochs, &curves.learning_rate, 0, |_, y| !log_lr || y > 0.0);

    let root = BitMapBackend::new(path, TRAINING_CURVES_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let root = root.titled(&curves.title, ("sans-serif", 26)).map_err(|e| err(&e))?;
    let panels = root.split_evenly((3, 1));

    let (lo, hi) = extent(losses.iter().flat_map(|l| l.points().map(|p| &p.1))).unwrap_or((0.0, 1.0));
    let (y0, y1) = (lo.min(0.0), if hi > lo.min(0.0) { hi * 1.08 } else { lo.min(0.0) + 1.0 });
    let chart = ChartBuilder::on(&panels[0])
        .caption("losses", ("sans-serif", 19))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(|e| err(&e))?;
    panel(chart, "loss", x_labels, &losses, SeriesLabelPosition::UpperRight).map_err(|e| err(&e))?;

    let chart = ChartBuilder::on(&panels[1])
        .caption("accuracy, mAP, rank-1", ("sans-serif", 19))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, 0.0..1.04)
        .map_err(|e| err(&e))?;
    panel(chart, "fraction", x_labels, &accuracy, SeriesLabelPosition::LowerRight).map_err(|e| err(&e))?;

    let builder = |area| {
        let mut b = ChartBuilder::on(area);
        b.caption("learning rate", ("sans-serif", 19)).margin(14).x_label_area_size(40).y_label_area_size(64);
        b
    };
    match positive {
        Some((lo, hi)) if log_lr => {
            // Whole decades, so the axis has labelled ticks at both ends of the range.
            let (y0, y1) = (10f64.powf((lo / 1.2).log10().floor()), 10f64.powf((hi * 1.2).log10().ceil()));
            let chart = builder(&panels[2]).build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(|e| err(&e))?;
            panel(chart, "learning rate (log)", x_labels, &lr, SeriesLabelPosition::UpperRight).map_err(|e| err(&e))?;
        }
        _ => {
            let (lo, hi) = extent(lr.iter().flat_map(|l| l.points().map(|p| &p.1))).unwrap_or((0.0, 1.0));
            let (y0, y1) = (lo.min(0.0), if hi > lo.min(0.0) { hi * 1.3 } else { lo.min(0.0) + 1.0 });
            let chart = builder(&panels[2]).build_cartesian_2d(x0..x1, y0..y1).map_err(|e| err(&e))?;
            panel(chart, "learning rate", x_labels, &lr, SeriesLabelPosition::UpperRight).map_err(|e| err(&e))?;
        }
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

type DrawResult = Result<(), DrawingAreaErrorKind<<BitMapBackend<'static> as DrawingBackend>::ErrorType>>;

/// Draws the mesh, the lines (with markers where asked) and the legend of one panel.
fn panel<'a, 'b: 'a, Y>(
    mut chart: ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, Y>>,
    y_desc: &str,
    x_labels: usize,
    lines: &[Line],
    legend: SeriesLabelPosition,
) -> DrawResult
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels(x_labels)
        .x_label_formatter(&|x| short(*x))
        .y_label_formatter(&|y| short(*y))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .draw()?;
    for line in lines {
        let color = line.color;
        // The legend entry, drawn even when the series has no finite value.
        chart
            .draw_series(LineSeries::new(std::iter::empty::<(f64, f64)>(), color.stroke_width(2)))?
            .label(line.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
        for run in &line.runs {
            chart.draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))?;
            if line.markers {
                chart.draw_series(run.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
            }
        }
    }
    if lines.iter().all(|l| l.runs.is_empty()) {
        let area = chart.plotting_area().strip_coord_spec();
        let (w, h) = area.dim_in_pixel();
        area.draw(&Text::new(
            "no data",
            (w as i32 / 2 - 28, h as i32 / 2 - 8),
            ("sans-serif", 18).into_font().color(&RGBColor(120, 120, 120)),
        ))?;
    }
    if !lines.is_empty() {
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 15))
            .draw()?;
    }
    Ok(())
}
