//! Synthetic persons: determinism, the written Market-1501 folder as the dataset layer reads it, a
//! hand-crafted baseline that must find identity "learnable but not trivial", and the renderer's clipping.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reid_eval::Matrix;
use reid_eval::distance::{Metric, distance_matrix, l2_normalize};
use reid_eval::metrics::{Label, evaluate};
use reid_eval::progress::NoProgress;
use reid_runtime::dataset::{
    CheckOptions, Identity as DatasetIdentity, ImageRecord, SplitKind, check_dataset, open_dataset,
};
use reid_synth::persons::{
    Camera, DatasetSpec, Identity, Lighting, Occlusion, PersonsError, Pose, Rect, Viewpoint, apply_sensor,
    render_background, render_crop, render_occlusion, render_person, render_preview, write_dataset,
};
use tempfile::TempDir;

fn small_spec(seed: u64) -> DatasetSpec {
    DatasetSpec {
        train_ids: 4,
        test_ids: 5,
        cameras: 3,
        images_per_camera: 2,
        width: 64,
        height: 128,
        seed,
        distractors: 4,
        junk: 3,
    }
}

/// Every file under `root`, relative path -> bytes.
fn read_tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.strip_prefix(root).unwrap().to_owned(), fs::read(&path).unwrap());
            }
        }
    }
    files
}

// ---------------------------------------------------------------------------------------------------------
// Determinism

