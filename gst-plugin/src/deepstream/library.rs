//! Finding and loading DeepStream's libraries at run time, once.
//!
//! Where: `REID_DEEPSTREAM_LIB` (or [`use_library`]) names one library that exports every function (the tests'
//! fake); else each of [`LIBRARIES`] is looked up on the loader's path, then in `REID_DEEPSTREAM_LIB_DIR`, then in
//! [`DEFAULT_DIR`]. Every function is looked up in each loaded library in turn, so adding one (the `engine=nvinfer`
//! work will) is one field of [`Api`] and one line of [`Api::resolve`].

use super::version::{Version, version_from_file};
use reid_deepstream_abi::meta::{NvDsBatchMeta, NvDsObjectMeta, NvDsUserMeta};
use reid_deepstream_abi::surface::NvBufSurfaceHead;
use reid_deepstream_abi::{EMBEDDING_META_DESCRIPTOR, Layout};
use std::ffi::{c_char, c_uint};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use reid_deepstream_abi::version::LIBRARIES;
/// DeepStream's default install directory of its libraries.
pub const DEFAULT_DIR: &str = "/opt/nvidia/deepstream/deepstream/lib";
/// DeepStream's default version file.
pub const DEFAULT_VERSION_FILE: &str = "/opt/nvidia/deepstream/deepstream/version";

/// The functions the elements call (signatures of `nvdsmeta.h`, `gstnvdsmeta.h`, `nvbufsurface.h`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Api {
    pub(crate) acquire_meta_lock: unsafe extern "C" fn(*mut NvDsBatchMeta),
    pub(crate) release_meta_lock: unsafe extern "C" fn(*mut NvDsBatchMeta),
    pub(crate) acquire_user_meta: unsafe extern "C" fn(*mut NvDsBatchMeta) -> *mut NvDsUserMeta,
    pub(crate) add_user_meta_to_obj: unsafe extern "C" fn(*mut NvDsObjectMeta, *mut NvDsUserMeta),
    pub(crate) get_user_meta_type: unsafe extern "C" fn(*mut c_char) -> i32,
    pub(crate) get_batch_meta: unsafe extern "C" fn(*mut gst::ffi::GstBuffer) -> *mut NvDsBatchMeta,
    pub(crate) surface_map: unsafe extern "C" fn(*mut NvBufSurfaceHead, i32, i32, i32) -> i32,
    pub(crate) surface_unmap: unsafe extern "C" fn(*mut NvBufSurfaceHead, i32, i32) -> i32,
    pub(crate) surface_sync_for_cpu: unsafe extern "C" fn(*mut NvBufSurfaceHead, i32, i32) -> i32,
}

/// The first of `libraries` that exports `name`, as a `T` (a function pointer type).
fn find<T: Copy>(libraries: &[(PathBuf, libloading::Library)], name: &str) -> Result<T, String> {
    for (_, library) in libraries {
        // SAFETY: `T` is the function pointer type the DeepStream header declares for `name` (see `Api`).
        if let Ok(symbol) = unsafe { library.get::<T>(name) } {
            return Ok(*symbol);
        }
    }
    let names: Vec<String> = libraries.iter().map(|(p, _)| p.display().to_string()).collect();
    Err(format!("no `{name}` in {}", names.join(", ")))
}

impl Api {
    fn resolve(libraries: &[(PathBuf, libloading::Library)]) -> Result<Self, String> {
        Ok(Api {
            acquire_meta_lock: find(libraries, "nvds_acquire_meta_lock")?,
            release_meta_lock: find(libraries, "nvds_release_meta_lock")?,
            acquire_user_meta: find(libraries, "nvds_acquire_user_meta_from_pool")?,
            add_user_meta_to_obj: find(libraries, "nvds_add_user_meta_to_obj")?,
            get_user_meta_type: find(libraries, "nvds_get_user_meta_type")?,
            get_batch_meta: find(libraries, "gst_buffer_get_nvds_batch_meta")?,
            surface_map: find(libraries, "NvBufSurfaceMap")?,
            surface_unmap: find(libraries, "NvBufSurfaceUnMap")?,
            surface_sync_for_cpu: find(libraries, "NvBufSurfaceSyncForCpu")?,
        })
    }
}

/// DeepStream, loaded: its version, the layout that version uses, and the functions.
pub struct DeepStream {
    /// The libraries, kept loaded for the life of the process.
    libraries: Vec<(PathBuf, libloading::Library)>,
    /// The version.
    pub version: Version,
    /// The structure layout of that version.
    pub layout: Layout,
    pub(crate) api: Api,
    /// `nvds_get_user_meta_type("REID.EMBEDDING")`.
    pub embedding_meta_type: i32,
}

impl std::fmt::Debug for DeepStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepStream").field("version", &self.version).field("paths", &self.paths()).finish()
    }
}

