//! `reid doctor` on faked hosts: every check and the engine verdict.

use super::cuda::{parse_nvidia_version, parse_tegra_release};
use super::deepstream::LIBRARIES;
use super::gstreamer::{major_minor, parse_gst_version};
use super::host::{OrtProbe, Output, parse_df_available};
use super::plugin::ELEMENTS;
use super::zenoh::zenoh_address;
use super::*;
use std::collections::HashMap;
use std::path::Path;

/// A host whose `/` is a temporary folder, with canned commands and ONNX Runtime.
struct FakeHost {
    root: tempfile::TempDir,
    vars: HashMap<String, String>,
    commands: HashMap<String, Output>,
    ort: OrtProbe,
    free: Option<u64>,
}

impl FakeHost {
    fn new() -> Self {
        FakeHost {
            root: tempfile::tempdir().unwrap(),
            vars: HashMap::from([("HOME".to_owned(), "/home/edge".to_owned())]),
            commands: HashMap::new(),
            ort: OrtProbe::Missing("/opt/reid/lib/libonnxruntime.so (deploy kit): no such file".to_owned()),
            free: Some(50 << 30),
        }
    }
    fn file(&self, path: &str, text: &str) -> &Self {
        let p = self.path(Path::new(path));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }
    fn answers(&mut self, command: &str, success: bool, text: &str) {
        self.commands.insert(command.to_owned(), Output { success, text: text.to_owned() });
    }
    fn with_gstreamer(&mut self, elements: &[&str]) {
        self.answers("gst-inspect-1.0 --version", true, "gst-inspect-1.0 version 1.22.0\nGStreamer 1.22.0\n");
        if elements.is_empty() {
            self.answers("gst-inspect-1.0 reid", false, "No such element or plugin 'reid'\n");
        } else {
            let list: String = elements.iter().map(|e| format!("  {e}: some element\n")).collect();
            self.answers("gst-inspect-1.0 reid", true, &format!("Plugin Details:\n  Name  reid\n\n{list}"));
        }
    }
    fn with_nvidia_gpu(&self) {
        self.file("/proc/driver/nvidia/gpus/0000:01:00.0/information", "Model: \t\t NVIDIA A2\nIRQ: 1\n");
        self.file(
            "/proc/driver/nvidia/version",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version: gcc\n",
        );
        self.file(&format!("/usr/lib/{}-linux-gnu/libcuda.so.1", std::env::consts::ARCH), "");
    }
    fn ort_with(&mut self, providers: &[&str]) {
        self.ort = OrtProbe::Found {
            path: "/opt/reid/lib/libonnxruntime.so".into(),
            version: "1.20.1".to_owned(),
            providers: Ok(providers.iter().map(|p| p.to_string()).collect()),
        };
    }
}

impl Host for FakeHost {
    fn var(&self, key: &str) -> Option<String> {
        self.vars.get(key).cloned()
    }
    fn root(&self) -> &Path {
        self.root.path()
    }
    fn command(&self, program: &str, args: &[&str]) -> Option<Output> {
        let line = std::iter::once(program).chain(args.iter().copied()).collect::<Vec<_>>().join(" ");
        self.commands.get(&line).cloned()
    }
    fn onnx_runtime(&self, _explicit: Option<&Path>) -> OrtProbe {
        self.ort.clone()
    }
    fn free_bytes(&self, path: &Path) -> Option<u64> {
        assert!(path.starts_with(self.root.path()) && path.is_dir(), "df on a host folder: {}", path.display());
        self.free
    }
    fn load_library(&self, library: &Path) -> Result<(), String> {
        // The real loader's search would find this machine's libraries: a fake host has none by name.
        if library.components().count() == 1 {
            return Err(format!("{} is not on the fake host's loader path", library.display()));
        }
        super::host::load_library_at(self, library)
    }
}

fn options(engine: EngineKind) -> Options {
    Options { engine, ort_lib: None, engine_cache: None, zenoh: None, timeout: Duration::from_secs(1) }
}

fn status(report: &Report, check: &str) -> Status {
    report.get(check).unwrap_or_else(|| panic!("no `{check}` line in\n{report}")).status
}

