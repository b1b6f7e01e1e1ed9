//! Dataset format: file-name grammar, split loading, layout detection, labelling and the dataset check.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use reid_eval::metrics::Label;
use reid_eval::progress::Progress;
use reid_runtime::dataset::{
    CheckOptions, DatasetError, Identity, LabelSource, Labeler, Layout, MarketName, NameError, SplitKind,
    check_dataset, check_dataset_with_progress, detect_layout, load_split, open_dataset, parse_market_name,
};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------------------------------
// Fixtures

/// Creates an empty file (and its folders) at `root/rel`; contents only matter when decoding.
fn touch(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"").unwrap();
    path
}

/// Writes a real image of the given size; the format follows the extension.
fn write_image(root: &Path, rel: &str, width: u32, height: u32) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(width, height, image::Rgb([120, 60, 30])).save(&path).unwrap();
    path
}

fn mkdir(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    fs::create_dir_all(&path).unwrap();
    path
}

/// A small Market-1501 tree whose report is computable by hand (see `report_counts_on_market_tree`).
fn market_tree() -> TempDir {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    for name in [
        "0001_c1s1_000001_00.jpg",
        "0001_c2s1_000002_00.jpg",
        "0002_c1s1_000003_00.jpg",
        "0007_c3s1_000004_00.jpg",
        "-1_c1s1_000005_00.jpg",
        "Thumbs.db",
    ] {
        touch(root, &format!("bounding_box_train/{name}"));
    }
    for name in
        ["0005_c1s1_000001_00.jpg", "0006_c2s1_000001_00.jpg", "0007_c1s1_000001_00.jpg", "0008_c1s1_000001_00.jpg"]
    {
        touch(root, &format!("query/{name}"));
    }
    for name in [
        "0005_c1s1_000010_00.jpg",
        "0005_c1s1_000011_00.jpg",
        "0006_c1s1_000010_00.jpg",
        "0007_c2s1_000010_00.jpg",
        "0000_c3s1_000010_00.jpg",
        "0000_c1s1_000011_00.jpg",
        "-1_c1s1_000012_00.jpg",
        "-1_c2s1_000013_00.jpg",
        "Thumbs.db",
    ] {
        touch(root, &format!("bounding_box_test/{name}"));
    }
    tmp
}

fn names(records: &[reid_runtime::dataset::ImageRecord]) -> Vec<String> {
    records.iter().map(|record| record.path.file_name().unwrap().to_string_lossy().into_owned()).collect()
}

// ---------------------------------------------------------------------------------------------------------
// File-name grammar

#[test]
fn parses_full_market_name() {
    let name = parse_market_name("0002_c1s1_000451_03.jpg").unwrap();
    assert_eq!(name, MarketName { pid: 2, camera: 1, sequence: Some(1), frame: Some(451), bbox: Some(3) });
    assert!(!name.is_junk());
    assert!(!name.is_distractor());
}

#[test]
fn parses_junk_and_distractor() {
    let junk = parse_market_name("-1_c1s1_000401_03.jpg").unwrap();
    assert_eq!(junk.pid, -1);
    assert!(junk.is_junk());
    let distractor = parse_market_name("0000_c6s4_002202_01.jpg").unwrap();
    assert_eq!(distractor, MarketName { pid: 0, camera: 6, sequence: Some(4), frame: Some(2202), bbox: Some(1) });
    assert!(distractor.is_distractor());
}

#[test]
fn parses_short_and_suffixed_names() {
    let short = parse_market_name("0001_c2.jpg").unwrap();
    assert_eq!(short, MarketName { pid: 1, camera: 2, sequence: None, frame: None, bbox: None });
    let duke = parse_market_name("0001_c2_f0046182.jpg").unwrap();
    assert_eq!(duke, MarketName { pid: 1, camera: 2, sequence: None, frame: None, bbox: None });
    let msmt = parse_market_name("1041_c15_0003_0001.png").unwrap();
    assert_eq!((msmt.pid, msmt.camera, msmt.sequence), (1041, 15, None));
    assert_eq!(parse_market_name("1501_c6s4_002202_01.jpg").unwrap().pid, 1501);
}

#[test]
fn image_extensions_are_case_insensitive() {
    for name in
        ["0001_c1.jpg", "0001_c1.JPG", "0001_c1.jpeg", "0001_c1.JpEg", "0001_c1.png", "0001_c1.PNG", "0001_c1.bmp"]
    {
        assert_eq!(parse_market_name(name).unwrap().pid, 1, "{name}");
    }
}

