//! Everything the checks learn about the machine goes through [`Host`]: environment, files under its `/`,
//! commands, the ONNX Runtime probe, free disk, TCP connections. [`SystemHost`] is the real machine; tests fake it.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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
    /// Loads a shared library: a bare file name through the dynamic loader's search, a path as on the host.
    fn load_library(&self, library: &Path) -> Result<(), String> {
        load_library_at(self, library)
    }
}

/// [`Host::load_library`] on the real loader (paths mapped under the host's `/`). A loaded library stays loaded:
/// unloading libraries that register CUDA or GLib state is what crashes, and `reid doctor` exits right after.
pub(super) fn load_library_at<H: Host + ?Sized>(host: &H, library: &Path) -> Result<(), String> {
    let target = if library.components().count() > 1 { host.path(library) } else { library.to_owned() };
    // SAFETY: loading runs the library's initialisers; DeepStream's libraries (the only ones probed) have none
    // with preconditions on the caller, and no symbol is called.
    match unsafe { libloading::Library::new(&target) } {
        Ok(lib) => {
            std::mem::forget(lib);
            Ok(())
        }
        Err(e) => Err(e.to_string()),
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
pub(super) fn run_with_timeout(program: &str, args: &[&str], limit: Duration) -> Option<Output> {
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
pub(super) fn parse_df_available(text: &str) -> Option<u64> {
    let line = text.lines().nth(1)?;
    let kib: u64 = line.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib * 1024)
}

/// A TCP connection to `addr`, with the time it took.
pub(super) fn tcp_connect(addr: &str, timeout: Duration) -> Result<Duration, String> {
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
pub(super) fn ld_so_conf<H: Host + ?Sized>(
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
pub(super) fn tensorrt_from_files<H: Host + ?Sized>(host: &H) -> Option<String> {
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