#[test]
fn without_onnx_runtime_only_tract_and_auto_run() {
    let host = FakeHost::new();
    let tract = diagnose(&host, &options(EngineKind::Tract));
    assert!(tract.engine_runs);
    assert_eq!(status(&tract, "onnxruntime"), Status::Missing);
    assert!(tract.get("onnxruntime").unwrap().fix.as_deref().unwrap().contains("ORT_DYLIB_PATH"));
    assert!(tract.get("ort-providers").is_none());
    let auto = diagnose(&host, &options(EngineKind::Auto));
    assert!(auto.engine_runs);
    assert_eq!(auto.resolved_engine, "tract");
    let cpu = diagnose(&host, &options(EngineKind::OrtCpu));
    assert!(!cpu.engine_runs);
    assert_eq!(cpu.get("engine").unwrap().finding, "ort-cpu cannot run: missing the ONNX Runtime library");
    let cuda = diagnose(&host, &options(EngineKind::Cuda));
    assert_eq!(
        cuda.get("engine").unwrap().finding,
        "cuda cannot run: missing the ONNX Runtime library, the CUDA driver, an NVIDIA GPU"
    );
}

#[test]
fn onnx_runtime_without_the_cuda_provider_cannot_run_cuda_even_with_a_gpu() {
    let mut host = FakeHost::new();
    host.with_nvidia_gpu();
    host.ort_with(&["CPUExecutionProvider"]);
    let report = diagnose(&host, &options(EngineKind::Cuda));
    assert_eq!(report.get("gpu").unwrap().finding, "NVIDIA A2");
    assert_eq!(status(&report, "cuda-driver"), Status::Ok);
    assert!(report.get("cuda-driver").unwrap().finding.starts_with("driver 535.104.05, /usr/lib/"));
    assert_eq!(status(&report, "ort-providers"), Status::Warn);
    assert!(report.get("ort-providers").unwrap().fix.as_deref().unwrap().contains("--gpu"));
    assert!(!report.engine_runs);
    assert_eq!(report.get("engine").unwrap().finding, "cuda cannot run: missing ONNX Runtime's CUDAExecutionProvider");
    // The same host runs ONNX Runtime on CPU, and auto picks it.
    let auto = diagnose(&host, &options(EngineKind::Auto));
    assert!(auto.engine_runs);
    assert_eq!(auto.resolved_engine, "ort-cpu");
}

