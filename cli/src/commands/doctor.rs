//! `reid doctor`: checks what this host has for running ReID at the edge (GStreamer and the `reid` plugin, the
//! ONNX Runtime library and its providers, the CUDA driver, the GPU, TensorRT, disk for engine caches, Zenoh
//! reachability) and prints one line per check: status, finding, and how to fix what is missing.
//!
//! Every probe goes through [`Host`], so the checks run on a faked host in tests (a temporary folder standing
//! for `/`, canned command output, a canned ONNX Runtime probe).

use anyhow::{Result, bail};
use clap::Args;
use reid_runtime::engine::EngineKind;
use reid_runtime::engine::ort::hardware::gpu_name_from;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Arguments of `reid doctor`.
#[derive(Args, Debug)]
#[command(after_help = "Exit status: 0 when the chosen engine can run here (and the --zenoh endpoint, when given, \
answers), 1 otherwise. Each line is `STATUS  CHECK  finding  -> fix`, STATUS one of OK, WARN, MISSING.\n\nExamples:\n  \
reid doctor\n  reid doctor --engine tensorrt --zenoh tcp/gallery.local:7447\n  reid doctor --json")]
pub struct DoctorArgs {
    /// The engine the deployment will use: auto, tract, ort-cpu, cuda, tensorrt.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<EngineKind>())]
    pub engine: EngineKind,
    /// The ONNX Runtime library to check (default: as the engines search: $ORT_DYLIB_PATH, scripts/setup-ort.sh's
    /// folder, /opt/reid/lib, the system library path).
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    /// Root of the TensorRT engine caches (default $REID_ENGINE_CACHE or ~/.cache/reid/engines).
    #[arg(long, value_name = "DIR")]
    pub engine_cache: Option<PathBuf>,
    /// A Zenoh endpoint (router or gallery) to try a TCP connection to, e.g. tcp/192.168.1.10:7447.
    #[arg(long, value_name = "ENDPOINT")]
    pub zenoh: Option<String>,
    /// Seconds to wait for the Zenoh endpoint.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `reid doctor`: prints the report; an error (exit 1) when the engine cannot run or Zenoh is unreachable.
pub fn run(args: DoctorArgs) -> Result<()> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds");
    }
    let options = Options {
        engine: args.engine,
        ort_lib: args.ort_lib,
        engine_cache: args.engine_cache,
        zenoh: args.zenoh,
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let report = diagnose(&SystemHost, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if !report.engine_runs {
        bail!("engine `{}` cannot run on this host (see the MISSING lines above)", report.engine);
    }
    if report.get("zenoh").is_some_and(|c| c.status != Status::Ok) {
        bail!("the Zenoh endpoint {} does not answer", options.zenoh.as_deref().unwrap_or(""));
    }
    Ok(())
}

/// What `reid doctor` is asked to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// The engine the deployment will use.
    pub engine: EngineKind,
    /// An explicit ONNX Runtime library.
    pub ort_lib: Option<PathBuf>,
    /// An explicit engine cache root.
    pub engine_cache: Option<PathBuf>,
    /// A Zenoh endpoint to probe.
    pub zenoh: Option<String>,
    /// How long to wait for it.
    pub timeout: Duration,
}

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    /// Present and usable.
    Ok,
    /// Present but limited, or not measurable.
    Warn,
    /// Absent (or unusable).
    Missing,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Missing => "MISSING",
        })
    }
}

/// One line of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked (`gstreamer`, `onnxruntime`, ...).
    pub check: &'static str,
    /// The verdict.
    pub status: Status,
    /// What was found.
    pub finding: String,
    /// How to fix it (`None` when nothing needs fixing).
    pub fix: Option<String>,
}

impl Check {
    fn new(check: &'static str, status: Status, finding: impl Into<String>, fix: Option<String>) -> Self {
        Check { check, status, finding: one_line(&finding.into()), fix: fix.map(|f| one_line(&f)) }
    }
}

/// Collapses whitespace runs (newlines included) so each check prints on one line.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The engine asked about.
    pub engine: String,
    /// What `auto` (or the engine asked for) would run as here.
    pub resolved_engine: String,
    /// Whether that engine can run on this host.
    pub engine_runs: bool,
    /// Every check, in print order (the last one is `engine`).
    pub checks: Vec<Check>,
}

