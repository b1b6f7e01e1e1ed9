//! DeepStream support, with no build-time dependency on DeepStream: the C structures are declared in Rust
//! ([`reid_deepstream_abi`], re-exported as [`abi`]) and `libnvds_meta.so`, `libnvdsgst_meta.so` and
//! `libnvbufsurface.so` are loaded at run time, once ([`library`]).
//!
//! - `library.rs`: finding and loading the libraries, the functions the elements call ([`DeepStream`]); adding
//!   a function is one field and one line there.
//! - `version.rs`: the DeepStream version (`nvds_version`, else the SDK's `version` file) and the structure
//!   layout it selects; an unknown version is refused with a message naming it, and the elements keep working
//!   in ROI mode.
//! - `batch.rs`: walking an `NvDsBatchMeta` (frames, objects, user metas) under its lock: the per-object
//!   iteration `reidembed` and `reidpublish` share.
//! - `usermeta.rs`: the `REID.EMBEDDING` user meta (see [`abi::embedding`]): writing it with copy and release
//!   functions, reading it back.
//! - `cameras.rs`: the `cameras` property (source ids to camera names) both elements share.
//! - `tensor.rs`: nvinfer's output tensor on an object (`NvDsInferTensorMeta`), read back as an embedding for
//!   `reidembed engine=nvinfer`, every count and pointer checked first.
//! - `surface.rs`: an NVMM buffer's `NvBufSurface` mapped for the CPU as a [`crate::frame::FrameView`], sizes
//!   validated before anything is read, unmapped on drop.

mod batch;
mod cameras;
mod library;
mod surface;
mod tensor;
mod usermeta;
mod version;

pub use batch::{Batch, FrameRef, MetaLock, ObjectRef, UserMetaRef};
pub use cameras::Cameras;
pub use library::{DeepStream, library, status, use_library};
pub use reid_deepstream_abi as abi;
pub use surface::{MappedSurface, SurfaceInfo, surface_info};
pub use tensor::{object_embedding, read_first_output};
pub use usermeta::{EmbeddingRead, attach_embedding, read_embedding};
pub use version::{Version, parse_version_file};

/// The caps feature of NVIDIA's device memory.
pub const NVMM_FEATURE: &str = "memory:NVMM";