#[test]
fn a_full_gpu_host_runs_tensorrt_with_the_version_from_libnvinfer() {
    let mut host = FakeHost::new();
    host.with_nvidia_gpu();
    host.ort_with(&["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]);
    let lib = format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH);
    host.file(&format!("{lib}/libnvinfer.so.10.3.0"), "");
    std::os::unix::fs::symlink("libnvinfer.so.10.3.0", host.path(Path::new(&format!("{lib}/libnvinfer.so.10"))))
        .unwrap();
    let report = diagnose(&host, &options(EngineKind::TensorRt));
    assert_eq!(report.get("tensorrt").unwrap().finding, "TensorRT 10.3.0 (libnvinfer)");
    assert_eq!(status(&report, "ort-providers"), Status::Ok);
    assert!(report.engine_runs, "{report}");
    // Without libnvinfer the same host still runs cuda but not tensorrt.
    std::fs::remove_file(host.path(Path::new(&format!("{lib}/libnvinfer.so.10")))).unwrap();
    std::fs::remove_file(host.path(Path::new(&format!("{lib}/libnvinfer.so.10.3.0")))).unwrap();
    assert!(diagnose(&host, &options(EngineKind::Cuda)).engine_runs);
    let trt = diagnose(&host, &options(EngineKind::TensorRt));
    assert_eq!(trt.get("engine").unwrap().finding, "tensorrt cannot run: missing TensorRT (libnvinfer)");
}

#[test]
fn a_kernel_module_without_libcuda_is_not_a_cuda_driver() {
    let mut host = FakeHost::new();
    host.with_nvidia_gpu();
    std::fs::remove_file(host.path(Path::new(&format!("/usr/lib/{}-linux-gnu/libcuda.so.1", std::env::consts::ARCH))))
        .unwrap();
    host.ort_with(&["CPUExecutionProvider", "CUDAExecutionProvider"]);
    let report = diagnose(&host, &options(EngineKind::Cuda));
    assert_eq!(status(&report, "cuda-driver"), Status::Missing);
    assert_eq!(
        report.get("cuda-driver").unwrap().finding,
        "driver 535.104.05 loaded but libcuda.so.1 is not on the library path"
    );
    assert_eq!(report.get("engine").unwrap().finding, "cuda cannot run: missing the CUDA driver");
    // LD_LIBRARY_PATH is searched.
    host.file("/opt/nvidia/lib/libcuda.so.1", "");
    host.vars.insert("LD_LIBRARY_PATH".to_owned(), "/nowhere:/opt/nvidia/lib".to_owned());
    let report = diagnose(&host, &options(EngineKind::Cuda));
    assert_eq!(report.get("cuda-driver").unwrap().finding, "driver 535.104.05, /opt/nvidia/lib/libcuda.so.1");
    assert!(report.engine_runs);
}

#[test]
fn a_jetson_is_found_by_device_tree_l4t_release_and_ld_so_conf() {
    let host = FakeHost::new();
    host.file("/proc/device-tree/model", "NVIDIA Jetson AGX Orin Developer Kit\0");
    host.file(
        "/etc/nv_tegra_release",
        "# R35 (release), REVISION: 3.1, GCID: 32827747, BOARD: t186ref, EABI: aarch64\n",
    );
    host.file("/etc/ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n");
    host.file("/etc/ld.so.conf.d/nvidia-tegra.conf", "/usr/lib/nvidia-tegra-test\n# comment\n");
    host.file("/etc/ld.so.conf.d/ignored.txt", "/usr/lib/not-a-conf\n");
    host.file("/usr/lib/nvidia-tegra-test/libcuda.so.1", "");
    let dirs = library_dirs(&host);
    assert!(dirs.contains(&PathBuf::from("/usr/lib/nvidia-tegra-test")));
    assert!(!dirs.contains(&PathBuf::from("/usr/lib/not-a-conf")));
    let report = diagnose(&host, &options(EngineKind::Tract));
    assert_eq!(report.get("gpu").unwrap().finding, "NVIDIA Jetson AGX Orin Developer Kit");
    assert_eq!(report.get("cuda-driver").unwrap().finding, "L4T R35.3.1, /usr/lib/nvidia-tegra-test/libcuda.so.1");
}

#[test]
fn a_board_that_is_not_nvidia_has_no_gpu() {
    let host = FakeHost::new();
    host.file("/proc/device-tree/model", "Raspberry Pi 4 Model B Rev 1.4\0");
    let report = diagnose(&host, &options(EngineKind::Tract));
    assert_eq!(status(&report, "gpu"), Status::Missing);
    assert_eq!(status(&report, "cuda-driver"), Status::Missing);
    assert_eq!(status(&report, "tensorrt"), Status::Missing);
    assert!(report.engine_runs);
}

#[test]
fn no_gstreamer_is_missing_with_the_packages_to_install() {
    let host = FakeHost::new();
    let report = diagnose(&host, &options(EngineKind::Tract));
    let gst = report.get("gstreamer").unwrap();
    assert_eq!(gst.status, Status::Missing);
    assert!(gst.fix.as_deref().unwrap().contains("gstreamer1.0-tools"));
    assert_eq!(status(&report, "reid-plugin"), Status::Missing);
    // Only the runtime library: a warning naming it.
    let host = FakeHost::new();
    host.file(&format!("/usr/lib/{}-linux-gnu/libgstreamer-1.0.so.0", std::env::consts::ARCH), "");
    let gst = diagnose(&host, &options(EngineKind::Tract)).get("gstreamer").unwrap().clone();
    assert_eq!(gst.status, Status::Warn);
    assert!(gst.finding.contains("libgstreamer-1.0.so.0 found"), "{}", gst.finding);
    // The development files but no tools.
    let mut host = FakeHost::new();
    host.answers("pkg-config --modversion gstreamer-1.0", true, "1.16.3\n");
    let gst = diagnose(&host, &options(EngineKind::Tract)).get("gstreamer").unwrap().clone();
    assert_eq!(
        (gst.status, gst.finding.as_str()),
        (Status::Warn, "GStreamer 1.16.3 (pkg-config) but no gst-inspect-1.0 / gst-launch-1.0")
    );
}

#[test]
fn the_plugin_is_found_by_its_elements() {
    let mut host = FakeHost::new();
    host.with_gstreamer(&ELEMENTS);
    host.vars.insert("GST_PLUGIN_PATH".to_owned(), "/opt/reid/lib/gstreamer-1.0".to_owned());
    let report = diagnose(&host, &options(EngineKind::Tract));
    assert_eq!(report.get("gstreamer").unwrap().finding, "GStreamer 1.22.0 (gst-inspect-1.0)");
    let plugin = report.get("reid-plugin").unwrap();
    assert_eq!(plugin.status, Status::Ok);
    assert_eq!(
        plugin.finding,
        "plugin `reid`: reidembed, reidsynthsrc, reidpublish (GST_PLUGIN_PATH=/opt/reid/lib/gstreamer-1.0)"
    );
    // Built without `publish`.
    host.with_gstreamer(&["reidembed", "reidsynthsrc"]);
    let plugin = diagnose(&host, &options(EngineKind::Tract)).get("reid-plugin").unwrap().clone();
    assert_eq!(plugin.status, Status::Warn);
    assert!(plugin.finding.contains("but not reidpublish"), "{}", plugin.finding);
    // Not found, but the file is there outside GST_PLUGIN_PATH: the fix names its folder.
    host.with_gstreamer(&[]);
    host.vars.remove("GST_PLUGIN_PATH");
    host.file("/opt/reid/lib/gstreamer-1.0/libgstreid.so", "");
    let plugin = diagnose(&host, &options(EngineKind::Tract)).get("reid-plugin").unwrap().clone();
    assert_eq!(plugin.status, Status::Missing);
    assert_eq!(plugin.fix.as_deref(), Some("export GST_PLUGIN_PATH=/opt/reid/lib/gstreamer-1.0"));
    // On GST_PLUGIN_PATH yet not loading: the fix says how to see why.
    host.vars.insert("GST_PLUGIN_PATH".to_owned(), "/opt/reid/lib/gstreamer-1.0".to_owned());
    let plugin = diagnose(&host, &options(EngineKind::Tract)).get("reid-plugin").unwrap().clone();
    assert!(plugin.finding.contains("does not load"), "{}", plugin.finding);
    assert!(plugin.fix.as_deref().unwrap().starts_with("GST_DEBUG=3 gst-inspect-1.0 /opt/reid/lib/"));
}

#[test]
fn the_engine_cache_disk_is_measured_where_the_cache_will_be() {
    let mut host = FakeHost::new();
    host.vars.insert("XDG_CACHE_HOME".to_owned(), "/var/cache/edge".to_owned());
    host.file("/var/cache/edge/keep", "");
    host.free = Some(300 << 20);
    let check = diagnose(&host, &options(EngineKind::Tract)).get("engine-cache").unwrap().clone();
    assert_eq!(check.status, Status::Warn);
    assert_eq!(check.finding, "only 0.3 GiB free at /var/cache/edge/reid/engines (created on first TensorRT build)");
    host.free = Some(20 << 30);
    host.vars.insert("REID_ENGINE_CACHE".to_owned(), "/var/cache/edge".to_owned());
    let check = diagnose(&host, &options(EngineKind::Tract)).get("engine-cache").unwrap().clone();
    assert_eq!((check.status, check.finding.as_str()), (Status::Ok, "20.0 GiB free at /var/cache/edge (exists)"));
    host.free = None;
    assert_eq!(status(&diagnose(&host, &options(EngineKind::Tract)), "engine-cache"), Status::Warn);
}

#[test]
fn zenoh_endpoints_are_probed_over_tcp() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let host = FakeHost::new();
    let mut opts = options(EngineKind::Tract);
    opts.zenoh = Some(format!("tcp/127.0.0.1:{port}"));
    let check = diagnose(&host, &opts).get("zenoh").unwrap().clone();
    assert_eq!(check.status, Status::Ok, "{check:?}");
    drop(listener);
    let check = diagnose(&host, &opts).get("zenoh").unwrap().clone();
    assert_eq!(check.status, Status::Missing, "{check:?}");
    assert!(check.finding.starts_with(&format!("tcp/127.0.0.1:{port} unreachable: ")));
    assert_eq!(
        zenoh_address("udp/10.0.0.1:7447").unwrap_err(),
        "`udp` endpoints cannot be probed with a TCP connection"
    );
    assert_eq!(zenoh_address("10.0.0.1:7447").unwrap(), "10.0.0.1:7447");
    assert!(zenoh_address("tcp/gallery").is_err());
    assert!(diagnose(&host, &options(EngineKind::Tract)).get("zenoh").is_none());
}