#[test]
fn malformed_names_say_what_is_wrong() {
    let cases: Vec<(&str, NameError, &str)> = vec![
        ("abc_c1s1_000451_03.jpg", NameError::PidNotInteger { part: "abc".into() }, "pid part `abc` is not an integer"),
        ("+5_c1.jpg", NameError::PidNotInteger { part: "+5".into() }, "pid part `+5` is not an integer"),
        ("-_c1.jpg", NameError::PidNotInteger { part: "-".into() }, "pid part `-` is not an integer"),
        ("--1_c1.jpg", NameError::PidNotInteger { part: "--1".into() }, "pid part `--1` is not an integer"),
        ("٣_c1.jpg", NameError::PidNotInteger { part: "٣".into() }, "pid part `٣` is not an integer"),
        ("0001.jpg", NameError::MissingCamera { found: String::new() }, "missing `_c<camera>` after the pid"),
        (
            "0001_x1.jpg",
            NameError::MissingCamera { found: "_x1".into() },
            "missing `_c<camera>` after the pid (found `_x1`)",
        ),
        ("0001_ç1.jpg", NameError::MissingCamera { found: "_ç1".into() }, "(found `_ç1`)"),
        ("-7_c1.jpg", NameError::NegativePid { part: "-7".into() }, "pid -7 is negative: only -1 (junk) is allowed"),
        ("-0_c1.jpg", NameError::NegativePid { part: "-0".into() }, "pid -0 is negative"),
        (
            "0001_c1s1_000451_03.txt",
            NameError::NotImage { ext: "txt".into() },
            "extension `.txt` is not an image extension",
        ),
        ("0001_c1", NameError::NoExtension, "no file extension"),
        ("", NameError::NoExtension, "no file extension"),
        (".jpg", NameError::EmptyStem, "nothing before the extension"),
        ("_c1.jpg", NameError::EmptyPid, "pid part is empty"),
        (
            "99999999999_c1.jpg",
            NameError::OutOfRange { what: "pid", part: "99999999999".into() },
            "pid `99999999999` is out of range",
        ),
        (
            "0001_c99999999999.jpg",
            NameError::OutOfRange { what: "camera", part: "99999999999".into() },
            "camera `99999999999` is out of range",
        ),
        ("0001_cX.jpg", NameError::CameraNotInteger { part: "cX".into() }, "camera part `cX` has no number after `c`"),
        ("0001_c.jpg", NameError::CameraNotInteger { part: "c".into() }, "camera part `c` has no number"),
        ("0001_c١.jpg", NameError::CameraNotInteger { part: "c١".into() }, "has no number after `c`"),
        (
            "0001_c1x.jpg",
            NameError::UnexpectedAfterCamera { camera: "1".into(), rest: "x".into() },
            "unexpected `x` after camera `c1`",
        ),
        ("0001_c1s1_000451.jpg", NameError::BadSequence { part: "s1_000451".into() }, "sequence part `s1_000451`"),
        (
            "0001_c1s1_000451_03_extra.jpg",
            NameError::BadSequence { part: "s1_000451_03_extra".into() },
            "is not `s<seq>_<frame>_<bbox>`",
        ),
        (
            "0001_c1sX_000451_03.jpg",
            NameError::BadSequence { part: "sX_000451_03".into() },
            "sequence part `sX_000451_03`",
        ),
        ("0001_c1s1_0004a1_03.jpg", NameError::BadSequence { part: "s1_0004a1_03".into() }, "sequence part"),
        ("0001_c1s_000451_03.jpg", NameError::BadSequence { part: "s_000451_03".into() }, "sequence part"),
        (
            "0001_c1s99999999999_000451_03.jpg",
            NameError::OutOfRange { what: "sequence", part: "99999999999".into() },
            "sequence `99999999999` is out of range",
        ),
        (
            "0001_c1s1_000451_99999999999.jpg",
            NameError::OutOfRange { what: "bbox", part: "99999999999".into() },
            "bbox `99999999999` is out of range",
        ),
        ("0001_c2_.jpg", NameError::EmptySuffix { camera: "2".into() }, "empty suffix after `_c2_`"),
    ];
    for (name, expected, message) in cases {
        let err = parse_market_name(name).expect_err(name);
        assert_eq!(err, expected, "{name}");
        let text = err.to_string();
        assert!(text.contains(message), "{name}: `{text}` does not contain `{message}`");
    }
}

#[test]
fn grammar_never_panics() {
    let seeds = ["0002_c1s1_000451_03.jpg", "-1_c1s1_000401_03.jpg", "0001_c2_f0046182.jpg", "0001_c2.png"];
    let inserts = ["", "_", "-", ".", "s", "c", "9", "99999999999", "é", "٣", "😀", "\u{0}", " "];
    let mut tried = 0;
    for seed in seeds {
        let chars: Vec<char> = seed.chars().collect();
        for cut in 0..=chars.len() {
            let (head, tail): (String, String) = (chars[..cut].iter().collect(), chars[cut..].iter().collect());
            for insert in inserts {
                for candidate in [
                    format!("{head}{insert}{tail}"),
                    format!("{head}{insert}"),
                    format!("{insert}{tail}"),
                    format!("{head}{insert}{}", tail.chars().skip(1).collect::<String>()),
                ] {
                    let _ = parse_market_name(&candidate);
                    tried += 1;
                }
            }
        }
    }
    let _ = parse_market_name(&"9".repeat(10_000));
    let _ = parse_market_name(&format!("0001_c{}.jpg", "1".repeat(10_000)));
    assert!(tried > 1000);
}