impl Report {
    /// The check named `name`.
    pub fn get(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.check == name)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            write!(f, "{:<7}  {:<13} {}", c.status, c.check, c.finding)?;
            if let Some(fix) = &c.fix {
                write!(f, "  -> fix: {fix}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// What probing the ONNX Runtime library found.
#[derive(Clone, Debug, PartialEq, Eq)]
// A build constructs `NotBuilt` or the other two, depending on feature `ort`; tests construct all three.
#[allow(dead_code)]
pub enum OrtProbe {
    /// This `reid` was built without feature `ort`.
    NotBuilt,
    /// No usable library; every place tried and why.
    Missing(String),
    /// A library loaded.
    Found {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: String,
        /// Its execution providers (`CPUExecutionProvider`, ...), or why they could not be listed.
        providers: Result<Vec<String>, String>,
    },
}

/// Output of a command that ran.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Whether it exited with status 0.
    pub success: bool,
    /// Its standard output and error, together.
    pub text: String,
}

/// Everything the checks learn about the host. File paths are absolute paths as on a real host; a fake host
/// maps them under a temporary folder.
pub trait Host {
    /// An environment variable (empty counts as unset).
    fn var(&self, key: &str) -> Option<String>;
    /// Where the host's `/` is (a real host: `/`).
    fn root(&self) -> &Path;
    /// Runs `program args` (searched on `$PATH`); `None` when it is not installed or cannot start.
    fn command(&self, program: &str, args: &[&str]) -> Option<Output>;
    /// Finds and loads the ONNX Runtime library.
    fn onnx_runtime(&self, explicit: Option<&Path>) -> OrtProbe;
    /// Bytes free to unprivileged users on the file system holding `path` (an existing folder).
    fn free_bytes(&self, path: &Path) -> Option<u64>;

    /// `path` (absolute, as on the host) on this machine's file system.
    fn path(&self, path: &Path) -> PathBuf {
        self.root().join(path.strip_prefix("/").unwrap_or(path))
    }
    /// The text of a file, if readable.
    fn read(&self, path: &Path) -> Option<String> {
        std::fs::read(self.path(path)).ok().map(|b| String::from_utf8_lossy(&b).into_owned())
    }
    /// The TensorRT version (default: from the name of the `libnvinfer` file found on the library path).
    fn tensorrt_version(&self) -> Option<String> {
        tensorrt_from_files(self)
    }
    /// Tries a TCP connection to `addr` (`host:port`).
    fn connect(&self, addr: &str, timeout: Duration) -> Result<Duration, String> {
        tcp_connect(addr, timeout)
    }
}

/// The machine `reid` runs on.
pub struct SystemHost;

impl Host for SystemHost {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }

    fn root(&self) -> &Path {
        Path::new("/")
    }

    fn command(&self, program: &str, args: &[&str]) -> Option<Output> {
        run_with_timeout(program, args, Duration::from_secs(60))
    }

    fn onnx_runtime(&self, explicit: Option<&Path>) -> OrtProbe {
        #[cfg(feature = "ort")]
        {
            use reid_runtime::engine::ort::library;
            match library::find(explicit) {
                Ok(lib) => OrtProbe::Found {
                    providers: library::available_providers(Some(&lib.path)).map_err(|e| e.to_string()),
                    path: lib.path,
                    version: lib.version,
                },
                Err(reid_runtime::engine::EngineError::Library { tried }) => {
                    OrtProbe::Missing(format!("tried {tried}"))
                }
                Err(e) => OrtProbe::Missing(e.to_string()),
            }
        }
        #[cfg(not(feature = "ort"))]
        {
            let _ = explicit;
            OrtProbe::NotBuilt
        }
    }

    fn free_bytes(&self, path: &Path) -> Option<u64> {
        // `df -P` is POSIX (coreutils, busybox on minimal images): no statvfs binding needed.
        let out = self.command("df", &["-Pk", &path.to_string_lossy()])?;
        out.success.then(|| parse_df_available(&out.text)).flatten()
    }

    fn tensorrt_version(&self) -> Option<String> {
        #[cfg(feature = "ort")]
        if let Some(v) = reid_runtime::engine::ort::hardware::tensorrt_version() {
            return Some(v);
        }
        tensorrt_from_files(self)
    }
}

/// Runs a command, killing it after `limit`; `None` when it cannot start.
fn run_with_timeout(program: &str, args: &[&str], limit: Duration) -> Option<Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let mut stderr = child.stderr.take()?;
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut text = out_reader.join().unwrap_or_default();
    text.extend(err_reader.join().unwrap_or_default());
    let mut text = String::from_utf8_lossy(&text).into_owned();
    if status.is_none() {
        text.push_str(&format!("\n(killed after {} s)", limit.as_secs()));
    }
    Some(Output { success: status.is_some_and(|s| s.success()), text })
}