#[test]
fn a_build_without_ort_says_so() {
    let mut host = FakeHost::new();
    host.ort = OrtProbe::NotBuilt;
    let report = diagnose(&host, &options(EngineKind::OrtCpu));
    assert!(report.get("onnxruntime").unwrap().finding.contains("without feature `ort`"));
    assert!(!report.engine_runs);
}

#[test]
fn every_check_prints_on_one_line_and_serialises() {
    let mut host = FakeHost::new();
    host.ort = OrtProbe::Missing("a: no such file;\n b: not ONNX Runtime".to_owned());
    let report = diagnose(&host, &options(EngineKind::Cuda));
    let text = report.to_string();
    assert_eq!(text.lines().count(), report.checks.len());
    assert_eq!(report.checks.last().unwrap().check, "engine");
    for line in text.lines() {
        let status = line.split_whitespace().next().unwrap();
        assert!(["OK", "WARN", "MISSING"].contains(&status), "{line}");
    }
    assert!(text.contains(
        "MISSING  onnxruntime   no usable libonnxruntime.so: a: no such file; b: not ONNX Runtime  -> fix: "
    ));
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert_eq!(json["engine"], "cuda");
    assert_eq!(json["engine_runs"], false);
    assert_eq!(json["checks"][0]["status"], "MISSING");
    assert_eq!(json["checks"].as_array().unwrap().len(), report.checks.len());
}

