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
