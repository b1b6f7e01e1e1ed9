//! The `REID.EMBEDDING` user meta on an `NvDsObjectMeta`: `user_meta_data` is a
//! [`ReidEmbeddingMeta`](reid_deepstream_abi::embedding::ReidEmbeddingMeta) (C declaration in
//! [`reid_deepstream_abi::embedding`]) whose struct and values are `g_malloc`'d; the copy function deep-copies
//! both, the release function frees both.

use super::batch::{Batch, MetaLock, ObjectRef, UserMetaRef};
use crate::params::Embedding;
use gst::glib::ffi as glib_ffi;
use reid_deepstream_abi::embedding::{MODEL_LEN, ReidEmbeddingMeta};
use reid_deepstream_abi::meta::NvDsUserMeta;
use std::ffi::c_void;

/// The largest `dim` read back (a bigger one is refused as corrupt).
pub const MAX_DIM: u32 = 1 << 16;

/// Copies `text` into `dst`, truncated, NUL-terminated.
fn put_text(dst: &mut [std::ffi::c_char; MODEL_LEN], text: &str) {
    for (d, s) in dst.iter_mut().zip(text.bytes().take(MODEL_LEN - 1)) {
        *d = s as std::ffi::c_char;
    }
}

/// The text of a NUL-terminated field.
fn get_text(src: &[std::ffi::c_char; MODEL_LEN]) -> String {
    let len = src.iter().position(|c| *c == 0).unwrap_or(MODEL_LEN);
    let bytes: Vec<u8> = src[..len].iter().map(|c| *c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A `g_malloc`'d [`ReidEmbeddingMeta`] holding `values` (zeroed text fields).
fn new_meta(values: &[f32], age: u32, normalized: bool) -> *mut ReidEmbeddingMeta {
    // SAFETY: g_malloc0 returns zeroed memory of the requested size (aborts on failure); both regions are
    // written only within their sizes.
    unsafe {
        let meta = glib_ffi::g_malloc0(size_of::<ReidEmbeddingMeta>()).cast::<ReidEmbeddingMeta>();
        let data = glib_ffi::g_malloc0(size_of_val(values).max(1)).cast::<f32>();
        std::ptr::copy_nonoverlapping(values.as_ptr(), data, values.len());
        (*meta).dim = u32::try_from(values.len()).unwrap_or(u32::MAX);
        (*meta).age = age;
        (*meta).values = data;
        (*meta).normalized = u32::from(normalized);
        meta
    }
}

/// `NvDsMetaCopyFunc` of the user meta: `data` is the `NvDsUserMeta *`; returns a deep copy of its data.
unsafe extern "C" fn copy_embedding(data: *mut c_void, _user_data: *mut c_void) -> *mut c_void {
    let user = data.cast::<NvDsUserMeta>();
    // SAFETY: DeepStream passes the user meta this function was set on; its data is ours.
    unsafe {
        let src = (*user).user_meta_data.cast::<ReidEmbeddingMeta>();
        if src.is_null() {
            return std::ptr::null_mut();
        }
        let values = if (*src).values.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts((*src).values, (*src).dim as usize)
        };
        let copy = new_meta(values, (*src).age, (*src).normalized != 0);
        (*copy).model = (*src).model;
        (*copy).camera = (*src).camera;
        copy.cast()
    }
}

/// `NvDsMetaReleaseFunc` of the user meta: frees the values and the struct.
unsafe extern "C" fn release_embedding(data: *mut c_void, _user_data: *mut c_void) {
    let user = data.cast::<NvDsUserMeta>();
    // SAFETY: as in `copy_embedding`; both regions came from g_malloc.
    unsafe {
        let meta = (*user).user_meta_data.cast::<ReidEmbeddingMeta>();
        if !meta.is_null() {
            glib_ffi::g_free((*meta).values.cast());
            glib_ffi::g_free(meta.cast());
            (*user).user_meta_data = std::ptr::null_mut();
        }
    }
}

/// Attaches `embedding` of a frame of `camera` to `object` as a `REID.EMBEDDING` user meta (the batch lock is
/// held: `_lock`); `false` when DeepStream gave no user meta.
pub fn attach_embedding(
    batch: &Batch,
    _lock: &MetaLock,
    object: &ObjectRef,
    embedding: &Embedding,
    camera: &str,
) -> bool {
    let ds = batch.deepstream();
    // SAFETY: a live batch under its lock.
    let user = unsafe { (ds.api.acquire_user_meta)(batch.as_ptr()) };
    if user.is_null() {
        return false;
    }
    let meta = new_meta(&embedding.vector, embedding.age, embedding.normalized);
    // SAFETY: just allocated.
    unsafe {
        put_text(&mut (*meta).model, &embedding.model);
        put_text(&mut (*meta).camera, camera);
    }
    // SAFETY: a fresh user meta from the pool; the object belongs to this batch.
    unsafe {
        (*user).user_meta_data = meta.cast();
        (*user).base_meta.meta_type = ds.embedding_meta_type;
        (*user).base_meta.copy_func = Some(copy_embedding);
        (*user).base_meta.release_func = Some(release_embedding);
        (ds.api.add_user_meta_to_obj)(object.object, user);
    }
    true
}

/// What a user meta holds, for a reader of embeddings.
#[derive(Debug, PartialEq)]
pub enum EmbeddingRead {
    /// Another component's user meta (another `meta_type`).
    Foreign,
    /// A `REID.EMBEDDING` meta that cannot be read: why.
    Bad(String),
    /// The embedding and the camera name recorded with it.
    Embedding(Embedding, String),
}

/// Reads the user meta `user` as an embedding of `batch`'s DeepStream.
pub fn read_embedding(batch: &Batch, user: UserMetaRef) -> EmbeddingRead {
    // SAFETY: a user meta from an object's list of a live batch.
    let user = unsafe { &*user.0 };
    if user.base_meta.meta_type != batch.deepstream().embedding_meta_type {
        return EmbeddingRead::Foreign;
    }
    let meta = user.user_meta_data.cast::<ReidEmbeddingMeta>();
    if meta.is_null() {
        return EmbeddingRead::Bad("REID.EMBEDDING user meta without data".to_owned());
    }
    // SAFETY: a REID.EMBEDDING meta's data is a ReidEmbeddingMeta (checked non-null).
    let meta = unsafe { &*meta };
    if meta.dim == 0 || meta.dim > MAX_DIM || meta.values.is_null() {
        return EmbeddingRead::Bad(format!(
            "REID.EMBEDDING user meta with dim {} and {} values",
            meta.dim,
            if meta.values.is_null() { "no" } else { "some" }
        ));
    }
    // SAFETY: `values` holds `dim` floats (checked non-null and bounded).
    let vector = unsafe { std::slice::from_raw_parts(meta.values, meta.dim as usize) }.to_vec();
    let embedding = Embedding { vector, model: get_text(&meta.model), normalized: meta.normalized != 0, age: meta.age };
    EmbeddingRead::Embedding(embedding, get_text(&meta.camera))
}