// ---------------------------------------------------------------------------------------------------------
// Splits

#[test]
fn market_split_drops_junk_keeps_distractors_ignores_non_images() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("query");
    for name in [
        "0002_c2s1_000100_01.jpg",
        "0002_c1s1_000451_03.jpg",
        "0000_c3s1_000001_00.jpg",
        "-1_c1s1_000401_03.jpg",
        "-1_c4s1_000402_03.jpg",
        "Thumbs.db",
        ".DS_Store",
        "._0003_c1s1_000001_00.jpg",
    ] {
        touch(&dir, name);
    }
    mkdir(&dir, "stray");
    let split = load_split(&dir, Layout::Market, false).unwrap();
    assert_eq!(split.dir, dir);
    assert_eq!(
        names(&split.records),
        ["0000_c3s1_000001_00.jpg", "0002_c1s1_000451_03.jpg", "0002_c2s1_000100_01.jpg"]
    );
    assert_eq!(split.junk_dropped, 2);
    assert_eq!(split.ignored_files, 4, "Thumbs.db, .DS_Store, the AppleDouble file and the stray folder");
    assert!(split.skipped.is_empty());
    let distractor = &split.records[0];
    assert_eq!(distractor.identity, Identity::Id(0));
    assert_eq!(distractor.camera, Some(3));
    let record = &split.records[1];
    assert_eq!(record.path, dir.join("0002_c1s1_000451_03.jpg"));
    assert_eq!(record.identity, Identity::Id(2));
    assert_eq!((record.camera, record.sequence, record.frame), (Some(1), Some(1), Some(451)));
}

#[test]
fn strict_split_fails_on_first_bad_name_naming_it() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("query");
    touch(&dir, "0001_c1s1_000001_00.jpg");
    touch(&dir, "zzz_c1.jpg");
    touch(&dir, "abc_c1.jpg");
    let err = load_split(&dir, Layout::Market, false).unwrap_err();
    let DatasetError::BadFile(bad) = &err else { panic!("unexpected error {err:?}") };
    assert_eq!(bad.path, dir.join("abc_c1.jpg"), "the first bad file in path order");
    let message = err.to_string();
    assert!(message.contains(&dir.join("abc_c1.jpg").display().to_string()), "{message}");
    assert!(message.contains("pid part `abc` is not an integer"), "{message}");
}

#[test]
fn lenient_split_skips_and_lists_bad_names() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("query");
    touch(&dir, "0001_c1s1_000001_00.jpg");
    touch(&dir, "abc_c1.jpg");
    touch(&dir, "0002_c1x.png");
    let split = load_split(&dir, Layout::Market, true).unwrap();
    assert_eq!(names(&split.records), ["0001_c1s1_000001_00.jpg"]);
    assert_eq!(split.skipped.len(), 2);
    assert_eq!(split.skipped[0].path, dir.join("0002_c1x.png"));
    assert!(split.skipped[0].reason.contains("unexpected `x` after camera `c1`"), "{}", split.skipped[0].reason);
    assert_eq!(split.skipped[1].path, dir.join("abc_c1.jpg"));
    assert!(split.skipped[1].reason.contains("pid part `abc` is not an integer"));
}

