//! `reid deepstream config`: the written nvinfer config equals the committed golden files (model paths replaced by
//! `<DIR>`), the approximation's numbers and cosine are printed, and bad input (not ONNX, no `reid.*` metadata,
//! an output folder that cannot be made, settings nvinfer refuses) is an error naming what is wrong, never a panic.
//! `REID_BLESS=1` rewrites the golden files.

use reid_runtime::onnx_graph::{self, Attr, Graph};
use std::path::{Path, PathBuf};
use std::process::Command;

fn reid(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reid")).args(args).output().expect("run reid");
    let (stdout, stderr) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert!(!stderr.contains("panicked"), "reid {args:?} panicked:\n{stderr}");
    (out.status.success(), stdout, stderr)
}

/// `input [N,3,16,8] -> Conv 3->4 (1x1) -> Relu -> GlobalAveragePool -> Flatten -> embedding [N,4]`, with
/// `metadata`: small, nonlinear, and as `reid export` lays out a model's input, output and metadata.
fn tiny_model(dir: &Path, name: &str, metadata: &[(&str, &str)]) -> PathBuf {
    let mut g = Graph::default();
    let w: Vec<f32> = (0..12).map(|i| ((i * 5 % 7) as f32 - 3.0) * 0.4).collect();
    let w = g.weight("conv.weight", &[4, 3, 1, 1], &w);
    let b = g.weight("conv.bias", &[4], &[0.1, -0.2, 0.3, 0.05]);
    g.op_into("Conv", &["input", &w, &b], "conv", vec![("kernel_shape", Attr::Ints(vec![1, 1]))]);
    g.op_into("Relu", &["conv"], "relu", vec![]);
    g.op_into("GlobalAveragePool", &["relu"], "pooled", vec![]);
    g.op_into("Flatten", &["pooled"], "embedding", vec![("axis", Attr::Int(1))]);
    let model = g.finish(("input", [3, 16, 8]), ("embedding", 4), onnx_graph::metadata(metadata));
    let path = dir.join(name);
    std::fs::write(&path, onnx_graph::encode(&model)).unwrap();
    path
}

fn imagenet_metadata() -> Vec<(&'static str, &'static str)> {
    vec![
        ("reid.format", "1"),
        ("reid.input_height", "16"),
        ("reid.input_width", "8"),
        ("reid.color", "RGB"),
        ("reid.pixel_scale", "0.00392156862745098"),
        ("reid.pixel_mean", "0.485,0.456,0.406"),
        ("reid.pixel_std", "0.229,0.224,0.225"),
        ("reid.feat_dim", "4"),
        ("reid.l2_normalized", "false"),
        ("reid.resize", "bilinear"),
    ]
}

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deepstream").join(name)
}

/// The written config with the temporary folder replaced by `<DIR>`, compared with (or, with REID_BLESS=1,
/// written to) the golden file `name`.
fn assert_golden(written: &Path, dir: &Path, name: &str) {
    let dir = std::fs::canonicalize(dir).unwrap();
    let text = std::fs::read_to_string(written).unwrap().replace(dir.to_str().unwrap(), "<DIR>");
    if std::env::var_os("REID_BLESS").is_some() {
        std::fs::create_dir_all(golden(name).parent().unwrap()).unwrap();
        std::fs::write(golden(name), &text).unwrap();
    }
    let want = std::fs::read_to_string(golden(name)).unwrap_or_else(|e| panic!("{name}: {e} (REID_BLESS=1 writes it)"));
    assert_eq!(text, want, "{name} differs from the golden file (REID_BLESS=1 rewrites it)");
}

/// The `min` and `mean` of the printed cosine line.
fn cosines(stdout: &str) -> (f64, f64) {
    let line = stdout.lines().find(|l| l.starts_with("embedding cosine")).unwrap_or_else(|| panic!("{stdout}"));
    let num = |key: &str| -> f64 {
        let rest = &line[line.find(key).unwrap() + key.len()..];
        rest.split_whitespace().next().unwrap().parse().unwrap()
    };
    (num(" min "), num(" mean "))
}

