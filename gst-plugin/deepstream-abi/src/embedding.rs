//! The user meta `reidembed` attaches to each embedded `NvDsObjectMeta` (meta type
//! `nvds_get_user_meta_type("REID.EMBEDDING")`), as C code declares it:
//!
//! ```c
//! typedef struct {
//!   guint32 dim;        /* number of values */
//!   guint32 age;        /* frames since computed: 0 fresh, > 0 reused for a tracked object (interval) */
//!   gfloat *values;     /* dim floats (g_malloc'd), L2-normalised when normalized != 0 */
//!   guint32 normalized; /* 1 when the vector has unit L2 norm */
//!   guint32 reserved;
//!   gchar model[64];    /* model id, NUL-terminated (truncated) */
//!   gchar camera[64];   /* camera name of the frame's source_id (reidembed's `cameras`), NUL-terminated */
//! } ReidEmbeddingMeta;  /* 152 bytes on LP64 */
//! ```

use std::ffi::c_char;

/// Bytes of [`ReidEmbeddingMeta::model`] and [`ReidEmbeddingMeta::camera`].
pub const MODEL_LEN: usize = 64;

/// The `user_meta_data` of a `REID.EMBEDDING` user meta (see the module documentation).
#[repr(C)]
#[derive(Debug)]
pub struct ReidEmbeddingMeta {
    /// Number of values.
    pub dim: u32,
    /// Frames since computed.
    pub age: u32,
    /// `dim` floats.
    pub values: *mut f32,
    /// 1 when L2-normalised.
    pub normalized: u32,
    /// Reserved (0).
    pub reserved: u32,
    /// Model id, NUL-terminated.
    pub model: [c_char; MODEL_LEN],
    /// Camera name, NUL-terminated.
    pub camera: [c_char; MODEL_LEN],
}