/// The `Available` column of `df -Pk` (KiB), in bytes.
fn parse_df_available(text: &str) -> Option<u64> {
    let line = text.lines().nth(1)?;
    let kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

/// A TCP connection to `addr`, with the time it took.
fn tcp_connect(addr: &str, timeout: Duration) -> Result<Duration, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<_> = addr.to_socket_addrs().map_err(|e| format!("cannot resolve {addr}: {e}"))?.collect();
    let mut last = format!("{addr} resolves to no address");
    for a in addrs {
        let started = Instant::now();
        match std::net::TcpStream::connect_timeout(&a, timeout) {
            Ok(_) => return Ok(started.elapsed()),
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(last)
}

/// The dynamic loader's search folders, as on the host: `$LD_LIBRARY_PATH`, `/etc/ld.so.conf` (with its
/// `include`s), then the default and well-known NVIDIA folders.
pub fn library_dirs<H: Host + ?Sized>(host: &H) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(paths) = host.var("LD_LIBRARY_PATH") {
        dirs.extend(paths.split(':').filter(|p| !p.is_empty()).map(PathBuf::from));
    }
    let mut seen = BTreeSet::new();
    ld_so_conf(host, Path::new("/etc/ld.so.conf"), &mut dirs, &mut seen, 0);
    let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
    for d in [
        format!("/lib/{triple}"),
        format!("/usr/lib/{triple}"),
        "/lib64".to_owned(),
        "/usr/lib64".to_owned(),
        "/lib".to_owned(),
        "/usr/lib".to_owned(),
        "/usr/local/lib".to_owned(),
        "/usr/local/cuda/lib64".to_owned(),
        format!("/usr/lib/{triple}/tegra"),
        "/usr/lib/wsl/lib".to_owned(),
    ] {
        dirs.push(PathBuf::from(d));
    }
    let mut unique = BTreeSet::new();
    dirs.retain(|d| unique.insert(d.clone()));
    dirs
}

/// Adds the folders `conf` lists, following `include GLOB` lines (a `*` in the file-name part only).
fn ld_so_conf<H: Host + ?Sized>(
    host: &H,
    conf: &Path,
    dirs: &mut Vec<PathBuf>,
    seen: &mut BTreeSet<PathBuf>,
    depth: u32,
) {
    if depth > 8 || !seen.insert(conf.to_owned()) {
        return;
    }
    let Some(text) = host.read(conf) else { return };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(pattern) = line.strip_prefix("include").filter(|r| r.starts_with(char::is_whitespace)) {
            let pattern = Path::new(pattern.trim());
            let pattern = if pattern.is_absolute() { pattern.to_owned() } else { Path::new("/etc").join(pattern) };
            let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else { continue };
            let name = name.to_string_lossy();
            let (prefix, suffix) = name.split_once('*').unwrap_or((&name, ""));
            let mut files: Vec<PathBuf> = std::fs::read_dir(host.path(dir))
                .map(|entries| {
                    entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| {
                            if name.contains('*') {
                                n.starts_with(prefix) && n.ends_with(suffix) && n.len() >= prefix.len() + suffix.len()
                            } else {
                                *n == *name
                            }
                        })
                        .map(|n| dir.join(n))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            for f in files {
                ld_so_conf(host, &f, dirs, seen, depth + 1);
            }
        } else if line.starts_with('/') {
            dirs.push(PathBuf::from(line));
        }
    }
}

/// The first of `names` in the library folders (host paths).
pub fn find_library<H: Host + ?Sized>(host: &H, dirs: &[PathBuf], names: &[&str]) -> Option<PathBuf> {
    for name in names {
        for dir in dirs {
            let p = dir.join(name);
            if host.path(&p).exists() {
                return Some(p);
            }
        }
    }
    None
}

/// TensorRT's version from the `libnvinfer.so.*` file name (following symlinks: `libnvinfer.so.10` ->
/// `libnvinfer.so.10.3.0` gives `10.3.0`).
fn tensorrt_from_files<H: Host + ?Sized>(host: &H) -> Option<String> {
    let dirs = library_dirs(host);
    for name in ["libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so.9", "libnvinfer.so"] {
        for dir in &dirs {
            let real = host.path(&dir.join(name));
            if !real.exists() {
                continue;
            }
            let resolved = std::fs::canonicalize(&real).unwrap_or(real);
            let file = resolved.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            let version = file.strip_prefix("libnvinfer.so.").unwrap_or("").to_owned();
            return Some(if version.is_empty() { "unknown version".to_owned() } else { version });
        }
    }
    None
}

/// The oldest GStreamer the plugin supports.
const MIN_GSTREAMER: (u32, u32) = (1, 14);

/// The plugin's elements; `reidpublish` needs the plugin's `publish` feature.
const ELEMENTS: [&str; 3] = ["reidembed", "reidsynthsrc", "reidpublish"];

/// How to install GStreamer.
/// The fix when GStreamer is there but its command-line tools are not.
const TOOLS_FIX: &str = "sudo apt-get install gstreamer1.0-tools";

const GST_FIX: &str = "sudo apt-get install gstreamer1.0-tools gstreamer1.0-plugins-base (scripts/setup-gst.sh; \
JetPack images ship it)";

/// `major.minor` of a version string.
fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The GStreamer version in `gst-inspect-1.0 --version` output (`GStreamer 1.22.0`).
fn parse_gst_version(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim().strip_prefix("GStreamer ")).map(|v| v.trim().to_owned())
}