#[test]
fn split_without_images_is_an_error_naming_the_folder() {
    let tmp = TempDir::new().unwrap();
    let dir = mkdir(tmp.path(), "query");
    touch(&dir, "Thumbs.db");
    let err = load_split(&dir, Layout::Market, false).unwrap_err();
    assert!(matches!(err, DatasetError::EmptySplit { ignored_files: 1, junk_dropped: 0, .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");

    touch(&dir, "-1_c1s1_000001_00.jpg");
    let err = load_split(&dir, Layout::Market, false).unwrap_err();
    assert!(matches!(err, DatasetError::EmptySplit { junk_dropped: 1, .. }), "{err:?}");
    assert!(err.to_string().contains("1 junk images dropped"), "{err}");
}

#[test]
fn missing_split_folder_is_an_error_naming_it() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("nowhere");
    let err = load_split(&dir, Layout::Market, true).unwrap_err();
    assert!(matches!(err, DatasetError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");
}

#[test]
fn folders_split_numeric_and_named_identities() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("gallery");
    touch(&dir, "alice/a.jpg");
    touch(&dir, "alice/b.PNG");
    touch(&dir, "alice/notes.txt");
    touch(&dir, "0042/x.jpg");
    touch(&dir, "7/y.bmp");
    touch(&dir, "0/distractor.jpg");
    touch(&dir, "-1/junk.jpg");
    touch(&dir, "README.md");
    mkdir(&dir, "empty_person");
    let split = load_split(&dir, Layout::Folders, false).unwrap();
    let found: Vec<(String, Identity, Option<u32>)> = split
        .records
        .iter()
        .map(|record| {
            let rel = record.path.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/");
            (rel, record.identity.clone(), record.camera)
        })
        .collect();
    assert_eq!(
        found,
        [
            ("0/distractor.jpg".to_owned(), Identity::Id(0), None),
            ("0042/x.jpg".to_owned(), Identity::Id(42), None),
            ("7/y.bmp".to_owned(), Identity::Id(7), None),
            ("alice/a.jpg".to_owned(), Identity::Named("alice".into()), None),
            ("alice/b.PNG".to_owned(), Identity::Named("alice".into()), None),
        ]
    );
    assert_eq!(split.junk_dropped, 1);
    assert_eq!(split.ignored_files, 2, "notes.txt and README.md");
    assert!(split.records.iter().all(|record| record.sequence.is_none() && record.frame.is_none()));
}

#[test]
fn folders_split_rejects_loose_images_and_nested_folders() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path().join("query");
    touch(&dir, "alice/a.jpg");
    touch(&dir, "loose.jpg");
    touch(&dir, "bob/cam1/b.jpg");

    let err = load_split(&dir, Layout::Folders, false).unwrap_err();
    assert!(err.to_string().contains("bob"), "{err}");
    assert!(err.to_string().contains("images must sit directly in their identity folder"), "{err}");

    let split = load_split(&dir, Layout::Folders, true).unwrap();
    assert_eq!(names(&split.records), ["a.jpg"]);
    let skipped: Vec<(&Path, &str)> =
        split.skipped.iter().map(|bad| (bad.path.as_path(), bad.reason.as_str())).collect();
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0].0, dir.join("bob/cam1"));
    assert_eq!(skipped[1], (dir.join("loose.jpg").as_path(), "image is not inside an identity folder"));
}

#[test]
fn identity_from_folder_names() {
    assert_eq!(Identity::from_folder_name("0002"), Identity::Id(2));
    assert_eq!(Identity::from_folder_name("2"), Identity::Id(2));
    assert_eq!(Identity::from_folder_name("-1"), Identity::Id(-1));
    assert_eq!(Identity::from_folder_name("-7"), Identity::Named("-7".into()));
    assert_eq!(Identity::from_folder_name("+7"), Identity::Named("+7".into()));
    assert_eq!(Identity::from_folder_name("99999999999"), Identity::Named("99999999999".into()));
    assert_eq!(Identity::from_folder_name("alice"), Identity::Named("alice".into()));
    assert_eq!(Identity::Id(2).to_string(), "0002");
    assert_eq!(Identity::Named("alice".into()).to_string(), "alice");
}

// ---------------------------------------------------------------------------------------------------------
// Dataset roots

#[test]
fn detects_market_root_with_and_without_train() {
    let tmp = market_tree();
    let dataset = open_dataset(tmp.path(), false).unwrap();
    assert_eq!(dataset.layout, Layout::Market);
    assert_eq!(dataset.train.as_ref().map(|train| train.records.len()), Some(4));
    assert_eq!(dataset.query.records.len(), 4);
    assert_eq!(dataset.gallery.records.len(), 6);
    assert_eq!(dataset.gallery.dir, tmp.path().join("bounding_box_test"));
    assert_eq!(
        dataset.splits().iter().map(|(kind, _)| *kind).collect::<Vec<_>>(),
        [SplitKind::Train, SplitKind::Query, SplitKind::Gallery]
    );

    fs::remove_dir_all(tmp.path().join("bounding_box_train")).unwrap();
    let dataset = open_dataset(tmp.path(), false).unwrap();
    assert_eq!(dataset.layout, Layout::Market);
    assert!(dataset.train.is_none());
}

#[test]
fn detects_folders_root_with_gallery_or_test() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    touch(root, "train/carol/1.jpg");
    touch(root, "query/alice/1.jpg");
    touch(root, "gallery/alice/2.jpg");
    let dataset = open_dataset(root, false).unwrap();
    assert_eq!(dataset.layout, Layout::Folders);
    assert_eq!(dataset.gallery.dir, root.join("gallery"));
    assert_eq!(dataset.train.as_ref().unwrap().records[0].identity, Identity::Named("carol".into()));

    fs::rename(root.join("gallery"), root.join("test")).unwrap();
    let dirs = detect_layout(root).unwrap();
    assert_eq!(dirs.layout, Layout::Folders);
    assert_eq!(dirs.gallery, root.join("test"));
    assert_eq!(dirs.train, Some(root.join("train")));

    mkdir(root, "gallery");
    let err = open_dataset(root, false).unwrap_err();
    assert!(matches!(err, DatasetError::AmbiguousGallery { .. }), "{err:?}");
    assert!(err.to_string().contains(&root.display().to_string()), "{err}");
}

