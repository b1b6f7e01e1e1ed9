//! CMC curves.

use super::{PlotError, check_output, draw_labelled_lines, register_font};
use plotters::prelude::*;
use std::path::Path;

/// One named curve: `values[k]` is plotted at x = `k + 1`.
#[derive(Clone, Debug)]
pub struct Curve {
    /// Legend label.
    pub label: String,
    /// Y values in [0, 1], first at rank 1.
    pub values: Vec<f64>,
}

/// Draws CMC curves (matching rate in percent against rank 1..=`max_rank`) into a PNG at `path`.
pub fn cmc_png(path: &Path, title: &str, curves: &[Curve], max_rank: usize) -> Result<(), PlotError> {
    check_output(path)?;
    register_font();
    let err = |message: String| PlotError::new(path, message);
    let max_rank = max_rank.max(1);
    let lowest = curves.iter().filter_map(|c| c.values.first()).fold(1.0f64, |a, &b| a.min(b));
    let y0 = ((lowest * 100.0 - 5.0) / 10.0).floor().clamp(0.0, 9.0) * 10.0;
    let root = BitMapBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..max_rank as f64, y0..100.0f64)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("rank")
        .y_desc("matching rate (%)")
        .x_label_formatter(&|x| format!("{}", x.round() as i64))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let lines = curves.iter().map(|c| {
        let points = c.values.iter().take(max_rank).enumerate().map(|(k, &v)| ((k + 1) as f64, v * 100.0)).collect();
        (c.label.clone(), points)
    });
    draw_labelled_lines(&mut chart, lines, 3).map_err(err)?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_with_the_curves() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cmc.png");
        let a = Curve { label: "original".into(), values: (0..60).map(|k| 0.7 + 0.3 * (k as f64 / 60.0)).collect() };
        let b = Curve { label: "re-ranked".into(), values: vec![0.8; 60] };
        cmc_png(&path, "CMC", &[a, b], 50).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (900, 600));
        // Both line colours are present.
        let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
        assert!(has([31, 119, 180]) && has([214, 39, 40]));
        let bad = cmc_png(&dir.path().join("missing/dir/x.png"), "CMC", &[], 10);
        assert!(bad.unwrap_err().to_string().contains("missing/dir/x.png"));
    }
}