fn check_gstreamer(host: &dyn Host, dirs: &[PathBuf]) -> (Check, bool) {
    let inspect = host.command("gst-inspect-1.0", &["--version"]);
    let (version, source) = match &inspect {
        Some(out) if out.success => (parse_gst_version(&out.text), "gst-inspect-1.0"),
        _ => match host.command("pkg-config", &["--modversion", "gstreamer-1.0"]) {
            Some(out) if out.success => (Some(out.text.trim().to_owned()), "pkg-config"),
            _ => (None, ""),
        },
    };
    let has_inspect = inspect.is_some_and(|o| o.success);
    let check = match version {
        Some(v) => {
            let old = major_minor(&v).is_some_and(|mm| mm < MIN_GSTREAMER);
            if old {
                Check::new(
                    "gstreamer",
                    Status::Warn,
                    format!("GStreamer {v} ({source}) is older than {}.{}", MIN_GSTREAMER.0, MIN_GSTREAMER.1),
                    Some("upgrade the OS image (Ubuntu 20.04 / JetPack 5 ship 1.16)".to_owned()),
                )
            } else if !has_inspect {
                Check::new(
                    "gstreamer",
                    Status::Warn,
                    format!("GStreamer {v} (pkg-config) but no gst-inspect-1.0 / gst-launch-1.0"),
                    Some(TOOLS_FIX.to_owned()),
                )
            } else {
                Check::new("gstreamer", Status::Ok, format!("GStreamer {v} ({source})"), None)
            }
        }
        None => match find_library(host, dirs, &["libgstreamer-1.0.so.0"]) {
            Some(lib) => Check::new(
                "gstreamer",
                Status::Warn,
                format!("{} found, but no gst-inspect-1.0 to run pipelines with", lib.display()),
                Some(TOOLS_FIX.to_owned()),
            ),
            None => Check::new(
                "gstreamer",
                Status::Missing,
                "no GStreamer (no gst-inspect-1.0, pkg-config gstreamer-1.0 or libgstreamer-1.0.so.0)",
                Some(GST_FIX.to_owned()),
            ),
        },
    };
    (check, has_inspect)
}

/// Where `libgstreid.so` may be: `$GST_PLUGIN_PATH`, the deploy kit, the system plugin folders.
fn plugin_files(host: &dyn Host) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(p) = host.var("GST_PLUGIN_PATH") {
        dirs.extend(p.split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
    }
    let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
    dirs.push(PathBuf::from("/opt/reid/lib/gstreamer-1.0"));
    dirs.push(PathBuf::from(format!("/usr/lib/{triple}/gstreamer-1.0")));
    dirs.push(PathBuf::from("/usr/local/lib/gstreamer-1.0"));
    dirs.into_iter().map(|d| d.join("libgstreid.so")).filter(|f| host.path(f).is_file()).collect()
}

