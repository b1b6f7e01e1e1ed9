//! `reid embed` on bad input: a clear error naming the file or folder, a non-zero exit, no panic.

use std::process::Command;

fn reid(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reid")).args(args).output().expect("run reid");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_truncated_model_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("half.onnx");
    // The first bytes of a protobuf that claims a longer field than the file holds.
    std::fs::write(&model, [0x08, 0x07, 0x12, 0x40, b'r', b'e']).unwrap();
    let images = dir.path().join("imgs");
    std::fs::create_dir(&images).unwrap();
    std::fs::write(images.join("a.png"), b"not decoded before the model opens").unwrap();
    let out = dir.path().join("out.json");
    let (ok, err) =
        reid(&["embed", "-m", model.to_str().unwrap(), "-i", images.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("half.onnx"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists());
}

#[test]
fn a_missing_model_and_flag_misuse_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    std::fs::write(dir.path().join("a.png"), b"x").unwrap();
    let (ok, err) = reid(&["embed", "-m", "/nonexistent/model.onnx", "-i", d, "-o", "/tmp/x.json"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/model.onnx"), "{err}");
    let (ok, err) = reid(&["embed", "-m", "m.onnx", "-i", d, "-o", "x.json", "--height", "64"]);
    assert!(!ok, "--height needs --width");
    assert!(err.contains("--width"), "{err}");
}

/// A tiny TransReID ViT with a 3-camera SIE table (input 64 x 32), exported to `dir/name`; `sie` false exports
/// the same network without the table.
fn vit_model(dir: &std::path::Path, name: &str, sie: bool) -> std::path::PathBuf {
    use reid_models::backbone::vit::{SieConfig, VitConfig};
    use reid_models::export::{ExportOptions, export_onnx};
    let mut vit = VitConfig::tiny([64, 32], [12, 12]);
    vit.sie = SieConfig { cameras: if sie { 3 } else { 0 }, views: 0, coe: 3.0 };
    let config = reid_models::ReidConfig {
        backbone: reid_models::config::BackboneConfig::Vit(vit),
        feat_dim: 64,
        neck: reid_models::Neck::Bnneck,
        neck_feat: reid_models::NeckFeat::After,
        num_classes: 4,
        input_channels: 3,
        input_height: 64,
        input_width: 32,
        jpm: Some(Default::default()),
    };
    let model = reid_models::ReidModel::new(&config, &burn::tensor::Device::flex()).unwrap();
    let opts = ExportOptions {
        backbone_name: "vit_base_patch16_224_TransReID".into(),
        pixel_mean: [0.5; 3],
        pixel_std: [0.5; 3],
        l2_normalize: false,
    };
    let path = dir.join(name);
    export_onnx(&model, &config, &opts, &path).unwrap();
    path
}

/// The rows of a TAO JSON by file name.
fn rows(path: &std::path::Path) -> std::collections::BTreeMap<String, Vec<f32>> {
    let set = reid_runtime::embeddings::read_tao_json(path).unwrap();
    let names = set.paths.iter().map(|p| p.rsplit('/').next().unwrap().to_owned());
    names.enumerate().map(|(i, n)| (n, set.embeddings.row(i).to_vec())).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn a_camera_model_takes_cameras_from_market_names_or_the_camera_flag() {
    let dir = tempfile::tempdir().unwrap();
    let model = vit_model(dir.path(), "sie.onnx", true);
    let images = dir.path().join("market");
    std::fs::create_dir(&images).unwrap();
    // The same picture under cameras c1, c2, c3: only the camera differs.
    let picture =
        image::RgbImage::from_fn(32, 64, |x, y| image::Rgb([(x * 8) as u8, (y * 4) as u8, ((x + y) * 3) as u8]));
    for c in 1..=3 {
        picture.save(images.join(format!("0001_c{c}s1_000100_01.png"))).unwrap();
    }
    let (m, i) = (model.to_str().unwrap(), images.to_str().unwrap());
    // `reid embed` with tract on the images into `out`, plus `extra` flags.
    let embed = |model: &str, out: &std::path::Path, extra: &[&str]| {
        let mut args = vec!["embed", "-m", model, "-i", i, "-o", out.to_str().unwrap(), "--engine", "tract"];
        args.extend_from_slice(extra);
        reid(&args)
    };
    let by_name = dir.path().join("names.json");
    let (ok, err) = embed(m, &by_name, &[]);
    assert!(ok, "{err}");
    assert!(err.contains("camera input `camera` (3 cameras; from the file names)"), "{err}");
    let named = rows(&by_name);
    let mut fixed = Vec::new();
    for id in 0..3 {
        let out = dir.path().join(format!("camera{id}.json"));
        let (ok, err) = embed(m, &out, &["--camera", &id.to_string()]);
        assert!(ok, "{err}");
        fixed.push(rows(&out));
    }
    for c in 1..=3usize {
        let name = format!("0001_c{c}s1_000100_01.png");
        // c{c} is SIE camera c - 1: equal to --camera c-1 for that file, unlike the other ids.
        for (id, rows) in fixed.iter().enumerate() {
            let d = max_diff(&named[&name], &rows[&name]);
            if id == c - 1 {
                assert!(d < 1e-6, "{name} vs --camera {id}: {d}");
            } else {
                assert!(d > 1e-3, "{name} vs --camera {id}: the camera made no difference ({d})");
            }
        }
        // --camera gives every file the same camera: the same picture gives the same row.
        assert!(max_diff(&fixed[0][&name], &fixed[0]["0001_c1s1_000100_01.png"]) < 1e-6);
    }

    // A camera model: a name that is not Market-1501 without --camera, a camera beyond the table, a bad flag.
    picture.save(images.join("crop.png")).unwrap();
    let out = dir.path().join("x.json");
    let (ok, err) = embed(m, &out, &[]);
    assert!(!ok && err.contains("crop.png") && err.contains("--camera"), "{err}");
    assert!(!err.contains("panicked") && !out.exists(), "{err}");
    std::fs::remove_file(images.join("crop.png")).unwrap();
    picture.save(images.join("0002_c4s1_000100_01.png")).unwrap();
    let (ok, err) = embed(m, &out, &[]);
    assert!(!ok && err.contains("0002_c4s1_000100_01.png") && err.contains("3 cameras"), "{err}");
    let (ok, err) = embed(m, &out, &["--camera", "3"]);
    assert!(!ok && err.contains("--camera 3") && err.contains("sie.onnx"), "{err}");

    // A model without a camera input ignores --camera, with a warning.
    let plain = vit_model(dir.path(), "plain.onnx", false);
    let (ok, err) = embed(plain.to_str().unwrap(), &out, &["--camera", "1"]);
    assert!(ok, "{err}");
    assert!(err.contains("--camera 1 is not used") && err.contains("plain.onnx"), "{err}");
}
