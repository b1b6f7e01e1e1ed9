//! Per-step quantities spanning many decades (e.g. the relative loss difference between two trainers) on a
//! logarithmic y axis.

use super::cmc::Curve;
use super::{PlotError, check_output, draw_labelled_lines, register_font};
use plotters::prelude::*;
use std::path::Path;

/// Draws `curves` (`values[k]` at step `k + 1`) against a log y axis into a PNG at `path`. Values below `floor`
/// (zeros included: steps where the two sides agree exactly) are drawn at `floor`; non-finite values are left out.
pub fn log_steps_png(path: &Path, title: &str, y_desc: &str, curves: &[Curve], floor: f64) -> Result<(), PlotError> {
    check_output(path)?;
    register_font();
    let err = |message: String| PlotError::new(path, message);
    if !(floor.is_finite() && floor > 0.0) {
        return Err(err(format!("the floor {floor} is not a positive number")));
    }
    let steps = curves.iter().map(|c| c.values.len()).max().unwrap_or(0).max(2);
    let top = curves.iter().flat_map(|c| &c.values).copied().filter(|v| v.is_finite()).fold(floor, f64::max);
    let top = 10f64.powf(top.log10().ceil().max(floor.log10() + 1.0));
    let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(1f64..steps as f64, (floor..top).log_scale())
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{}", x.round() as i64))
        .y_label_formatter(&|y| format!("{y:.0e}"))
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let lines = curves.iter().map(|c| {
        let points = c
            .values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(k, &v)| ((k + 1) as f64, v.max(floor)))
            .collect();
        (c.label.clone(), points)
    });
    draw_labelled_lines(&mut chart, lines, 2).map_err(err)?;
    root.present().map_err(|e| err(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_decades_apart_curves_and_refuses_a_bad_floor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("steps.png");
        let a = Curve { label: "f32".into(), values: (0..100).map(|k| 1e-7 * 10f64.powf(k as f64 / 20.0)).collect() };
        let b = Curve { label: "f64".into(), values: vec![0.0, 1e-15, f64::NAN, 1e-13] };
        log_steps_png(&path, "difference", "relative", &[a.clone(), b], 1e-16).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (1000, 600));
        let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
        assert!(has([31, 119, 180]) && has([214, 39, 40]));
        let e = log_steps_png(&path, "t", "y", &[a], 0.0).unwrap_err().to_string();
        assert!(e.contains("floor"), "{e}");
    }
}
