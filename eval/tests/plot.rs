//! The PNG plots: sampled matches (and the helper that picks their rows) and training curves.
//!
//! Set `REID_PLOT_OUT=DIR` to keep the PNGs for a look.
#![cfg(feature = "plot")]

use image::{Rgb, RgbImage};
use reid_eval::Matrix;
use reid_eval::metrics::Label;
use reid_eval::plot::{
    MatchRow, MatchSampling, MatchThumb, QueryPick, SampleError, SampledMatches, Series, SparseSeries,
    TRAINING_CURVES_SIZE, TrainingCurves, sample_match_rows, sampled_matches_png, training_curves,
};
use std::path::{Path, PathBuf};

/// Where the PNGs go: `REID_PLOT_OUT` when set, else the temporary directory.
fn out(tmp: &Path, name: &str) -> PathBuf {
    match std::env::var_os("REID_PLOT_OUT") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            Path::new(&dir).join(name)
        }
        None => tmp.join(name),
    }
}

fn decode(path: &Path) -> RgbImage {
    image::open(path).unwrap().to_rgb8()
}

/// 2 queries x 5 gallery items; g0 shares q0's identity and camera, g3 shares q1's.
fn tiny_case() -> (Matrix, Vec<Label>, Vec<Label>, Vec<String>, Vec<String>) {
    let query = vec![Label::new(1, Some(1)), Label::new(2, Some(2))];
    let gallery = vec![
        Label::new(1, Some(1)),
        Label::new(1, Some(2)),
        Label::new(2, Some(1)),
        Label::new(2, Some(2)),
        Label::new(3, Some(3)),
    ];
    let dist = Matrix::from_rows(&[[0.1, 0.25, 0.3, 0.2, 0.4], [0.6, 0.7, 0.2, 0.05, 0.2]]).unwrap();
    let qp = (0..2).map(|i| format!("q{i}.jpg")).collect();
    let gp = (0..5).map(|j| format!("g{j}.jpg")).collect();
    (dist, query, gallery, qp, gp)
}

fn ranking(row: &MatchRow) -> Vec<(String, bool, f32)> {
    row.gallery.iter().map(|g| (g.path.display().to_string(), g.is_match, g.distance)).collect()
}

#[test]
fn sample_rows_rank_with_the_market_exclusion() {
    let (dist, query, gallery, qp, gp) = tiny_case();
    let sampling = MatchSampling { k: 3, num_queries: 2, pick: QueryPick::Evenly };
    let rows = sample_match_rows(&dist, &query, &gallery, &qp, &gp, &sampling).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].query, PathBuf::from("q0.jpg"));
    assert_eq!(rows[0].caption, "pid 1 c1");
    // g0 (same pid, same camera, distance 0.1) is removed; g1 is the true match from another camera.
    assert_eq!(
        ranking(&rows[0]),
        vec![("g3.jpg".into(), false, 0.2), ("g1.jpg".into(), true, 0.25), ("g2.jpg".into(), false, 0.3)]
    );
    // g3 (distance 0.05) is removed; the 0.2 tie goes to the lower gallery index.
    assert_eq!(rows[1].query, PathBuf::from("q1.jpg"));
    assert_eq!(
        ranking(&rows[1]),
        vec![("g2.jpg".into(), true, 0.2), ("g4.jpg".into(), false, 0.2), ("g0.jpg".into(), false, 0.6)]
    );

    // k past the kept gallery gives all four kept items.
    let all = MatchSampling { k: 10, ..sampling };
    let rows = sample_match_rows(&dist, &query, &gallery, &qp, &gp, &all).unwrap();
    assert!(rows.iter().all(|r| r.gallery.len() == 4));
    assert!(!rows[0].gallery.iter().any(|g| g.path == Path::new("g0.jpg")));
    assert!(!rows[1].gallery.iter().any(|g| g.path == Path::new("g3.jpg")));

    // Random picks are reproducible, distinct and in query order; asking for more takes all.
    let pick = |num_queries, seed| {
        let s = MatchSampling { k: 2, num_queries, pick: QueryPick::Random { seed } };
        sample_match_rows(&dist, &query, &gallery, &qp, &gp, &s).unwrap()
    };
    assert_eq!(pick(1, 7), pick(1, 7));
    assert_eq!(pick(1, 7).len(), 1);
    let both = pick(9, 3);
    assert_eq!(both.iter().map(|r| r.query.clone()).collect::<Vec<_>>(), [PathBuf::from("q0.jpg"), "q1.jpg".into()]);
    assert!(pick(0, 3).is_empty());

    // Shapes that do not fit.
    let err = sample_match_rows(&dist, &query[..1], &gallery, &qp[..1], &gp, &sampling).unwrap_err();
    assert!(matches!(err, SampleError::Labels { rows: 2, cols: 5, queries: 1, gallery: 5 }));
    let err = sample_match_rows(&dist, &query, &gallery, &qp, &gp[..4], &sampling).unwrap_err();
    assert_eq!(err, SampleError::Paths { side: "gallery", labels: 5, paths: 4 });
}