#[test]
fn unknown_root_lists_what_was_expected_and_found() {
    let tmp = TempDir::new().unwrap();
    mkdir(tmp.path(), "Market-1501-v15.09.15");
    mkdir(tmp.path(), "query");
    let err = open_dataset(tmp.path(), false).unwrap_err();
    let DatasetError::UnknownLayout { root, found } = &err else { panic!("unexpected error {err:?}") };
    assert_eq!(root, tmp.path());
    assert_eq!(found, &["Market-1501-v15.09.15", "query"]);
    let message = err.to_string();
    let root_text = tmp.path().display().to_string();
    for expected in [
        root_text.as_str(),
        "`bounding_box_test`",
        "`bounding_box_train`",
        "`gallery`",
        "`test`",
        "`Market-1501-v15.09.15`",
    ] {
        assert!(message.contains(expected), "`{message}` lacks {expected}");
    }
}

#[test]
fn missing_or_file_root_is_named() {
    let tmp = TempDir::new().unwrap();
    let missing = tmp.path().join("missing");
    let err = open_dataset(&missing, false).unwrap_err();
    assert!(err.to_string().contains(&missing.display().to_string()), "{err}");
    let file = touch(tmp.path(), "file.txt");
    let err = open_dataset(&file, false).unwrap_err();
    assert!(matches!(err, DatasetError::NotAFolder { .. }), "{err:?}");
    assert!(err.to_string().contains(&file.display().to_string()), "{err}");
}

#[test]
fn strict_open_fails_on_a_bad_name_lenient_goes_on() {
    let tmp = market_tree();
    let bad = touch(tmp.path(), "bounding_box_test/0005_c1s1_0000xx_00.jpg");
    let err = open_dataset(tmp.path(), false).unwrap_err();
    assert!(err.to_string().contains(&bad.display().to_string()), "{err}");
    let dataset = open_dataset(tmp.path(), true).unwrap();
    assert_eq!(dataset.gallery.records.len(), 6);
    assert_eq!(dataset.gallery.skipped.len(), 1);
    assert_eq!(dataset.gallery.skipped[0].path, bad);
}

// ---------------------------------------------------------------------------------------------------------
// Labelling

#[test]
fn labeler_agrees_across_query_and_gallery_calls() {
    let mut labeler = Labeler::new();
    let query = ["/data/market/query/0002_c1s1_000451_03.jpg", "/data/market/query/0005_c2s1_000001_00.jpg"];
    let gallery = [
        "/data/market/bounding_box_test/0005_c3s1_000100_00.jpg",
        "/data/market/bounding_box_test/-1_c1s1_000401_03.jpg",
        "/data/market/bounding_box_test/0000_c1s1_000001_00.jpg",
        "/data/market/bounding_box_test/0002_c4s1_000200_01.jpg",
    ];
    let q = labeler.label_paths(&query, LabelSource::Market, false).unwrap();
    let g = labeler.label_paths(&gallery, LabelSource::Market, false).unwrap();
    assert_eq!(q.labels, [Label::new(0, Some(1)), Label::new(1, Some(2))]);
    assert_eq!(q.kept, [0, 1]);
    assert_eq!(g.labels, [Label::new(1, Some(3)), Label::new(2, Some(1)), Label::new(0, Some(4))]);
    assert_eq!(g.kept, [0, 2, 3], "junk at index 1 is dropped");
    assert_eq!(g.junk_dropped, 1);
    assert!(g.skipped.is_empty());
    assert_eq!(labeler.len(), 3);
    assert_eq!(labeler.identity_name(0), "0002");
    assert_eq!(labeler.identity_name(2), "0000");
    assert_eq!(labeler.identity(1), Some(&Identity::Id(5)));

    let q = labeler.label_paths(&["q/alice/1.jpg", "q/bob/2.jpg"], LabelSource::Folders, false).unwrap();
    let g =
        labeler.label_paths(&["g/bob/9.jpg", "g/alice/8.jpg", "g/0005/x.jpg"], LabelSource::Folders, false).unwrap();
    assert_eq!(q.labels, [Label::new(3, None), Label::new(4, None)]);
    assert_eq!(g.labels, [Label::new(4, None), Label::new(3, None), Label::new(1, None)]);
    assert_eq!(labeler.identity_name(3), "alice");
    assert_eq!(labeler.identity_name(99), "<unknown id 99>");
}