#[test]
fn deepstream_config_matches_the_golden_file_and_measures_the_approximation() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_model(dir.path(), "model.onnx", &imagenet_metadata());
    let out = dir.path().join("ds");
    let (ok, stdout, stderr) = reid(&[
        "deepstream",
        "config",
        "-m",
        model.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--samples",
        "6",
        "--engine",
        "tract",
    ]);
    assert!(ok, "{stderr}");
    assert_golden(&out.join("config_infer_secondary_reid.txt"), dir.path(), "imagenet_fp16.txt");
    assert!(stdout.contains("offsets 123.675;116.28;103.53 (mean / scale, exact)"), "{stdout}");
    assert!(stdout.contains("net-scale-factor 0.017321"), "{stdout}");
    assert!(stdout.contains("largest per-pixel deviation of the normalised input: 0.0257"), "{stdout}");
    let (min, mean) = cosines(&stdout);
    assert!(stdout.contains("6 synthetic 64x128 crops (tract)"), "{stdout}");
    assert!(min <= mean && mean <= 1.0 + 1e-12 && min > 0.99, "{stdout}");
    assert!(min < 1.0 - 1e-9, "unequal stds must change the embeddings: {stdout}");

    // Equal stds, BGR, int8, two classes, a relative onnx-file: exact normalisation, cosine 1.
    let mut meta = imagenet_metadata();
    meta[3] = ("reid.color", "BGR");
    meta[6] = ("reid.pixel_std", "0.226,0.226,0.226");
    let model = tiny_model(dir.path(), "bgr.onnx", &meta);
    let calib = dir.path().join("calib.cache");
    std::fs::write(&calib, "TRT-8601-EntropyCalibration2\n").unwrap();
    let (ok, stdout, stderr) = reid(&[
        "deepstream",
        "config",
        "-m",
        model.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--precision",
        "int8",
        "--int8-calib-file",
        calib.to_str().unwrap(),
        "--operate-on-class-ids",
        "0,2",
        "--operate-on-gie-id",
        "3",
        "--gie-unique-id",
        "7",
        "--batch-size",
        "4",
        "--onnx-path",
        "../bgr.onnx",
        "--samples",
        "3",
        "--engine",
        "tract",
    ]);
    assert!(ok, "{stderr}");
    assert_golden(&out.join("config_infer_secondary_reid.txt"), dir.path(), "equal_std_bgr_int8.txt");
    assert!(stdout.contains("(exact: the three stds are equal)"), "{stdout}");
    assert!(stdout.contains("largest per-pixel deviation of the normalised input: 0\n"), "{stdout}");
    let (min, _) = cosines(&stdout);
    assert!(min > 1.0 - 1e-6, "exact normalisation: {stdout}");
}