/// A solid `color` image of `w x h` written to `dir/name` (format from the extension).
fn solid(dir: &Path, name: &str, w: u32, h: u32, color: [u8; 3]) -> PathBuf {
    let path = dir.join(name);
    RgbImage::from_pixel(w, h, Rgb(color)).save(&path).unwrap();
    path
}

fn close(a: Rgb<u8>, b: [u8; 3]) -> bool {
    a.0.iter().zip(b).all(|(&x, y)| x.abs_diff(y) <= 12)
}

#[test]
fn sampled_matches_grid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let blue = solid(d, "q.png", 48, 128, [20, 40, 200]);
    let yellow = solid(d, "g1.jpg", 100, 200, [230, 200, 30]);
    let purple = solid(d, "g2.bmp", 64, 128, [120, 30, 160]);
    let wide = solid(d, "g3.png", 128, 64, [20, 160, 160]);
    let missing = d.join("does-not-exist.jpg");
    let garbage = d.join("garbage.png");
    std::fs::write(&garbage, b"not a png").unwrap();
    let thumb = |path: &PathBuf, is_match, distance| MatchThumb { path: path.clone(), is_match, distance };
    let plot = SampledMatches {
        title: "Sampled matches (top-4)".into(),
        rows: vec![
            MatchRow {
                query: blue.clone(),
                caption: "pid 12 c3".into(),
                gallery: vec![
                    thumb(&yellow, true, 0.1234),
                    thumb(&purple, false, 0.25),
                    thumb(&wide, true, 0.5),
                    thumb(&missing, false, 0.75),
                ],
            },
            MatchRow {
                query: missing.clone(),
                caption: "pid 7 c1".into(),
                gallery: vec![thumb(&garbage, false, 0.3), thumb(&blue, true, 0.4)],
            },
        ],
    };
    let png = out(d, "sampled_matches.png");
    sampled_matches_png(&png, &plot).unwrap();
    let img = decode(&png);
    // Layout from the docs: cells of 86 px after a 16 px margin, gallery columns 18 px further; rows of 184 px
    // under a 62 px header; 4 px frames around 64x128 thumbnails.
    assert_eq!(img.dimensions(), (2 * 16 + 18 + 5 * 86, 62 + 16 + 2 * 184));
    let cell = |row: u32, col: u32| (16 + col * 86 + if col > 0 { 18 } else { 0 }, 62 + row * 184);
    let frame = |row, col| {
        let (x, y) = cell(row, col);
        *img.get_pixel(x + 1, y + 70)
    };
    let centre = |row, col| {
        let (x, y) = cell(row, col);
        *img.get_pixel(x + 4 + 32, y + 4 + 64)
    };
    assert!(close(frame(0, 0), [60, 60, 60]));
    assert!(close(frame(0, 1), [30, 170, 60]));
    assert!(close(frame(0, 2), [220, 30, 30]));
    assert!(close(frame(0, 3), [30, 170, 60]));
    assert!(close(frame(0, 4), [220, 30, 30]));
    assert!(close(frame(1, 1), [220, 30, 30]));
    assert!(close(frame(1, 2), [30, 170, 60]));
    assert!(close(centre(0, 0), [20, 40, 200]));
    assert!(close(centre(0, 1), [230, 200, 30]));
    assert!(close(centre(0, 2), [120, 30, 160]));
    assert!(close(centre(0, 3), [20, 160, 160]));
    // A wide image is letterboxed: light backdrop above it.
    let (x, y) = cell(0, 3);
    assert!(close(*img.get_pixel(x + 36, y + 10), [235, 235, 235]));
    // Missing and undecodable images are grey placeholders.
    for (row, col) in [(0, 4), (1, 0), (1, 1)] {
        let (x, y) = cell(row, col);
        assert!(close(*img.get_pixel(x + 4 + 6, y + 4 + 64), [150, 150, 150]), "placeholder at {row},{col}");
    }
    // Row 1 has two gallery items: its third cell is blank.
    assert!(close(centre(1, 3), [255, 255, 255]));

    // No rows: still a PNG.
    let empty = out(d, "sampled_matches_empty.png");
    sampled_matches_png(&empty, &SampledMatches { title: "nothing".into(), rows: vec![] }).unwrap();
    decode(&empty);

    // An output that cannot be written is an error naming it.
    let bad = d.join("missing/dir/matches.png");
    let err = sampled_matches_png(&bad, &plot).unwrap_err();
    assert_eq!(err.path, bad);
    assert!(err.to_string().contains("missing/dir/matches.png"), "{err}");
    assert!(sampled_matches_png(Path::new(""), &plot).is_err());
}

