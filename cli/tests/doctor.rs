//! `reid doctor` on this machine: one line per check, exit status by engine, JSON, a Zenoh probe. The GPU
//! assertions hold on hosts without an NVIDIA driver (checked, not assumed) and are skipped elsewhere.

use std::path::Path;
use std::process::Command;

/// Runs `reid doctor ARGS` with the ONNX Runtime search pointed at an empty folder (unless `keep_ort`).
fn doctor(args: &[&str], home: &Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_reid"))
        .arg("doctor")
        .args(args)
        .env("REID_HOME", home)
        .env_remove("ORT_DYLIB_PATH")
        .env("REID_ENGINE_CACHE", home.join("engines"))
        .output()
        .expect("run reid doctor");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line<'a>(stdout: &'a str, check: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(check))
        .unwrap_or_else(|| panic!("no `{check}` line in:\n{stdout}"))
}

fn no_nvidia_driver() -> bool {
    !Path::new("/proc/driver/nvidia/version").exists() && !Path::new("/etc/nv_tegra_release").exists()
}

#[test]
fn doctor_reports_each_check_on_one_line_and_exits_by_engine() {
    let home = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = doctor(&["--engine", "tract"], home.path());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let checks: Vec<&str> = stdout.lines().map(|l| l.split_whitespace().nth(1).unwrap_or("")).collect();
    assert_eq!(
        checks,
        [
            "gstreamer",
            "reid-plugin",
            "onnxruntime",
            "cuda-driver",
            "gpu",
            "tensorrt",
            "deepstream",
            "engine-cache",
            "engine"
        ],
        "{stdout}"
    );
    for l in stdout.lines() {
        assert!(["OK", "WARN", "MISSING"].contains(&l.split_whitespace().next().unwrap()), "{l}");
        if !l.starts_with("OK") {
            assert!(l.contains("  -> fix: "), "a non-OK line says how to fix it: {l}");
        }
    }
    // The ONNX Runtime search was pointed at an empty folder: missing, and tract still runs.
    assert!(line(&stdout, "onnxruntime").starts_with("MISSING"));
    assert!(
        line(&stdout, "onnxruntime")
            .contains(&home.path().join("onnxruntime/lib/libonnxruntime.so").display().to_string())
    );
    assert!(line(&stdout, "engine").starts_with("OK       engine        tract runs"), "{stdout}");
    assert!(
        line(&stdout, "engine-cache")
            .contains(&format!("at {}/engines (created on first TensorRT build)", home.path().display()))
    );
    if Path::new("/usr/bin/gst-inspect-1.0").exists() {
        assert!(line(&stdout, "gstreamer").starts_with("OK"), "{stdout}");
    }
    if no_nvidia_driver() {
        for check in ["cuda-driver", "gpu", "tensorrt"] {
            assert!(line(&stdout, check).starts_with("MISSING"), "{stdout}");
        }
        let (code, stdout, stderr) = doctor(&["--engine", "cuda"], home.path());
        assert_eq!(code, Some(1), "{stdout}");
        assert!(line(&stdout, "engine").contains("cuda cannot run: missing the ONNX Runtime library, the CUDA driver"));
        assert!(stderr.contains("engine `cuda` cannot run on this host"), "{stderr}");
        let (code, _, _) = doctor(&["--engine", "tensorrt"], home.path());
        assert_eq!(code, Some(1));
    } else {
        eprintln!("SKIPPED: GPU assertions (this host has an NVIDIA driver)");
    }
    // Without the library ort-cpu cannot run; auto falls back to tract.
    let (code, stdout, _) = doctor(&["--engine", "ort-cpu"], home.path());
    assert_eq!(code, Some(1), "{stdout}");
    let (code, stdout, _) = doctor(&[], home.path());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(line(&stdout, "engine").contains("auto runs as tract"), "{stdout}");
}

#[test]
fn doctor_json_and_zenoh_probe() {
    let home = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("tcp/{}", listener.local_addr().unwrap());
    let (code, stdout, stderr) = doctor(&["--engine", "tract", "--json", "--zenoh", &endpoint], home.path());
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("--json prints JSON only");
    assert_eq!(report["engine"], "tract");
    assert_eq!(report["resolved_engine"], "tract");
    assert_eq!(report["engine_runs"], true);
    let checks = report["checks"].as_array().unwrap();
    let zenoh = checks.iter().find(|c| c["check"] == "zenoh").unwrap();
    assert_eq!(zenoh["status"], "OK", "{zenoh}");
    assert!(zenoh["fix"].is_null());
    let onnx = checks.iter().find(|c| c["check"] == "onnxruntime").unwrap();
    assert_eq!(onnx["status"], "MISSING");
    assert!(onnx["fix"].as_str().unwrap().contains("scripts/setup-ort.sh"));
    // A closed port: the report says so and the exit status is 1.
    drop(listener);
    let (code, stdout, stderr) = doctor(&["--engine", "tract", "--zenoh", &endpoint, "--timeout", "1"], home.path());
    assert_eq!(code, Some(1), "{stdout}");
    assert!(line(&stdout, "zenoh").starts_with(&format!("MISSING  zenoh         {endpoint} unreachable")), "{stdout}");
    assert!(stderr.contains("does not answer"), "{stderr}");
}

#[test]
fn doctor_finds_the_onnx_runtime_library_given() {
    // The library scripts/setup-ort.sh installs, when this machine has it.
    let Some(lib) = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".local/share/reid/onnxruntime/lib/libonnxruntime.so"))
        .filter(|p| p.exists())
    else {
        eprintln!("SKIPPED: no ONNX Runtime library (scripts/setup-ort.sh)");
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let (code, stdout, _) = doctor(&["--engine", "ort-cpu", "--ort-lib", lib.to_str().unwrap()], home.path());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(line(&stdout, "onnxruntime").starts_with("OK"), "{stdout}");
    assert!(line(&stdout, "ort-providers").contains("CPUExecutionProvider"), "{stdout}");
    assert!(line(&stdout, "engine").contains("ort-cpu runs"), "{stdout}");
}