#[test]
fn deepstream_config_refuses_bad_input_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let good = tiny_model(dir.path(), "model.onnx", &imagenet_metadata());
    let run = |model: &Path, out: &Path, extra: &[&str]| {
        let mut args =
            vec!["deepstream", "config", "-m", model.to_str().unwrap(), "-o", out.to_str().unwrap(), "--samples", "0"];
        args.extend_from_slice(extra);
        reid(&args)
    };

    // Not an ONNX file.
    std::fs::write(d("text.onnx"), "hello, not protobuf").unwrap();
    let (ok, _, err) = run(&d("text.onnx"), &d("o1"), &[]);
    assert!(!ok && err.contains("text.onnx") && err.contains("is not a valid ONNX model"), "{err}");
    let (ok, _, err) = run(&d("absent.onnx"), &d("o1"), &[]);
    assert!(!ok && err.contains("cannot read") && err.contains("absent.onnx"), "{err}");

    // A model with a camera input (TransReID SIE): nvinfer cannot feed it per object.
    let camera = {
        let mut g = Graph::default();
        let w = g.weight("w", &[3 * 16 * 8, 4], &vec![0.01; 3 * 16 * 8 * 4]);
        g.op_into("Flatten", &["input"], "flat", vec![("axis", Attr::Int(1))]);
        g.op_into("MatMul", &["flat", &w], "feature", vec![]);
        let t = g.weight("sie", &[2, 4], &[0.5; 8]);
        g.op_into("Gather", &[&t, "camera"], "side", vec![("axis", Attr::Int(0))]);
        g.op_into("Add", &["feature", "side"], "embedding", vec![]);
        let mut metadata = imagenet_metadata();
        metadata.extend([("reid.camera_input", "camera"), ("reid.sie_cameras", "2")]);
        let inputs = vec![
            onnx_graph::value_info("input", &[None, Some(3), Some(16), Some(8)]),
            onnx_graph::int64_value_info("camera", &[None]),
        ];
        let outputs = vec![onnx_graph::value_info("embedding", &[None, Some(4)])];
        let path = d("camera.onnx");
        std::fs::write(&path, onnx_graph::encode(&g.model(inputs, outputs, onnx_graph::metadata(&metadata)))).unwrap();
        path
    };
    let (ok, _, err) = run(&camera, &d("o5"), &[]);
    assert!(!ok && err.contains("camera.onnx has a camera input `camera`") && err.contains("sie-camera"), "{err}");

    // No `reid.*` metadata: refused, naming the missing key, until the normalisation is given.
    let bare = tiny_model(dir.path(), "bare.onnx", &[]);
    let (ok, _, err) = run(&bare, &d("o2"), &[]);
    assert!(!ok && err.contains("bare.onnx has no `reid.input_height` metadata"), "{err}");
    let (ok, _, err) = run(&bare, &d("o2"), &["--height", "16", "--width", "8"]);
    assert!(!ok && err.contains("no `reid.pixel_mean` metadata") && err.contains("--mean"), "{err}");
    let (ok, _, err) = run(&bare, &d("o2"), &["--height", "16", "--width", "8", "--mean", "0.5,0.5,0.5"]);
    assert!(!ok && err.contains("no `reid.pixel_std` metadata"), "{err}");
    let flags = ["--height", "16", "--width", "8", "--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25"];
    let (ok, stdout, err) = run(&bare, &d("o2"), &flags);
    assert!(ok, "{err}");
    assert!(stdout.contains("net-scale-factor 0.015686275 (exact"), "{stdout}");
    let text = std::fs::read_to_string(d("o2/config_infer_secondary_reid.txt")).unwrap();
    assert!(text.contains("\noffsets=127.5;127.5;127.5\n") && text.contains("\ninfer-dims=3;16;8\n"), "{text}");
    // A size that disagrees with the model's fixed input is refused by the model check.
    let (ok, _, err) = run(&bare, &d("o2"), &["--height", "32", "--width", "8", "--mean", "0,0,0", "--std", "1,1,1"]);
    assert!(!ok && err.contains("fixed height 16"), "{err}");
    // An invalid metadata value is named.
    let mut meta = imagenet_metadata();
    meta[6] = ("reid.pixel_std", "0.229,zero,0.225");
    let broken = tiny_model(dir.path(), "broken.onnx", &meta);
    let (ok, _, err) = run(&broken, &d("o3"), &[]);
    assert!(!ok && err.contains("`reid.pixel_std` = `0.229,zero,0.225` is invalid"), "{err}");

    // An output folder that cannot be created (a file stands in the way).
    std::fs::write(d("file"), "x").unwrap();
    let (ok, _, err) = run(&good, &d("file/sub"), &[]);
    assert!(!ok && err.contains("cannot create the output folder") && err.contains("file/sub"), "{err}");

    // Settings nvinfer refuses or that cannot work.
    for (extra, want) in [
        (&["--precision", "int8"][..], "--int8-calib-file"),
        (&["--precision", "int8", "--int8-calib-file", "/nonexistent/calib"][..], "no such file"),
        (&["--int8-calib-file", good.to_str().unwrap()][..], "only used with --precision int8"),
        (&["--gie-unique-id", "1"][..], "equals --operate-on-gie-id"),
        (&["--gie-unique-id", "0"][..], "must be positive"),
        (&["--batch-size", "0"][..], "--batch-size 0 is not in 1..=1024"),
        (&["--onnx-path", " "][..], "--onnx-path is empty"),
    ] {
        let (ok, _, err) = run(&good, &d("o4"), extra);
        assert!(!ok && err.contains(want), "{extra:?}: {err}");
    }
    assert!(!d("o4").exists(), "nothing is written when the settings are refused");
}