#[test]
fn probe_outputs_parse() {
    assert_eq!(
        parse_nvidia_version("NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.15  Release Build\n")
            .as_deref(),
        Some("550.54.15")
    );
    assert_eq!(
        parse_nvidia_version("NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19\n").as_deref(),
        Some("535.104.05")
    );
    assert_eq!(parse_tegra_release("# R36 (release), REVISION: 4.0, GCID: 1\n").as_deref(), Some("R36.4.0"));
    let df =
        "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sda1   100000 40000 60000  40% /\n";
    assert_eq!(parse_df_available(df), Some(60000 * 1024));
    assert_eq!(parse_df_available("garbage"), None);
    assert_eq!(parse_gst_version("gst-inspect-1.0 version 1.16.3\nGStreamer 1.16.3\n").as_deref(), Some("1.16.3"));
    assert_eq!(major_minor("1.16.3"), Some((1, 16)));
}

/// A real shared library of this machine with no side effects when loaded twice (zlib), to copy under
/// DeepStream's library names.
fn loadable_library() -> Option<std::path::PathBuf> {
    let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
    [format!("/lib/{triple}/libz.so.1"), format!("/usr/lib/{triple}/libz.so.1"), "/usr/lib64/libz.so.1".to_owned()]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.exists())
}

#[test]
fn deepstream_absent_is_a_missing_line_not_a_failure() {
    let host = FakeHost::new();
    let report = diagnose(&host, &options(EngineKind::Tract));
    let ds = report.get("deepstream").unwrap();
    assert_eq!(ds.status, Status::Missing);
    assert!(ds.finding.starts_with("not installed (no /opt/nvidia/deepstream/deepstream/version;"), "{}", ds.finding);
    assert!(ds.finding.contains("NvDs mode not available"), "{}", ds.finding);
    assert!(ds.fix.as_deref().unwrap().contains("REID_DEEPSTREAM_ROOT"));
    assert!(report.engine_runs, "DeepStream is optional");
}