#[test]
fn labeler_folders_source_takes_parent_folder() {
    let mut labeler = Labeler::new();
    let paths = [r"C:\data\gallery\carol\001.jpg", "/data/gallery/-1/x.jpg", "/data/gallery/dave//y.jpg", "lonely.jpg"];
    let err = labeler.label_paths(&paths, LabelSource::Folders, false).unwrap_err();
    assert!(err.to_string().contains("lonely.jpg"), "{err}");
    assert!(err.to_string().contains("no parent folder"), "{err}");

    let mut labeler = Labeler::new();
    let out = labeler.label_paths(&paths, LabelSource::Folders, true).unwrap();
    assert_eq!(out.kept, [0, 2]);
    assert_eq!(out.junk_dropped, 1);
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].path, Path::new("lonely.jpg"));
    assert_eq!(labeler.identity_name(out.labels[0].pid), "carol");
    assert_eq!(labeler.identity_name(out.labels[1].pid), "dave");
}

#[test]
fn labeler_auto_detects_market_folders_and_refuses_mixed() {
    let mut labeler = Labeler::new();
    let market = labeler
        .label_paths(&["x/query/0001_c1s1_000001_00.jpg", "x/query/-1_c2s1_000001_00.jpg"], LabelSource::Auto, false)
        .unwrap();
    assert_eq!(market.labels, [Label::new(0, Some(1))]);
    assert_eq!(market.junk_dropped, 1);

    let folders = labeler.label_paths(&["x/alice/img1.jpg", "x/0001/img2.jpg"], LabelSource::Auto, false).unwrap();
    assert_eq!(folders.labels, [Label::new(1, None), Label::new(0, None)], "folder 0001 is pid 1 from the first call");

    let mixed = ["x/query/0001_c1s1_000001_00.jpg", "x/alice/img1.jpg", "x/bob/img2.jpg"];
    let err = labeler.label_paths(&mixed, LabelSource::Auto, true).unwrap_err();
    let DatasetError::MixedLabels { path, market_example, .. } = &err else { panic!("unexpected error {err:?}") };
    assert_eq!(path, "x/alice/img1.jpg");
    assert_eq!(market_example, "x/query/0001_c1s1_000001_00.jpg");
    assert!(err.to_string().contains("x/alice/img1.jpg"), "{err}");
}

#[test]
fn labeler_strict_and_lenient_market_names() {
    let paths = ["q/0001_c1s1_000001_00.jpg", "q/oops.jpg", "q/0002_c2s1_000001_00.jpg"];
    let err = Labeler::new().label_paths(&paths, LabelSource::Market, false).unwrap_err();
    let DatasetError::BadFile(bad) = &err else { panic!("unexpected error {err:?}") };
    assert_eq!(bad.path, Path::new("q/oops.jpg"));
    assert!(err.to_string().contains("q/oops.jpg"), "{err}");
    assert!(err.to_string().contains("missing `_c<camera>` after the pid") || err.to_string().contains("pid part"));

    let out = Labeler::new().label_paths(&paths, LabelSource::Market, true).unwrap();
    assert_eq!(out.kept, [0, 2]);
    assert_eq!(out.labels, [Label::new(0, Some(1)), Label::new(1, Some(2))]);
    assert_eq!(out.skipped.len(), 1);
    assert!(out.skipped[0].reason.contains("pid part `oops` is not an integer"), "{}", out.skipped[0].reason);
}

#[test]
fn labeler_labels_loaded_records_consistently_with_paths() {
    let tmp = market_tree();
    let dataset = open_dataset(tmp.path(), false).unwrap();
    let mut labeler = Labeler::new();
    let query = labeler.label_records(&dataset.query.records).unwrap();
    let gallery = labeler.label_records(&dataset.gallery.records).unwrap();
    assert_eq!(query.len(), 4);
    assert_eq!(gallery.len(), 6);
    // Gallery records sorted by path: 0000_c1, 0000_c3, 0005_c1, 0005_c1, 0006_c1, 0007_c2.
    assert_eq!(gallery[2].pid, query[0].pid, "pid 5 agrees");
    assert_eq!(gallery[5], Label::new(query[2].pid, Some(2)), "pid 7 agrees");
    let gallery_paths: Vec<String> =
        dataset.gallery.records.iter().map(|record| record.path.to_string_lossy().into_owned()).collect();
    let from_paths = labeler.label_paths(&gallery_paths, LabelSource::Auto, false).unwrap();
    assert_eq!(from_paths.labels, gallery);
}

#[test]
fn label_source_parses_from_text() {
    assert_eq!("auto".parse::<LabelSource>().unwrap(), LabelSource::Auto);
    assert_eq!("Market".parse::<LabelSource>().unwrap(), LabelSource::Market);
    assert_eq!("folders".parse::<LabelSource>().unwrap(), LabelSource::Folders);
    let err = "cameras".parse::<LabelSource>().unwrap_err();
    assert!(err.to_string().contains("`cameras`"), "{err}");
    assert_eq!(LabelSource::Folders.to_string(), "folders");
}

// ---------------------------------------------------------------------------------------------------------
// The dataset check