#[test]
fn deepstream_help_explains_the_single_scale() {
    let (ok, stdout, _) = reid(&["deepstream", "--help"]);
    assert!(ok);
    assert!(stdout.contains("ONE scale") && stdout.contains("reidembed") && stdout.contains("config"), "{stdout}");
    let (ok, stdout, _) = reid(&["deepstream", "config", "--help"]);
    assert!(ok);
    for flag in ["--operate-on-gie-id", "--operate-on-class-ids", "--gie-unique-id", "--batch-size", "--precision"] {
        assert!(stdout.contains(flag), "{flag} missing from:\n{stdout}");
    }
}

/// A random-init ReID network saved as a checkpoint (`ReidModel::save_safetensors`, as training saves one).
fn random_checkpoint(path: &Path, backbone: &str, feat_dim: usize, classes: usize, h: usize, w: usize) {
    let config = reid_models::ReidConfig {
        backbone: reid_models::config::BackboneConfig::from_name(backbone, 1).unwrap(),
        feat_dim,
        neck: reid_models::Neck::Bnneck,
        neck_feat: reid_models::NeckFeat::After,
        num_classes: classes,
        input_channels: 3,
        input_height: h,
        input_width: w,
        jpm: None,
    };
    let model = reid_models::ReidModel::new(&config, &burn::tensor::Device::flex()).unwrap();
    model.save_safetensors(path, &Default::default()).unwrap();
}

/// Name, spec, embedding size, classes, input height and width, spec overrides.
type Case<'a> = (&'a str, &'a str, usize, usize, usize, usize, &'a [&'a str]);

/// Measurement driver, not a default test (minutes on 2 cores: a ResNet-50 through `reid export` and 2 x 32 crops
/// through it): the quick-start network (ResNet-18, 64x32, ImageNet mean/std) and a ResNet-50 at 256x128 with
/// ImageNet's per-channel std (trainer/specs/resnet50_market.yaml itself uses 0.226 for all three), both
/// RANDOM-INIT checkpoints exported by `reid export`, then `reid deepstream config` with both scale fits. Prints
/// what it measured; fails when an export fails or a cosine drops below 0.99.
///   cargo test -p reid-cli --test suite deepstream_measure -- --ignored --nocapture
#[test]
#[ignore]
fn deepstream_measure_random_init_networks() {
    let dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cases: [Case; 2] = [
        ("quick-start ResNet-18 64x32", "trainer/specs/quickstart.yaml", 128, 100, 64, 32, &[]),
        (
            "ResNet-50 256x128, ImageNet std",
            "trainer/specs/resnet50_market.yaml",
            256,
            751,
            256,
            128,
            &["dataset.pixel_std=[0.229,0.224,0.225]", "model.pretrain_choice=\"\""],
        ),
    ];
    for (i, (name, spec, feat, classes, h, w, overrides)) in cases.into_iter().enumerate() {
        let backbone = if spec.contains("resnet50") { "resnet_50" } else { "resnet_18" };
        let ckpt = dir.path().join(format!("net{i}.safetensors"));
        random_checkpoint(&ckpt, backbone, feat, classes, h, w);
        let onnx = dir.path().join(format!("net{i}.onnx"));
        let results = format!("results_dir={}", dir.path().join(format!("results{i}")).display());
        let (c, o) = (format!("export.checkpoint={}", ckpt.display()), format!("export.onnx_file={}", onnx.display()));
        let mut args = vec!["export", "-e", spec, &results, &c, &o];
        args.extend_from_slice(overrides);
        let out = Command::new(env!("CARGO_BIN_EXE_reid")).current_dir(&root).args(&args).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{name}: reid export failed:\n{text}");
        println!("== {name} (random init): {}", text.trim());
        for fit in ["worst-case", "mean-square"] {
            let ds = dir.path().join(format!("ds{i}-{fit}"));
            let (ok, stdout, stderr) = reid(&[
                "deepstream",
                "config",
                "-m",
                onnx.to_str().unwrap(),
                "-o",
                ds.to_str().unwrap(),
                "--samples",
                "32",
                "--scale-fit",
                fit,
            ]);
            assert!(ok, "{name}: {stderr}");
            println!("-- reid deepstream config --scale-fit {fit}\n{stdout}");
            assert!(cosines(&stdout).0 > 0.99, "{name}, {fit}: {stdout}");
        }
    }
}