/// Opens the library at `path`.
fn open(path: &Path) -> Result<libloading::Library, String> {
    // SAFETY: loading a DeepStream library runs its initialisers, which only register types and set globals.
    unsafe { libloading::Library::new(path) }.map_err(|e| e.to_string())
}

/// Opens `name` from the loader's path, then from `dirs`.
fn open_searched(name: &str, dirs: &[PathBuf]) -> Result<(PathBuf, libloading::Library), String> {
    let mut errors = Vec::new();
    for candidate in std::iter::once(PathBuf::from(name)).chain(dirs.iter().map(|d| d.join(name))) {
        match open(&candidate) {
            Ok(library) => return Ok((candidate, library)),
            Err(e) => errors.push(e),
        }
    }
    Err(format!("{name} not found ({})", errors.join("; ")))
}

impl DeepStream {
    /// Loads DeepStream from `single` (one library exporting every function), or else from the default places.
    pub fn load(single: Option<&Path>) -> Result<Self, String> {
        let libraries = match single {
            Some(path) => vec![(path.to_owned(), open(path).map_err(|e| format!("{}: {e}", path.display()))?)],
            None => {
                let mut dirs: Vec<PathBuf> =
                    std::env::var_os("REID_DEEPSTREAM_LIB_DIR").map(PathBuf::from).into_iter().collect();
                dirs.push(PathBuf::from(DEFAULT_DIR));
                LIBRARIES.iter().map(|name| open_searched(name, &dirs)).collect::<Result<_, _>>()?
            }
        };
        let version = Self::version_of(&libraries)?;
        let layout = version.layout()?;
        let api = Api::resolve(&libraries)?;
        let mut descriptor = EMBEDDING_META_DESCRIPTOR.to_bytes_with_nul().to_vec();
        // SAFETY: a NUL-terminated descriptor; DeepStream copies it.
        let embedding_meta_type = unsafe { (api.get_user_meta_type)(descriptor.as_mut_ptr().cast()) };
        Ok(DeepStream { libraries, version, layout, api, embedding_meta_type })
    }

    /// `nvds_version` from the libraries, else the version file next to them or in the default place.
    fn version_of(libraries: &[(PathBuf, libloading::Library)]) -> Result<Version, String> {
        type NvdsVersion = unsafe extern "C" fn(*mut c_uint, *mut c_uint);
        if let Ok(nvds_version) = find::<NvdsVersion>(libraries, "nvds_version") {
            let (mut major, mut minor) = (0, 0);
            // SAFETY: `void nvds_version(unsigned int *major, unsigned int *minor)` (nvds_version.h).
            unsafe { nvds_version(&mut major, &mut minor) };
            return Ok(Version { major, minor });
        }
        let beside = libraries.first().and_then(|(p, _)| p.parent()?.parent().map(|d| d.join("version")));
        let files: Vec<PathBuf> =
            beside.into_iter().chain(std::iter::once(PathBuf::from(DEFAULT_VERSION_FILE))).collect();
        let mut errors = Vec::new();
        for file in &files {
            match version_from_file(file) {
                Ok(v) => return Ok(v),
                Err(e) => errors.push(e),
            }
        }
        Err(format!("cannot tell the DeepStream version: no `nvds_version` exported, {}", errors.join("; ")))
    }

    /// The paths of the loaded libraries.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.libraries.iter().map(|(p, _)| p.clone()).collect()
    }
}

static OVERRIDE: OnceLock<PathBuf> = OnceLock::new();
static LIBRARY: OnceLock<Result<DeepStream, String>> = OnceLock::new();

/// Uses the library at `path` (one library exporting every function) instead of searching: for tests and for
/// applications that ship DeepStream elsewhere. Effective only before the first [`library`] call; `false` after.
pub fn use_library(path: impl Into<PathBuf>) -> bool {
    OVERRIDE.set(path.into()).is_ok() && LIBRARY.get().is_none()
}

/// DeepStream, loaded on the first call (see the module documentation), or why it is not available.
pub fn library() -> Result<&'static DeepStream, &'static str> {
    LIBRARY
        .get_or_init(|| {
            let single = OVERRIDE.get().cloned().or_else(|| std::env::var_os("REID_DEEPSTREAM_LIB").map(PathBuf::from));
            DeepStream::load(single.as_deref())
        })
        .as_ref()
        .map_err(String::as_str)
}

/// One line for logs and `reid doctor`: the DeepStream version and libraries, or why NvDs mode is off.
pub fn status() -> String {
    match library() {
        Ok(ds) => {
            let paths: Vec<String> = ds.paths().iter().map(|p| p.display().to_string()).collect();
            format!(
                "DeepStream {} ({} layout): NvDs mode available ({})",
                ds.version,
                ds.layout.versions,
                paths.join(", ")
            )
        }
        Err(e) => format!("NvDs mode not available: {e}"),
    }
}