fn check_plugin(host: &dyn Host, has_inspect: bool) -> Check {
    let files = plugin_files(host);
    let plugin_path = host.var("GST_PLUGIN_PATH");
    let build_fix = "cargo build -p gst-reid --release, then export GST_PLUGIN_PATH=$PWD/target/release (or \
deploy/install.sh: /opt/reid/lib/gstreamer-1.0)";
    if !has_inspect {
        return match files.first() {
            Some(f) => Check::new(
                "reid-plugin",
                Status::Warn,
                format!("{} exists but cannot be inspected without gst-inspect-1.0", f.display()),
                Some(TOOLS_FIX.to_owned()),
            ),
            None => Check::new(
                "reid-plugin",
                Status::Missing,
                "libgstreid.so not found ($GST_PLUGIN_PATH, /opt/reid/lib/gstreamer-1.0, system plugin folder)",
                Some(build_fix.to_owned()),
            ),
        };
    }
    let out = host.command("gst-inspect-1.0", &["reid"]).unwrap_or_default();
    let found: Vec<&str> = ELEMENTS.iter().copied().filter(|e| out.success && out.text.contains(e)).collect();
    let where_ = match &plugin_path {
        Some(p) => format!("GST_PLUGIN_PATH={p}"),
        None => "GST_PLUGIN_PATH unset".to_owned(),
    };
    if found.is_empty() {
        return match files.first() {
            Some(f)
                if plugin_path
                    .as_deref()
                    .is_some_and(|p| p.split(':').any(|d| Path::new(d) == f.parent().unwrap_or(Path::new("")))) =>
            {
                Check::new(
                    "reid-plugin",
                    Status::Missing,
                    format!("{} does not load (gst-inspect-1.0 reid finds no plugin)", f.display()),
                    Some(format!(
                        "GST_DEBUG=3 gst-inspect-1.0 {} says why (often a missing library or a stale \
~/.cache/gstreamer-1.0/registry.*.bin: delete it)",
                        f.display()
                    )),
                )
            }
            Some(f) => Check::new(
                "reid-plugin",
                Status::Missing,
                format!("gst-inspect-1.0 finds no plugin `reid` ({where_}); {} exists", f.display()),
                Some(format!("export GST_PLUGIN_PATH={}", f.parent().unwrap_or(Path::new("")).display())),
            ),
            None => Check::new(
                "reid-plugin",
                Status::Missing,
                format!("gst-inspect-1.0 finds no plugin `reid` ({where_})"),
                Some(build_fix.to_owned()),
            ),
        };
    }
    let missing: Vec<&str> = ELEMENTS.iter().copied().filter(|e| !found.contains(e)).collect();
    if missing.is_empty() {
        Check::new("reid-plugin", Status::Ok, format!("plugin `reid`: {} ({where_})", found.join(", ")), None)
    } else {
        Check::new(
            "reid-plugin",
            Status::Warn,
            format!("plugin `reid` has {} but not {} ({where_})", found.join(", "), missing.join(", ")),
            Some("rebuild with the publish feature: cargo build -p gst-reid --release --features publish".to_owned()),
        )
    }
}

/// What the ONNX Runtime checks found, for the engine verdict.
#[derive(Default)]
struct OrtFacts {
    library: bool,
    cpu: bool,
    cuda: bool,
    tensorrt: bool,
}

const ORT_FIX: &str = "scripts/setup-ort.sh (CPU; --gpu for CUDA/TensorRT on x86_64), or point --ort-lib / \
ORT_DYLIB_PATH at a libonnxruntime.so >= 1.17 (Jetson: the onnxruntime-gpu wheel for your JetPack, deploy/jetson.md)";

