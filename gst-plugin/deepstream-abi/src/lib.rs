//! The DeepStream C structures that `gst-reid` reads and writes, declared `#[repr(C)]` from NVIDIA's published
//! headers (DeepStream SDK API reference, `sources/includes/nvdsmeta.h`, `nvll_osd_struct.h`, `gstnvdsmeta.h`,
//! `nvbufsurface.h`), with no dependency on DeepStream itself: the libraries are loaded at run time by
//! `gst-reid`'s `deepstream` module, and the test-only fake library (`reid-fake-deepstream`) exports the same
//! functions over these same declarations.
//!
//! Versions: DeepStream 6.x, 7.x, 8.x and 9.x share the metadata structures field for field up to the fields the
//! element touches (the API reference lists the same members in the same order for 6.2, 6.4, 7.0, 7.1, 8.0, 9.0
//! and 9.1), so [`meta`] and [`osd`] hold one declaration for all of them. `NvBufSurface` differs: 8.0 added
//! `bool isImportedBuf` after `surfaceList` (72 bytes instead of 64), see [`surface`]. [`Layout`] names what
//! a major version uses; [`layout_for`] refuses other versions.
//!
//! Sizes and offsets are those of LP64 targets (x86_64 and aarch64 Linux, where DeepStream runs); the layout
//! tests assert them against a table transcribed by hand from the headers.

pub mod embedding;
pub mod infer;
pub mod meta;
pub mod osd;
pub mod surface;
pub mod version;

#[cfg(test)]
mod layout_tests;

/// `NVDS_GST_CUSTOM_META` (`nvdsmeta.h`): the first GStreamer-level meta type.
pub const NVDS_GST_CUSTOM_META: i32 = 4096;
/// `NVDS_BATCH_GST_META` (`gstnvdsmeta.h`): the `NvDsMeta` that carries an `NvDsBatchMeta`.
pub const NVDS_BATCH_GST_META: i32 = NVDS_GST_CUSTOM_META + 1;
/// `NVDS_START_USER_META` (`nvdsmeta.h`): user meta types from `nvds_get_user_meta_type` start here.
pub const NVDS_START_USER_META: i32 = NVDS_GST_CUSTOM_META + 4096 + 1;
/// `NVDS_USER_META` (`nvdsmeta.h`): the generic user meta type.
pub const NVDS_USER_META: i32 = 7;
/// `UNTRACKED_OBJECT_ID` (`nvdsmeta.h`): `object_id` of an object no tracker has seen.
pub const UNTRACKED_OBJECT_ID: u64 = u64::MAX;
/// `MAX_USER_FIELDS` (`nvdsmeta.h`).
pub const MAX_USER_FIELDS: usize = 4;
/// `MAX_RESERVED_FIELDS` (`nvdsmeta.h`).
pub const MAX_RESERVED_FIELDS: usize = 4;
/// `MAX_LABEL_SIZE` (`nvdsmeta.h`).
pub const MAX_LABEL_SIZE: usize = 128;
/// `NVBUF_MAX_PLANES` (`nvbufsurface.h`).
pub const NVBUF_MAX_PLANES: usize = 4;
/// `STRUCTURE_PADDING` (`nvbufsurface.h`).
pub const STRUCTURE_PADDING: usize = 4;
/// `NVBUF_MAP_READ` (`NvBufSurfaceMemMapFlags`, `nvbufsurface.h`).
pub const NVBUF_MAP_READ: i32 = 0;
/// The user meta descriptor `reidembed` registers with `nvds_get_user_meta_type`.
pub const EMBEDDING_META_DESCRIPTOR: &std::ffi::CStr = c"REID.EMBEDDING";

/// What one DeepStream major version's structures look like where they differ between versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The major versions this layout covers, for messages.
    pub versions: &'static str,
    /// `sizeof(NvBufSurface)`: 64 up to 7.x, 72 from 8.0 (`isImportedBuf`).
    pub surface_size: usize,
}

/// The layout of DeepStream 6.x and 7.x.
pub const LAYOUT_6_7: Layout = Layout { versions: "6.x-7.x", surface_size: size_of::<surface::NvBufSurfaceV6>() };
/// The layout of DeepStream 8.x and 9.x.
pub const LAYOUT_8_9: Layout = Layout { versions: "8.x-9.x", surface_size: size_of::<surface::NvBufSurfaceV8>() };

/// The major versions with a declared layout.
pub const SUPPORTED_MAJORS: [u32; 4] = [6, 7, 8, 9];

/// The layout of DeepStream `major`, `None` for a version without a declaration (older than 6, newer than 9).
pub fn layout_for(major: u32) -> Option<Layout> {
    match major {
        6 | 7 => Some(LAYOUT_6_7),
        8 | 9 => Some(LAYOUT_8_9),
        _ => None,
    }
}