#[test]
fn deepstream_version_and_libraries_from_a_fake_root() {
    let Some(real) = loadable_library() else {
        eprintln!("SKIPPED: no libz.so.1 to stand in for DeepStream's libraries");
        return;
    };
    let mut host = FakeHost::new();
    host.vars.insert("REID_DEEPSTREAM_ROOT".to_owned(), "/opt/ds".to_owned());
    host.file("/opt/ds/version", "Version: 7.1\nGCID: 123\n");
    let lib = |name: &str| host.path(Path::new("/opt/ds/lib")).join(name);
    std::fs::create_dir_all(lib("")).unwrap();
    for name in LIBRARIES {
        std::fs::copy(&real, lib(name)).unwrap();
    }
    let ds = diagnose(&host, &options(EngineKind::Tract)).get("deepstream").unwrap().clone();
    assert_eq!(ds.status, Status::Ok, "{ds:?}");
    assert_eq!(
        ds.finding,
        "DeepStream 7.1 at /opt/ds; libnvds_meta.so, libnvdsgst_meta.so, libnvbufsurface.so load: NvDs mode available"
    );
    // A library that is not one (in another folder: the loader keeps what it loaded by path): NvDs mode not
    // available, naming the file and both attempts.
    host.vars.insert("REID_DEEPSTREAM_ROOT".to_owned(), "/opt/ds-broken".to_owned());
    host.file("/opt/ds-broken/version", "Version: 7.1\n");
    host.file("/opt/ds-broken/lib/libnvbufsurface.so", "not an ELF file");
    for name in &LIBRARIES[..2] {
        std::fs::copy(&real, host.path(Path::new("/opt/ds-broken/lib")).join(name)).unwrap();
    }
    let ds = diagnose(&host, &options(EngineKind::Tract)).get("deepstream").unwrap().clone();
    assert_eq!(ds.status, Status::Warn);
    let want = "DeepStream 7.1 at /opt/ds-broken, but NvDs mode not available (libnvbufsurface.so: by name:";
    assert!(ds.finding.starts_with(want), "{}", ds.finding);
    assert!(ds.finding.contains("/opt/ds-broken/lib/libnvbufsurface.so: "), "{}", ds.finding);
    assert!(!ds.finding.contains("libnvds_meta.so:"), "only the failing library is named: {}", ds.finding);
    assert!(ds.fix.as_deref().unwrap().contains("/opt/ds-broken/lib"));
    host.vars.insert("REID_DEEPSTREAM_ROOT".to_owned(), "/opt/ds".to_owned());
    // A damaged version file.
    host.file("/opt/ds/version", "garbage\n");
    let ds = diagnose(&host, &options(EngineKind::Tract)).get("deepstream").unwrap().clone();
    assert_eq!(ds.status, Status::Warn);
    assert!(ds.finding.contains("no `Version: X.Y` line (first line `garbage`)"), "{}", ds.finding);
    // Libraries without a version file.
    std::fs::remove_file(host.path(Path::new("/opt/ds/version"))).unwrap();
    let ds = diagnose(&host, &options(EngineKind::Tract)).get("deepstream").unwrap().clone();
    assert_eq!(ds.status, Status::Warn);
    assert!(ds.finding.starts_with("no /opt/ds/version: the version selects"), "{}", ds.finding);
}

#[test]
fn deepstream_versions_without_a_layout_are_refused_like_the_element_does() {
    let mut host = FakeHost::new();
    host.vars.insert("REID_DEEPSTREAM_ROOT".to_owned(), "/opt/ds5".to_owned());
    host.file("/opt/ds5/version", "Version: 5.1\n");
    let ds = diagnose(&host, &options(EngineKind::Tract)).get("deepstream").unwrap().clone();
    assert_eq!(ds.status, Status::Warn, "{ds:?}");
    assert!(ds.finding.starts_with("DeepStream 5.1 is not supported"), "{}", ds.finding);
    assert!(ds.finding.contains("/opt/ds5/version"), "{}", ds.finding);
}