fn check_ort(probe: &OrtProbe) -> (Vec<Check>, OrtFacts) {
    let mut facts = OrtFacts::default();
    let checks = match probe {
        OrtProbe::NotBuilt => vec![Check::new(
            "onnxruntime",
            Status::Missing,
            "this reid was built without feature `ort` (no ONNX Runtime engines)",
            Some("rebuild with default features: cargo build -p reid-cli --release".to_owned()),
        )],
        OrtProbe::Missing(tried) => vec![Check::new(
            "onnxruntime",
            Status::Missing,
            format!("no usable libonnxruntime.so: {tried}"),
            Some(ORT_FIX.to_owned()),
        )],
        OrtProbe::Found { path, version, providers } => {
            facts.library = true;
            let lib =
                Check::new("onnxruntime", Status::Ok, format!("ONNX Runtime {version} at {}", path.display()), None);
            let providers = match providers {
                Err(e) => Check::new(
                    "ort-providers",
                    Status::Missing,
                    format!("the library loads but its providers cannot be listed: {e}"),
                    Some(ORT_FIX.to_owned()),
                ),
                Ok(list) => {
                    let has = |p: &str| list.iter().any(|l| l == p);
                    facts.cpu = has("CPUExecutionProvider");
                    facts.cuda = has("CUDAExecutionProvider");
                    facts.tensorrt = has("TensorrtExecutionProvider");
                    let finding =
                        format!("providers: {}", if list.is_empty() { "none".to_owned() } else { list.join(", ") });
                    if facts.cuda && facts.tensorrt {
                        Check::new("ort-providers", Status::Ok, finding, None)
                    } else {
                        let lacking: Vec<&str> =
                            [("CUDAExecutionProvider", facts.cuda), ("TensorrtExecutionProvider", facts.tensorrt)]
                                .iter()
                                .filter(|(_, has)| !has)
                                .map(|(n, _)| *n)
                                .collect();
                        Check::new(
                            "ort-providers",
                            Status::Warn,
                            format!("{finding} (no {}: CPU only)", lacking.join(", ")),
                            Some(
                                "for cuda/tensorrt use a GPU build: scripts/setup-ort.sh --gpu (x86_64) or the JetPack \
onnxruntime-gpu wheel's libonnxruntime.so via --ort-lib / ORT_DYLIB_PATH"
                                    .to_owned(),
                            ),
                        )
                    }
                }
            };
            vec![lib, providers]
        }
    };
    (checks, facts)
}

/// The driver version in `/proc/driver/nvidia/version` (`... Kernel Module  535.104.05  ...`).
fn parse_nvidia_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("Kernel Module"))?;
    let rest = line.split("Kernel Module").nth(1)?;
    rest.split_whitespace().find(|t| t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('.')).map(str::to_owned)
}

/// The L4T release in `/etc/nv_tegra_release` (`# R35 (release), REVISION: 3.1, ...` -> `R35.3.1`).
fn parse_tegra_release(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let major = line.trim_start_matches('#').split_whitespace().next()?.to_owned();
    let revision = line.split("REVISION:").nth(1)?.split(',').next()?.trim().to_owned();
    Some(format!("{major}.{revision}"))
}

fn check_cuda(host: &dyn Host, dirs: &[PathBuf]) -> (Check, bool) {
    let lib = find_library(host, dirs, &["libcuda.so.1"]);
    let kernel = host.read(Path::new("/proc/driver/nvidia/version")).and_then(|t| parse_nvidia_version(&t));
    let tegra = host.read(Path::new("/etc/nv_tegra_release")).and_then(|t| parse_tegra_release(&t));
    let driver = kernel.map(|v| format!("driver {v}")).or(tegra.map(|r| format!("L4T {r}")));
    let docker_fix = "install the NVIDIA driver (Debian/Ubuntu: nvidia-driver; Jetson: JetPack); in a container run \
with --gpus all / --runtime nvidia (NVIDIA Container Toolkit); CPU engines need none";
    match (lib, driver) {
        (Some(lib), Some(driver)) => {
            (Check::new("cuda-driver", Status::Ok, format!("{driver}, {}", lib.display()), None), true)
        }
        (Some(lib), None) => (
            Check::new(
                "cuda-driver",
                Status::Missing,
                format!("{} found but no NVIDIA kernel driver is loaded (/proc/driver/nvidia/version)", lib.display()),
                Some(docker_fix.to_owned()),
            ),
            false,
        ),
        (None, Some(driver)) => (
            Check::new(
                "cuda-driver",
                Status::Missing,
                format!("{driver} loaded but libcuda.so.1 is not on the library path"),
                Some(format!(
                    "install the driver's user-space libraries (libcuda1 / libnvidia-compute) or add their folder to LD_LIBRARY_PATH; {docker_fix}"
                )),
            ),
            false,
        ),
        (None, None) => (
            Check::new(
                "cuda-driver",
                Status::Missing,
                "no NVIDIA driver (no libcuda.so.1, no /proc/driver/nvidia/version)",
                Some(docker_fix.to_owned()),
            ),
            false,
        ),
    }
}

fn check_gpu(host: &dyn Host) -> (Check, Option<String>) {
    let none = Path::new("/nonexistent-reid-doctor");
    let driver = gpu_name_from(&host.path(Path::new("/proc/driver/nvidia/gpus")), &host.path(none), 0);
    let tree = || {
        gpu_name_from(&host.path(none), &host.path(Path::new("/proc/device-tree/model")), 0)
            .filter(|m| m.to_ascii_lowercase().contains("nvidia") || m.to_ascii_lowercase().contains("jetson"))
    };
    match driver.or_else(tree) {
        Some(name) => (Check::new("gpu", Status::Ok, name.clone(), None), Some(name)),
        None => (
            Check::new(
                "gpu",
                Status::Missing,
                "no NVIDIA GPU (/proc/driver/nvidia/gpus is empty, no Jetson device tree)",
                Some("tract and ort-cpu need none; cuda/tensorrt need an NVIDIA GPU with its driver loaded".to_owned()),
            ),
            None,
        ),
    }
}