fn full_curves(n: usize) -> TrainingCurves {
    let epochs: Vec<f64> = (1..=n).map(|e| e as f64).collect();
    let t = |e: f64| e / n as f64;
    let id: Vec<f64> = epochs.iter().map(|&e| 6.0 * (-3.0 * t(e)).exp() + 0.4).collect();
    let tri: Vec<f64> = epochs.iter().map(|&e| 1.2 * (-4.0 * t(e)).exp() + 0.05).collect();
    let loss = id.iter().zip(&tri).map(|(a, b)| a + b).collect();
    let acc = epochs.iter().map(|&e| 1.0 - 0.95 * (-5.0 * t(e)).exp()).collect();
    let lr = epochs
        .iter()
        .map(|&e| {
            if e <= 10.0 {
                3.5e-4 * e / 10.0
            } else if t(e) < 0.5 {
                3.5e-4
            } else {
                3.5e-5
            }
        })
        .collect();
    let every = |f: fn(f64) -> f64| {
        epochs.iter().filter(|&&e| (e as usize).is_multiple_of(10)).map(|&e| (e, f(t(e)))).collect()
    };
    TrainingCurves {
        title: "ResNet-50 on Market-1501".into(),
        epochs: epochs.clone(),
        losses: vec![Series::new("loss", loss), Series::new("id loss", id), Series::new("triplet loss", tri)],
        accuracy: vec![Series::new("train accuracy", acc)],
        validation: vec![
            SparseSeries::new("mAP", every(|t| 0.85 - 0.6 * (-4.0 * t).exp())),
            SparseSeries::new("rank-1", every(|t| 0.94 - 0.5 * (-4.0 * t).exp())),
        ],
        learning_rate: vec![Series::new("lr", lr)],
    }
}

#[test]
fn training_curves_pngs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let check = |name: &str, curves: &TrainingCurves| {
        let png = out(d, name);
        training_curves(&png, curves).unwrap();
        let img = decode(&png);
        assert_eq!(img.dimensions(), TRAINING_CURVES_SIZE);
        img
    };

    let img = check("curves.png", &full_curves(120));
    // The first two palette colours (loss, id loss) are drawn.
    let has = |c: [u8; 3]| img.pixels().any(|p| p.0 == c);
    assert!(has([31, 119, 180]) && has([214, 39, 40]));

    // A single epoch, with a validation point at it.
    let mut one = full_curves(1);
    one.validation = vec![SparseSeries::new("mAP", vec![(1.0, 0.3)])];
    check("curves_single_epoch.png", &one);

    // Nothing at all, and named series without values.
    check("curves_empty.png", &TrainingCurves::default());
    let names_only = TrainingCurves {
        title: "no values".into(),
        epochs: vec![1.0, 2.0],
        losses: vec![Series::new("loss", vec![])],
        accuracy: vec![Series::new("train accuracy", vec![])],
        validation: vec![SparseSeries::new("mAP", vec![])],
        learning_rate: vec![Series::new("lr", vec![])],
    };
    check("curves_names_only.png", &names_only);

    // NaN and infinities anywhere are skipped; a flat lr stays on a linear axis.
    let mut nan = full_curves(30);
    nan.losses[0].values[5] = f64::NAN;
    nan.losses[1].values[0] = f64::INFINITY;
    nan.losses[2].values = vec![f64::NAN; 30];
    nan.accuracy[0].values[29] = f64::NAN;
    nan.validation[0].points.push((f64::NAN, 0.5));
    nan.validation[1].points.push((31.0, f64::NAN));
    nan.learning_rate[0].values = vec![1e-3; 30];
    nan.learning_rate[0].values[3] = f64::NAN;
    nan.epochs[10] = f64::NAN;
    check("curves_nan.png", &nan);

    // All values NaN, and an lr with zeros on a log axis.
    let mut all_nan = full_curves(5);
    for s in all_nan.losses.iter_mut().chain(&mut all_nan.accuracy).chain(&mut all_nan.learning_rate) {
        s.values = vec![f64::NAN; 5];
    }
    check("curves_all_nan.png", &all_nan);
    let mut zeros = full_curves(40);
    zeros.learning_rate[0].values[0] = 0.0;
    check("curves_lr_zero.png", &zeros);

    // Outputs that cannot be written are errors naming the path.
    let err = training_curves(Path::new(""), &one).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let bad = d.join("missing/dir/curves.png");
    let err = training_curves(&bad, &one).unwrap_err();
    assert_eq!(err.path, bad);
    assert!(err.to_string().contains("missing/dir/curves.png"), "{err}");
}
