//! Finding and loading the ONNX Runtime shared library at run time (nothing is linked or downloaded at build
//! time), and the one process-wide ONNX Runtime environment.
//!
//! Search order: the explicit path (`--ort-lib`), `$ORT_DYLIB_PATH`, the folder `scripts/setup-ort.sh` installs
//! into ([`install_dir`]), `/opt/reid/lib` (the deploy kit), then the dynamic loader's own search
//! (`libonnxruntime.so` on `LD_LIBRARY_PATH` and the system folders).

use super::super::EngineError;
use ort::environment::Environment;
use std::ffi::{CStr, c_char};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Environment variable naming the library file (the same one `ort` itself reads).
pub const LIBRARY_ENV: &str = "ORT_DYLIB_PATH";

/// The oldest ONNX Runtime accepted (the `api-17` feature of `ort`).
pub const MIN_MINOR_VERSION: u32 = 17;

/// The library file name.
pub const LIBRARY_FILE: &str = "libonnxruntime.so";

/// Where `scripts/setup-ort.sh` puts the library: `$REID_HOME/onnxruntime/lib`, `REID_HOME` defaulting to
/// `$XDG_DATA_HOME/reid` or `~/.local/share/reid`.
pub fn install_dir() -> Option<PathBuf> {
    let home = match std::env::var_os("REID_HOME") {
        Some(h) => PathBuf::from(h),
        None => std::env::var_os("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local").join("share")))?
            .join("reid"),
    };
    Some(home.join("onnxruntime").join("lib"))
}

/// A place the library may be, and why it is searched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The file (or bare name for the loader's own search).
    pub path: PathBuf,
    /// Where the candidate comes from (`--ort-lib`, `$ORT_DYLIB_PATH`, ...).
    pub origin: &'static str,
}

/// The places searched, in order. An explicit path or `$ORT_DYLIB_PATH` is the only candidate when given.
pub fn candidates(explicit: Option<&Path>) -> Vec<Candidate> {
    if let Some(p) = explicit {
        return vec![Candidate { path: p.to_owned(), origin: "--ort-lib" }];
    }
    if let Some(p) = std::env::var_os(LIBRARY_ENV).filter(|p| !p.is_empty()) {
        return vec![Candidate { path: PathBuf::from(p), origin: "$ORT_DYLIB_PATH" }];
    }
    let mut out = Vec::new();
    if let Some(dir) = install_dir() {
        out.push(Candidate { path: dir.join(LIBRARY_FILE), origin: "scripts/setup-ort.sh" });
    }
    out.push(Candidate { path: PathBuf::from("/opt/reid/lib").join(LIBRARY_FILE), origin: "deploy kit" });
    out.push(Candidate { path: PathBuf::from(LIBRARY_FILE), origin: "system library path" });
    out
}

/// A usable library: where it is and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Library {
    /// The file loaded.
    pub path: PathBuf,
    /// ONNX Runtime's version string (`1.32.0`).
    pub version: String,
}

/// The first candidate that loads as ONNX Runtime >= 1.[`MIN_MINOR_VERSION`]; the error lists every place tried
/// and why each failed.
pub fn find(explicit: Option<&Path>) -> Result<Library, EngineError> {
    let mut tried = Vec::new();
    for candidate in candidates(explicit) {
        let bare = candidate.path.components().count() == 1;
        if !bare && !candidate.path.exists() {
            tried.push(format!("{} ({}): no such file", candidate.path.display(), candidate.origin));
            continue;
        }
        match probe(&candidate.path) {
            Ok(version) => {
                let minor = version.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
                if minor < MIN_MINOR_VERSION {
                    tried.push(format!(
                        "{} ({}): ONNX Runtime {version} is older than 1.{MIN_MINOR_VERSION}",
                        candidate.path.display(),
                        candidate.origin
                    ));
                    continue;
                }
                return Ok(Library { path: candidate.path, version });
            }
            Err(e) => tried.push(format!("{} ({}): {e}", candidate.path.display(), candidate.origin)),
        }
    }
    Err(EngineError::Library { tried: tried.join("; ") })
}

/// The C layout of `OrtApiBase` (the only symbol every ONNX Runtime library exports).
#[repr(C)]
struct ApiBase {
    get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
    get_version_string: unsafe extern "C" fn() -> *const c_char,
}

/// Loads `path` and asks it for its version.
fn probe(path: &Path) -> Result<String, String> {
    // SAFETY: loading a shared library runs its initialisers; the file is the ONNX Runtime library the user (or
    // the setup script) pointed at, which is what the engine would load anyway.
    let lib = unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())?;
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release (onnxruntime_c_api.h).
    let getter = unsafe { lib.get::<unsafe extern "C" fn() -> *const ApiBase>(b"OrtGetApiBase") }
        .map_err(|_| "not an ONNX Runtime library (no `OrtGetApiBase`)".to_owned())?;
    // SAFETY: the function takes no arguments and returns a pointer to a static struct (or null).
    let base = unsafe { getter() };
    if base.is_null() {
        return Err("`OrtGetApiBase` returned null".to_owned());
    }
    // SAFETY: `base` is non-null and points at the library's static `OrtApiBase`, whose second field returns a
    // static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(((*base).get_version_string)()) };
    let version = version.to_string_lossy().into_owned();
    // Keep the library mapped: `ort` loads the same file next and the OS shares the mapping.
    std::mem::forget(lib);
    Ok(version)
}

/// The process's ONNX Runtime environment and the library it came from (one per process).
static ENVIRONMENT: Mutex<Option<(Environment, Library)>> = Mutex::new(None);

/// The process-wide environment, loading the library on first use. A later call naming a different library
/// is an error: one process holds one ONNX Runtime.
pub fn environment(explicit: Option<&Path>) -> Result<(Environment, Library), EngineError> {
    let mut slot = ENVIRONMENT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((env, lib)) = slot.as_ref() {
        if let Some(path) = explicit
            && path != lib.path
        {
            return Err(EngineError::Library {
                tried: format!(
                    "{} was asked for, but this process already runs ONNX Runtime from {}",
                    path.display(),
                    lib.path.display()
                ),
            });
        }
        return Ok((env.clone(), lib.clone()));
    }
    let lib = find(explicit)?;
    let load_err = |e: String| EngineError::Library { tried: format!("{}: {e}", lib.path.display()) };
    let builder = ort::init_from(&lib.path).map_err(|e| load_err(e.to_string()))?;
    let env = builder.with_name("reid").with_telemetry(false).build().map_err(|e| load_err(e.to_string()))?;
    tracing::info!("ONNX Runtime {} from {}", lib.version, lib.path.display());
    *slot = Some((env.clone(), lib.clone()));
    Ok((env, lib))
}

/// The execution providers the loaded library was built with (`CPUExecutionProvider`, ...).
pub fn available_providers(explicit: Option<&Path>) -> Result<Vec<String>, EngineError> {
    use ort::ep::ExecutionProvider;
    environment(explicit)?;
    let mut out = Vec::new();
    let check = |available: ort::Result<bool>, name: &str, out: &mut Vec<String>| {
        if available.unwrap_or(false) {
            out.push(name.to_owned());
        }
    };
    check(ort::ep::CPU::is_available(), "CPUExecutionProvider", &mut out);
    check(ort::ep::CUDA::is_available(), "CUDAExecutionProvider", &mut out);
    check(ort::ep::TensorRT::is_available(), "TensorrtExecutionProvider", &mut out);
    Ok(out)
}