fn check_tensorrt(host: &dyn Host) -> (Check, bool) {
    match host.tensorrt_version() {
        Some(v) => (Check::new("tensorrt", Status::Ok, format!("TensorRT {v} (libnvinfer)"), None), true),
        None => (
            Check::new(
                "tensorrt",
                Status::Missing,
                "no libnvinfer.so (TensorRT) on the library path",
                Some(
                    "only --engine tensorrt needs it: NVIDIA's apt repository (libnvinfer10 libnvinfer-plugin10), or \
JetPack (ships TensorRT 8.5/8.6/10)"
                        .to_owned(),
                ),
            ),
            false,
        ),
    }
}

/// The engine cache root as the engines pick it, from the host's environment.
fn cache_root(host: &dyn Host, explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_owned();
    }
    if let Some(p) = host.var("REID_ENGINE_CACHE") {
        return PathBuf::from(p);
    }
    let base = host
        .var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| host.var("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("reid").join("engines")
}

/// Below this much free space the engine cache check warns (a fp16 ResNet-50 engine is ~50 MB; timing caches
/// and several models and batch profiles add up).
const MIN_FREE_BYTES: u64 = 1 << 30;

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
}

fn check_disk(host: &dyn Host, explicit: Option<&Path>) -> Check {
    let root = cache_root(host, explicit);
    let exists = host.path(&root).is_dir();
    let mut probe = root.clone();
    while !host.path(&probe).is_dir() {
        match probe.parent() {
            Some(p) if p != probe => probe = p.to_owned(),
            _ => break,
        }
    }
    let state = if exists { "exists" } else { "created on first TensorRT build" };
    let fix = format!(
        "free space there, or point --engine-cache / REID_ENGINE_CACHE at a larger disk (needs {} for engines)",
        gib(MIN_FREE_BYTES)
    );
    match host.free_bytes(&host.path(&probe)) {
        Some(free) if free >= MIN_FREE_BYTES => {
            Check::new("engine-cache", Status::Ok, format!("{} free at {} ({state})", gib(free), root.display()), None)
        }
        Some(free) => Check::new(
            "engine-cache",
            Status::Warn,
            format!("only {} free at {} ({state})", gib(free), root.display()),
            Some(fix),
        ),
        None => Check::new(
            "engine-cache",
            Status::Warn,
            format!("cannot measure free space at {} (`df -Pk` failed)", root.display()),
            Some(fix),
        ),
    }
}

/// `tcp/host:port` (also `tls/`, `ws/`, or a bare `host:port`) as the `host:port` to connect to; `Err` for
/// protocols a TCP connection cannot probe.
fn zenoh_address(endpoint: &str) -> Result<String, String> {
    let endpoint = endpoint.split('#').next().unwrap_or(endpoint);
    let (proto, addr) = endpoint.split_once('/').unwrap_or(("tcp", endpoint));
    match proto {
        "tcp" | "tls" | "ws" => {}
        other => return Err(format!("`{other}` endpoints cannot be probed with a TCP connection")),
    }
    if !addr.contains(':') {
        return Err(format!("`{endpoint}`: expected tcp/HOST:PORT"));
    }
    Ok(addr.to_owned())
}

fn check_zenoh(host: &dyn Host, endpoint: &str, timeout: Duration) -> Check {
    let fix = "start the gallery / router there (systemctl start reid-gallery), and open TCP port 7447 in its \
firewall";
    match zenoh_address(endpoint) {
        Err(e) => Check::new("zenoh", Status::Warn, e, Some("give a tcp/HOST:PORT endpoint".to_owned())),
        Ok(addr) => match host.connect(&addr, timeout) {
            Ok(took) => Check::new(
                "zenoh",
                Status::Ok,
                format!("{endpoint} accepts TCP connections ({:.1} ms)", took.as_secs_f64() * 1e3),
                None,
            ),
            Err(e) => {
                Check::new("zenoh", Status::Missing, format!("{endpoint} unreachable: {e}"), Some(fix.to_owned()))
            }
        },
    }
}