#[test]
fn report_counts_on_market_tree() {
    let tmp = market_tree();
    let report = check_dataset(tmp.path(), &CheckOptions::default()).unwrap();
    assert_eq!(report.layout, Layout::Market);
    assert_eq!(report.splits.len(), 3);

    let train = report.split(SplitKind::Train).unwrap();
    assert_eq!((train.images, train.identities, train.junk_dropped, train.distractors), (4, 3, 1, 0));
    assert_eq!(train.ignored_files, 1);
    let cams: Vec<(u32, usize)> = train.cameras.iter().map(|c| (c.camera, c.images)).collect();
    assert_eq!(cams, [(1, 2), (2, 1), (3, 1)]);

    let query = report.split(SplitKind::Query).unwrap();
    assert_eq!((query.images, query.identities, query.junk_dropped, query.distractors), (4, 4, 0, 0));
    let cams: Vec<(u32, usize)> = query.cameras.iter().map(|c| (c.camera, c.images)).collect();
    assert_eq!(cams, [(1, 3), (2, 1)]);

    let gallery = report.split(SplitKind::Gallery).unwrap();
    assert_eq!((gallery.images, gallery.identities, gallery.junk_dropped, gallery.distractors), (6, 3, 2, 2));
    assert_eq!(gallery.ignored_files, 1);
    let cams: Vec<(u32, usize)> = gallery.cameras.iter().map(|c| (c.camera, c.images)).collect();
    assert_eq!(cams, [(1, 4), (2, 1), (3, 1)]);
    assert_eq!(gallery.images_without_camera, 0);
    assert!(gallery.decode.is_none());

    assert_eq!(report.query_identities_missing_from_gallery, ["0008"]);
    let no_match: Vec<String> = report
        .queries_without_valid_match
        .iter()
        .map(|path| Path::new(path).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(no_match, ["0005_c1s1_000001_00.jpg", "0008_c1s1_000001_00.jpg"]);
    assert_eq!(report.train_test_shared_identities, ["0007"]);
    assert_eq!(report.errors(), 0);

    let sep = std::path::MAIN_SEPARATOR;
    assert_eq!(
        report.warnings,
        [
            "1 query identities are absent from the gallery (e.g. 0008)".to_owned(),
            format!("2 query images have no valid gallery match (e.g. query{sep}0005_c1s1_000001_00.jpg)"),
            "1 identities appear in both train and query/gallery (e.g. 0007): a train/test leak".to_owned(),
        ]
    );

    let text = report.to_string();
    assert!(text.contains("Market-1501 layout"), "{text}");
    assert!(
        text.contains(&format!("warning: 2 query images have no valid gallery match (e.g. query{sep}0005")),
        "{text}"
    );
    let gallery_line = text.lines().find(|line| line.starts_with("gallery")).unwrap();
    let cells: Vec<&str> = gallery_line.split_whitespace().collect();
    assert_eq!(cells, ["gallery", "6", "3", "3", "2", "2", "1", "0"], "{text}");
    let camera_line =
        text.lines().find(|line| line.trim_start().starts_with("query") && line.starts_with("  ")).unwrap();
    assert_eq!(camera_line.split_whitespace().collect::<Vec<_>>(), ["query", "3", "1", "0"], "{text}");

    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["layout"], "market");
    assert_eq!(json["splits"][2]["split"], "gallery");
    assert_eq!(json["splits"][2]["distractors"], 2);
    assert_eq!(json["splits"][2]["cameras"][0]["camera"], 1);
    assert_eq!(json["splits"][2]["cameras"][0]["images"], 4);
    assert_eq!(json["train_test_shared_identities"][0], "0007");
    assert_eq!(json["warnings"].as_array().unwrap().len(), 3);
}

#[test]
fn report_strict_fails_lenient_lists_bad_names() {
    let tmp = market_tree();
    let bad = touch(tmp.path(), "query/0009_cam1.jpg");
    let err = check_dataset(tmp.path(), &CheckOptions { lenient: false, decode: false }).unwrap_err();
    assert!(err.to_string().contains(&bad.display().to_string()), "{err}");

    let report = check_dataset(tmp.path(), &CheckOptions { lenient: true, decode: false }).unwrap();
    let query = report.split(SplitKind::Query).unwrap();
    assert_eq!(query.images, 4);
    assert_eq!(query.bad_files.len(), 1);
    assert_eq!(query.bad_files[0].path, bad);
    assert!(
        query.bad_files[0].reason.contains("camera part `cam1` has no number after `c`"),
        "{}",
        query.bad_files[0].reason
    );
    assert!(report.warnings[0].starts_with("1 unusable files skipped in query (e.g. "), "{:?}", report.warnings);
    let text = report.to_string();
    assert!(text.lines().next().unwrap().ends_with("(Market-1501 layout, lenient)"), "{text}");
    let query_line = text.lines().find(|line| line.starts_with("query")).unwrap();
    assert_eq!(query_line.split_whitespace().last(), Some("1"), "one skipped file: {text}");
}