#[test]
fn same_seed_writes_byte_identical_files() {
    let (a, b) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let spec = small_spec(11);
    write_dataset(&spec, a.path(), false, &NoProgress).unwrap();
    // A different thread count must not change anything.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    pool.install(|| write_dataset(&spec, b.path(), false, &NoProgress)).unwrap();
    let (ta, tb) = (read_tree(a.path()), read_tree(b.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    let jpegs = ta.keys().filter(|p| p.extension().is_some_and(|e| e == "jpg")).count();
    assert_eq!(jpegs, (4 + 5) * 3 * 2 + 4 + 3);
    for (path, bytes) in &ta {
        assert!(bytes == &tb[path], "{} differs between two runs with the same seed", path.display());
    }
}

#[test]
fn different_seeds_give_different_images() {
    let spec_a = small_spec(1);
    let spec_b = small_spec(2);
    let mut differing = 0;
    for pid in 1..=5 {
        let (cam_a, cam_b) = (Camera::new(spec_a.seed, 1), Camera::new(spec_b.seed, 1));
        let a = render_crop(&Identity::new(spec_a.seed, pid), &cam_a, &spec_a.shot(&cam_a, pid, 0), 64, 128);
        let b = render_crop(&Identity::new(spec_b.seed, pid), &cam_b, &spec_b.shot(&cam_b, pid, 0), 64, 128);
        let diff: u64 = a.as_raw().iter().zip(b.as_raw()).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
        if diff as f64 / a.as_raw().len() as f64 > 10.0 {
            differing += 1;
        }
    }
    assert_eq!(differing, 5, "every crop must change with the seed");
    assert_ne!(Identity::new(1, 3), Identity::new(2, 3));
    assert_ne!(Camera::new(1, 3), Camera::new(2, 3));
}

// ---------------------------------------------------------------------------------------------------------
// The written folder, as the dataset layer reads it

#[test]
fn written_folder_loads_with_expected_counts() {
    let tmp = TempDir::new().unwrap();
    let spec = small_spec(5);
    let summary = write_dataset(&spec, tmp.path(), false, &NoProgress).unwrap();
    assert_eq!(summary.train_images, 4 * 3 * 2);
    assert_eq!(summary.query_images, 5 * 3);
    assert_eq!(summary.gallery_images, 5 * 3 + 4 + 3);
    assert_eq!(summary.images(), 24 + 15 + 22);

    let dataset = open_dataset(tmp.path(), false).unwrap();
    let train = dataset.train.as_ref().expect("training split");
    let pids = |records: &[ImageRecord]| -> BTreeSet<i32> {
        records
            .iter()
            .filter_map(|r| match r.identity {
                DatasetIdentity::Id(id) if id > 0 => Some(id),
                _ => None,
            })
            .collect()
    };
    let cams = |records: &[ImageRecord]| -> BTreeSet<u32> { records.iter().filter_map(|r| r.camera).collect() };
    assert_eq!(pids(&train.records), (1..=4).collect());
    assert_eq!(pids(&dataset.query.records), (5..=9).collect());
    assert_eq!(pids(&dataset.gallery.records), (5..=9).collect());
    assert!(pids(&train.records).is_disjoint(&pids(&dataset.gallery.records)));
    for split in [&train.records, &dataset.query.records, &dataset.gallery.records] {
        assert_eq!(cams(split), (1..=3).collect());
    }
    assert_eq!(train.records.len(), 24);
    assert_eq!(dataset.query.records.len(), 15);
    // Junk is dropped by the loader; distractors stay.
    assert_eq!(dataset.gallery.records.len(), 15 + 4);
    assert_eq!(dataset.gallery.junk_dropped, 3);
    assert_eq!(dataset.gallery.records.iter().filter(|r| r.identity.is_distractor()).count(), 4);

    // Every query has a true match in another camera (the Market protocol keeps it).
    for q in &dataset.query.records {
        assert!(
            dataset.gallery.records.iter().any(|g| g.identity == q.identity && g.camera != q.camera),
            "query {} has no valid gallery match",
            q.path.display()
        );
    }

    // The dataset check agrees, decoding every image.
    let report = check_dataset(tmp.path(), &CheckOptions { lenient: false, decode: true }).unwrap();
    assert_eq!(report.errors(), 0);
    assert!(report.queries_without_valid_match.is_empty());
    assert!(report.train_test_shared_identities.is_empty());
    let query = report.split(SplitKind::Query).unwrap();
    assert_eq!((query.images, query.identities, query.cameras.len()), (15, 5, 3));
    let gallery = report.split(SplitKind::Gallery).unwrap();
    assert_eq!((gallery.images, gallery.identities, gallery.distractors, gallery.junk_dropped), (19, 5, 4, 3));
    let train = report.split(SplitKind::Train).unwrap();
    assert_eq!((train.images, train.identities), (24, 4));
    let decode = train.decode.as_ref().unwrap();
    assert!(decode.failures.is_empty());

    // The record of the parameters.
    let record: serde_json::Value = serde_json::from_slice(&fs::read(tmp.path().join("synth.json")).unwrap()).unwrap();
    assert_eq!(record["spec"]["seed"], 5);
    assert_eq!(record["counts"]["query_images"], 15);
    assert!(fs::read_to_string(tmp.path().join("README.txt")).unwrap().contains("seed 5"));
    assert!(image::open(tmp.path().join("preview.png")).is_ok());
}

#[test]
fn one_image_per_camera_still_gives_every_query_a_match() {
    let tmp = TempDir::new().unwrap();
    let spec = DatasetSpec {
        images_per_camera: 1,
        train_ids: 0,
        test_ids: 6,
        cameras: 3,
        distractors: 0,
        junk: 0,
        ..small_spec(3)
    };
    write_dataset(&spec, tmp.path(), false, &NoProgress).unwrap();
    assert!(!tmp.path().join("bounding_box_train").exists());
    let report = check_dataset(tmp.path(), &CheckOptions::default()).unwrap();
    assert!(report.queries_without_valid_match.is_empty(), "{:?}", report.queries_without_valid_match);
    assert!(report.query_identities_missing_from_gallery.is_empty());
}

#[test]
fn refuses_non_empty_folder_unless_forced() {
    let tmp = TempDir::new().unwrap();
    fs::write(tmp.path().join("notes.txt"), b"mine").unwrap();
    let spec = DatasetSpec {
        train_ids: 1,
        test_ids: 2,
        cameras: 2,
        images_per_camera: 2,
        distractors: 0,
        junk: 0,
        ..small_spec(0)
    };
    let err = write_dataset(&spec, tmp.path(), false, &NoProgress).unwrap_err();
    assert!(matches!(err, PersonsError::NotEmpty { .. }));
    assert!(err.to_string().contains(&tmp.path().display().to_string()), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");

    // Forced: a stale image of an earlier, larger run must not survive.
    fs::create_dir_all(tmp.path().join("query")).unwrap();
    fs::write(tmp.path().join("query/0099_c1s1_000001_01.jpg"), b"stale").unwrap();
    write_dataset(&spec, tmp.path(), true, &NoProgress).unwrap();
    assert!(!tmp.path().join("query/0099_c1s1_000001_01.jpg").exists());
    assert!(tmp.path().join("notes.txt").exists(), "files that are not the dataset's stay");
    open_dataset(tmp.path(), false).unwrap();

    // A file where the folder should be.
    let file = tmp.path().join("notes.txt");
    let err = write_dataset(&spec, &file, true, &NoProgress).unwrap_err();
    assert!(err.to_string().contains("notes.txt") && err.to_string().contains("not a folder"), "{err}");

    let bad = DatasetSpec { cameras: 1, ..spec };
    let err = write_dataset(&bad, &tmp.path().join("new"), false, &NoProgress).unwrap_err();
    assert!(err.to_string().contains("--cameras"), "{err}");
}

// ---------------------------------------------------------------------------------------------------------
// Learnable but not trivial: a colour histogram of the centre region

const BINS: usize = 4;

/// A joint RGB histogram (4 bins per channel) of the centre of the crop (the middle 30 % of the width, where
/// the torso and legs are, and the middle 75 % of the height), L2-normalised.
fn histogram(path: &Path) -> Vec<f32> {
    let image = image::open(path).unwrap().to_rgb8();
    let (w, h) = image.dimensions();
    let mut hist = vec![0.0_f32; BINS * BINS * BINS];
    for y in h / 8..h * 7 / 8 {
        for x in w * 35 / 100..w * 65 / 100 {
            let p = image.get_pixel(x, y).0.map(|v| usize::from(v) * BINS / 256);
            hist[(p[0] * BINS + p[1]) * BINS + p[2]] += 1.0;
        }
    }
    l2_normalize(&mut hist);
    hist
}

fn labels(records: &[ImageRecord]) -> Vec<Label> {
    records
        .iter()
        .map(|r| match r.identity {
            DatasetIdentity::Id(id) => Label::new(u32::try_from(id).unwrap(), r.camera),
            DatasetIdentity::Named(_) => unreachable!("Market names are numeric"),
        })
        .collect()
}

#[test]
fn histogram_baseline_is_above_chance_and_far_from_perfect() {
    let tmp = TempDir::new().unwrap();
    // The default test split (the training split does not take part in the evaluation).
    let spec = DatasetSpec { train_ids: 0, ..DatasetSpec::default() };
    write_dataset(&spec, tmp.path(), false, &NoProgress).unwrap();
    let dataset = open_dataset(tmp.path(), false).unwrap();
    let feats = |records: &[ImageRecord]| {
        let rows: Vec<Vec<f32>> = records.iter().map(|r| histogram(&r.path)).collect();
        Matrix::from_rows(&rows).unwrap()
    };
    let (q, g) = (feats(&dataset.query.records), feats(&dataset.gallery.records));
    let (ql, gl) = (labels(&dataset.query.records), labels(&dataset.gallery.records));
    let result = evaluate(&distance_matrix(&q, &g, Metric::SquaredEuclidean).unwrap(), &ql, &gl).unwrap();

    // Chance: the same protocol on random distances, averaged over a few draws.
    let mut rng = StdRng::seed_from_u64(0);
    let mut chance = 0.0;
    for _ in 0..5 {
        let data = (0..ql.len() * gl.len()).map(|_| rng.random::<f32>()).collect();
        let random = Matrix::from_vec(ql.len(), gl.len(), data).unwrap();
        chance += evaluate(&random, &ql, &gl).unwrap().map / 5.0;
    }
    println!(
        "histogram baseline on {} queries x {} gallery: mAP {:.3}, rank-1 {:.3}, rank-5 {:.3}; chance mAP {:.3}",
        ql.len(),
        gl.len(),
        result.map,
        result.rank(1),
        result.rank(5),
        chance
    );
    assert_eq!(result.num_valid_queries, ql.len());
    assert!(result.map > 5.0 * chance, "mAP {:.3} is not clearly above chance {chance:.3}", result.map);
    assert!((0.15..0.6).contains(&result.map), "mAP {:.3} outside the intended difficulty band 0.15..0.6", result.map);
    assert!(result.rank(1) < 0.9, "rank-1 {:.3}: identity is too easy", result.rank(1));
}

// ---------------------------------------------------------------------------------------------------------
// The renderer's box

const SENTINEL: Rgb<u8> = Rgb([255, 0, 255]);

fn changed_outside(image: &RgbImage, rect: Rect) -> usize {
    image
        .enumerate_pixels()
        .filter(|(x, y, p)| {
            let inside = i64::from(*x) >= i64::from(rect.x)
                && i64::from(*x) < i64::from(rect.x) + i64::from(rect.width)
                && i64::from(*y) >= i64::from(rect.y)
                && i64::from(*y) < i64::from(rect.y) + i64::from(rect.height);
            !inside && **p != SENTINEL
        })
        .count()
}

fn changed(image: &RgbImage) -> usize {
    image.pixels().filter(|p| **p != SENTINEL).count()
}

#[test]
fn person_is_drawn_inside_its_box_only() {
    let camera = Camera::new(0, 1);
    for pid in 1..=12 {
        let identity = Identity::new(0, pid);
        for view in Viewpoint::ALL {
            let pose = Pose::new(view, pid as f32);
            let mut canvas = RgbImage::from_pixel(120, 160, SENTINEL);
            // A narrow box: arms and bags would stick out if not clipped.
            let rect = Rect::new(40, 20, 24, 100);
            render_person(&identity, &camera, &pose, &mut canvas, rect);
            assert_eq!(changed_outside(&canvas, rect), 0, "pid {pid} {view:?} drew outside its box");
            assert!(changed(&canvas) > 24 * 100 / 4, "pid {pid} {view:?} drew too little");
        }
    }
}

#[test]
fn boxes_sticking_out_are_clamped() {
    let identity = Identity::new(3, 3);
    let camera = Camera::new(3, 2);
    let pose = Pose::new(Viewpoint::Front, 0.3);
    let lighting = Lighting::NEUTRAL;
    let occlusion = Occlusion::Side { left: true, fraction: 0.3, color: [0.2, 0.3, 0.4] };
    for rect in [
        Rect::new(-30, -50, 60, 120),
        Rect::new(90, 100, 60, 120),
        Rect::new(-1000, -1000, 5000, 5000),
        Rect::new(i32::MAX - 10, i32::MAX - 10, u32::MAX, u32::MAX),
        Rect::new(i32::MIN, i32::MIN, 10, 10),
        Rect::new(10, 10, 0, 0),
        Rect::new(10, 10, 3, 3),
    ] {
        let mut canvas = RgbImage::from_pixel(100, 140, SENTINEL);
        render_person(&identity, &camera, &pose, &mut canvas, rect);
        render_occlusion(&occlusion, &lighting, &mut canvas, rect);
        apply_sensor(&camera, &mut canvas, rect, 1);
        assert_eq!(changed_outside(&canvas, rect), 0, "{rect:?}");
    }
    let mut canvas = RgbImage::from_pixel(100, 140, SENTINEL);
    render_person(&identity, &camera, &pose, &mut canvas, Rect::new(-30, -50, 60, 120));
    assert!(changed(&canvas) > 100, "the visible part of a box sticking out is drawn");
    // Empty images are fine too.
    let mut empty = RgbImage::new(0, 0);
    render_background(&camera, &mut empty, 0);
    render_person(&identity, &camera, &pose, &mut empty, Rect::new(0, 0, 10, 10));
}

#[test]
fn several_people_on_a_large_frame() {
    // What a live source does: the camera's scene once, then people at any boxes.
    let camera = Camera::new(9, 1);
    let mut frame = RgbImage::new(640, 360);
    render_background(&camera, &mut frame, 42);
    let before = frame.clone();
    let boxes = [Rect::new(50, 100, 80, 200), Rect::new(300, 60, 120, 280), Rect::new(560, 200, 100, 200)];
    for (i, rect) in boxes.iter().enumerate() {
        let pose = Pose::new(Viewpoint::ALL[i % 4], i as f32);
        render_person(&Identity::new(9, i as u32 + 1), &camera, &pose, &mut frame, *rect);
    }
    for (x, y, p) in frame.enumerate_pixels() {
        let inside = boxes.iter().any(|r| {
            (x as i32) >= r.x
                && (x as i32) < r.x + r.width as i32
                && (y as i32) >= r.y
                && (y as i32) < r.y + r.height as i32
        });
        if !inside {
            assert_eq!(*p, *before.get_pixel(x, y));
        }
    }
    assert_ne!(frame, before);
}

/// Writes `/tmp/persons_preview.png` (or `$PERSONS_PREVIEW`): identities (rows) in every camera (columns).
#[test]
#[ignore = "writes a preview image for a visual check"]
fn write_preview() {
    let path = std::env::var("PERSONS_PREVIEW").unwrap_or_else(|_| "/tmp/persons_preview.png".to_owned());
    let spec = DatasetSpec { cameras: 6, ..DatasetSpec::default() };
    let sheet = render_preview(&spec, 8);
    // Upscaled 3x (nearest) so that details are visible.
    let big =
        image::imageops::resize(&sheet, sheet.width() * 3, sheet.height() * 3, image::imageops::FilterType::Nearest);
    big.save(&path).unwrap();
    println!("wrote {path}");
}