/// Runs every check on `host`.
pub fn diagnose(host: &dyn Host, options: &Options) -> Report {
    let dirs = library_dirs(host);
    let mut checks = Vec::new();
    let (gst, has_inspect) = check_gstreamer(host, &dirs);
    checks.push(gst);
    checks.push(check_plugin(host, has_inspect));
    let (ort_checks, ort) = check_ort(&host.onnx_runtime(options.ort_lib.as_deref()));
    checks.extend(ort_checks);
    let (cuda_check, cuda) = check_cuda(host, &dirs);
    checks.push(cuda_check);
    let (gpu_check, gpu) = check_gpu(host);
    checks.push(gpu_check);
    let (trt_check, trt) = check_tensorrt(host);
    checks.push(trt_check);
    checks.push(check_disk(host, options.engine_cache.as_deref()));
    if let Some(endpoint) = &options.zenoh {
        checks.push(check_zenoh(host, endpoint, options.timeout));
    }

    let engine = options.engine;
    let mut lacking: Vec<&str> = Vec::new();
    let needs_ort = matches!(engine, EngineKind::OrtCpu | EngineKind::Cuda | EngineKind::TensorRt);
    if needs_ort && !ort.library {
        lacking.push("the ONNX Runtime library");
    } else if engine == EngineKind::OrtCpu && !ort.cpu {
        lacking.push("ONNX Runtime's CPUExecutionProvider");
    }
    if matches!(engine, EngineKind::Cuda | EngineKind::TensorRt) {
        if ort.library && !ort.cuda {
            lacking.push("ONNX Runtime's CUDAExecutionProvider");
        }
        if !cuda {
            lacking.push("the CUDA driver");
        }
        if gpu.is_none() {
            lacking.push("an NVIDIA GPU");
        }
    }
    if engine == EngineKind::TensorRt {
        if ort.library && !ort.tensorrt {
            lacking.push("ONNX Runtime's TensorrtExecutionProvider");
        }
        if !trt {
            lacking.push("TensorRT (libnvinfer)");
        }
    }
    let resolved = match engine {
        EngineKind::Auto if ort.library && ort.cpu => "ort-cpu".to_owned(),
        EngineKind::Auto => "tract".to_owned(),
        other => other.to_string(),
    };
    let engine_runs = lacking.is_empty();
    let verdict = if engine_runs {
        let how = match engine {
            EngineKind::Auto if resolved == "tract" => "auto runs as tract (no ONNX Runtime library found; pure Rust)",
            EngineKind::Auto => "auto runs as ort-cpu (ONNX Runtime's CPU provider)",
            EngineKind::Tract => "tract runs (pure Rust, nothing to install)",
            EngineKind::OrtCpu => "ort-cpu runs (ONNX Runtime's CPU provider)",
            EngineKind::Cuda => "cuda runs (ONNX Runtime's CUDA provider)",
            EngineKind::TensorRt => "tensorrt runs (engines are built on first start and cached under engine-cache)",
        };
        Check::new("engine", Status::Ok, how, None)
    } else {
        Check::new(
            "engine",
            Status::Missing,
            format!("{engine} cannot run: missing {}", lacking.join(", ")),
            Some("fix the MISSING lines above, or choose --engine tract (always available) / auto".to_owned()),
        )
    };
    checks.push(verdict);
    Report { engine: engine.to_string(), resolved_engine: resolved, engine_runs, checks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        assert_eq!(
            report.get("engine").unwrap().finding,
            "cuda cannot run: missing ONNX Runtime's CUDAExecutionProvider"
        );
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
        std::fs::remove_file(
            host.path(Path::new(&format!("/usr/lib/{}-linux-gnu/libcuda.so.1", std::env::consts::ARCH))),
        )
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
        assert_eq!(
            check.finding,
            "only 0.3 GiB free at /var/cache/edge/reid/engines (created on first TensorRT build)"
        );
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
        let df = "Filesystem     1024-blocks      Used Available Capacity Mounted on\n/dev/sda1   100000 40000 60000  40% /\n";
        assert_eq!(parse_df_available(df), Some(60000 * 1024));
        assert_eq!(parse_df_available("garbage"), None);
        assert_eq!(parse_gst_version("gst-inspect-1.0 version 1.16.3\nGStreamer 1.16.3\n").as_deref(), Some("1.16.3"));
        assert_eq!(major_minor("1.16.3"), Some((1, 16)));
    }
}