#[test]
fn report_on_folders_counts_unknown_cameras_as_matches() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    touch(root, "train/zed/1.jpg");
    touch(root, "train/alice/1.jpg");
    touch(root, "query/alice/q.jpg");
    touch(root, "query/bob/q.jpg");
    touch(root, "gallery/alice/g.jpg");
    touch(root, "gallery/carol/g.jpg");
    touch(root, "gallery/0/d.jpg");
    let report = check_dataset(root, &CheckOptions::default()).unwrap();
    assert_eq!(report.layout, Layout::Folders);
    let gallery = report.split(SplitKind::Gallery).unwrap();
    assert_eq!((gallery.images, gallery.identities, gallery.distractors), (3, 2, 1));
    assert!(gallery.cameras.is_empty());
    assert_eq!(gallery.images_without_camera, 3);
    assert_eq!(report.query_identities_missing_from_gallery, ["bob"]);
    assert_eq!(report.queries_without_valid_match.len(), 1, "alice matches across unknown cameras; bob has nothing");
    assert!(report.queries_without_valid_match[0].ends_with("q.jpg"));
    assert!(Path::new(&report.queries_without_valid_match[0]).parent().unwrap().ends_with("bob"));
    assert_eq!(report.train_test_shared_identities, ["alice"]);
    let text = report.to_string();
    assert!(!text.contains("images per camera"), "{text}");
    let query_line = text.lines().find(|line| line.starts_with("query")).unwrap();
    assert_eq!(query_line.split_whitespace().collect::<Vec<_>>(), ["query", "2", "2", "-", "0", "0", "0", "0"]);
}

#[derive(Default)]
struct CountingProgress {
    stages: Mutex<Vec<(String, u64)>>,
    advanced: AtomicU64,
}

impl Progress for CountingProgress {
    fn stage(&self, name: &str, total: u64) {
        self.stages.lock().unwrap().push((name.to_owned(), total));
    }
    fn advance(&self, n: u64) {
        self.advanced.fetch_add(n, Ordering::Relaxed);
    }
}

#[test]
fn decode_reports_sizes_and_names_undecodable_files() {
    let tmp = TempDir::new().unwrap();
    let root = tmp.path();
    write_image(root, "query/0001_c1s1_000001_00.jpg", 16, 32);
    write_image(root, "query/0002_c1s1_000001_00.png", 24, 48);
    write_image(root, "bounding_box_test/0001_c2s1_000001_00.jpg", 8, 16);
    write_image(root, "bounding_box_test/0002_c2s1_000001_00.png", 32, 64);
    write_image(root, "bounding_box_test/0002_c3s1_000002_00.bmp", 16, 40);
    let corrupt = root.join("bounding_box_test/0003_c1s1_000001_00.jpg");
    fs::write(&corrupt, b"\xFF\xD8\xFF\xE0 this is not really a jpeg").unwrap();
    let empty = touch(root, "bounding_box_test/0004_c1s1_000001_00.jpg");

    let progress = CountingProgress::default();
    let opts = CheckOptions { lenient: false, decode: true };
    let report = check_dataset_with_progress(root, &opts, &progress).unwrap();
    assert_eq!(*progress.stages.lock().unwrap(), [("decode images".to_owned(), 7)]);
    assert_eq!(progress.advanced.load(Ordering::Relaxed), 7);

    let query = report.split(SplitKind::Query).unwrap().decode.as_ref().unwrap();
    assert_eq!(query.decoded, 2);
    assert!(query.failures.is_empty());
    assert_eq!((query.width.unwrap().min, query.width.unwrap().median, query.width.unwrap().max), (16, 16, 24));

    let gallery = report.split(SplitKind::Gallery).unwrap().decode.as_ref().unwrap();
    assert_eq!(gallery.decoded, 3);
    let width = gallery.width.unwrap();
    let height = gallery.height.unwrap();
    assert_eq!((width.min, width.median, width.max), (8, 16, 32));
    assert_eq!((height.min, height.median, height.max), (16, 40, 64));
    let failed: Vec<&Path> = gallery.failures.iter().map(|bad| bad.path.as_path()).collect();
    assert_eq!(failed, [corrupt.as_path(), empty.as_path()]);
    assert!(gallery.failures.iter().all(|bad| !bad.reason.is_empty()));
    assert_eq!(report.errors(), 2);

    let warning = report.warnings.iter().find(|w| w.contains("could not be decoded")).unwrap();
    assert!(warning.starts_with("2 images in gallery could not be decoded (e.g. "), "{warning}");
    assert!(warning.contains("0003_c1s1_000001_00.jpg"), "{warning}");
    let text = report.to_string();
    assert!(text.contains("error: 2 images could not be decoded"), "{text}");
    assert!(text.contains("8 / 16 / 32"), "{text}");
}
