//! `gstnvdsmeta.h`: the `NvDsMeta` GStreamer meta (API `NvDsMetaAPI`, tag `nvdsmeta`, implementation
//! `NvDsMeta`) that carries a batch meta on a `GstBuffer`.

use gst::ffi as gst_ffi;
use gst::glib::ffi as glib_ffi;
use gst::glib::gobject_ffi;
use reid_deepstream_abi::NVDS_BATCH_GST_META;
use reid_deepstream_abi::meta::{NvDsBatchMeta, NvDsMeta, NvDsMetaCopyFunc, NvDsMetaReleaseFunc};
use std::ffi::c_void;
use std::sync::OnceLock;

/// `nvds_meta_api_get_type`: the API type, registered once (or found, when registered already).
#[unsafe(no_mangle)]
pub extern "C" fn nvds_meta_api_get_type() -> glib_ffi::GType {
    static TYPE: OnceLock<glib_ffi::GType> = OnceLock::new();
    *TYPE.get_or_init(|| {
        // SAFETY: GStreamer is initialised by the caller (the element or the test); the strings are static.
        unsafe {
            let existing = gobject_ffi::g_type_from_name(c"NvDsMetaAPI".as_ptr());
            if existing != 0 {
                return existing;
            }
            let mut tags = [c"nvdsmeta".as_ptr(), std::ptr::null()];
            gst_ffi::gst_meta_api_type_register(c"NvDsMetaAPI".as_ptr(), tags.as_mut_ptr())
        }
    })
}

/// Initialises a new `NvDsMeta`: no data.
unsafe extern "C" fn init(
    meta: *mut gst_ffi::GstMeta,
    _params: glib_ffi::gpointer,
    _buf: *mut gst_ffi::GstBuffer,
) -> i32 {
    let m = meta.cast::<NvDsMeta>();
    // SAFETY: GStreamer allocated sizeof(NvDsMeta) bytes.
    unsafe {
        (*m).meta_data = std::ptr::null_mut();
        (*m).user_data = std::ptr::null_mut();
        (*m).meta_type = 0;
        (*m).copyfunc = None;
        (*m).freefunc = None;
        (*m).gst_to_nvds_meta_transform_func = None;
        (*m).gst_to_nvds_meta_release_func = None;
        (*m).nvds_to_gst_meta_transform_func = None;
        (*m).nvds_to_gst_meta_release_func = None;
    }
    1
}

/// Frees the carried data with the buffer.
unsafe extern "C" fn free(meta: *mut gst_ffi::GstMeta, _buf: *mut gst_ffi::GstBuffer) {
    let m = meta.cast::<NvDsMeta>();
    // SAFETY: initialised by `init` and filled by gst_buffer_add_nvds_meta.
    unsafe {
        if let Some(freefunc) = (*m).freefunc
            && !(*m).meta_data.is_null()
        {
            freefunc((*m).meta_data, (*m).user_data);
        }
    }
}

/// Copies the meta to a copied buffer through its copy function (none, or a null copy: not copied).
unsafe extern "C" fn transform(
    dest: *mut gst_ffi::GstBuffer,
    meta: *mut gst_ffi::GstMeta,
    _src: *mut gst_ffi::GstBuffer,
    _kind: glib_ffi::GQuark,
    _data: glib_ffi::gpointer,
) -> i32 {
    let m = meta.cast::<NvDsMeta>();
    // SAFETY: a meta of this implementation.
    unsafe {
        let Some(copy) = (*m).copyfunc else { return 0 };
        let data = copy((*m).meta_data, (*m).user_data);
        if data.is_null() {
            return 0;
        }
        let new = gst_buffer_add_nvds_meta(dest, data, (*m).user_data, (*m).copyfunc, (*m).freefunc);
        if new.is_null() {
            return 0;
        }
        (*new).meta_type = (*m).meta_type;
    }
    1
}

/// `nvds_meta_get_info`: the implementation, registered once.
#[unsafe(no_mangle)]
pub extern "C" fn nvds_meta_get_info() -> *const gst_ffi::GstMetaInfo {
    static INFO: OnceLock<usize> = OnceLock::new();
    *INFO.get_or_init(|| {
        // SAFETY: static name; the functions match GStreamer's signatures.
        unsafe {
            let existing = gst_ffi::gst_meta_get_info(c"NvDsMeta".as_ptr());
            if !existing.is_null() {
                return existing as usize;
            }
            gst_ffi::gst_meta_register(
                nvds_meta_api_get_type(),
                c"NvDsMeta".as_ptr(),
                size_of::<NvDsMeta>(),
                Some(init),
                Some(free),
                Some(transform),
            ) as usize
        }
    }) as *const gst_ffi::GstMetaInfo
}

/// `gst_buffer_add_nvds_meta`: attaches `meta_data` (the caller sets `meta_type` on the result).
///
/// # Safety
/// `buffer` is a writable buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gst_buffer_add_nvds_meta(
    buffer: *mut gst_ffi::GstBuffer,
    meta_data: *mut c_void,
    user_data: *mut c_void,
    copy_func: NvDsMetaCopyFunc,
    release_func: NvDsMetaReleaseFunc,
) -> *mut NvDsMeta {
    // SAFETY: writable buffer (caller), registered info.
    let meta = unsafe { gst_ffi::gst_buffer_add_meta(buffer, nvds_meta_get_info(), std::ptr::null_mut()) };
    let m = meta.cast::<NvDsMeta>();
    if !m.is_null() {
        // SAFETY: just added, initialised by `init`.
        unsafe {
            (*m).meta_data = meta_data;
            (*m).user_data = user_data;
            (*m).copyfunc = copy_func;
            (*m).freefunc = release_func;
        }
    }
    m
}

/// `gst_buffer_get_nvds_batch_meta`: the batch meta of the buffer's `NvDsMeta` of type `NVDS_BATCH_GST_META`,
/// null when none.
///
/// # Safety
/// `buffer` is a valid buffer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gst_buffer_get_nvds_batch_meta(buffer: *mut gst_ffi::GstBuffer) -> *mut NvDsBatchMeta {
    let api = nvds_meta_api_get_type();
    let mut state: glib_ffi::gpointer = std::ptr::null_mut();
    loop {
        // SAFETY: valid buffer; the iteration state is ours.
        let meta = unsafe { gst_ffi::gst_buffer_iterate_meta_filtered(buffer, &mut state, api) };
        if meta.is_null() {
            return std::ptr::null_mut();
        }
        let m = meta.cast::<NvDsMeta>();
        // SAFETY: a meta of the NvDsMeta API.
        unsafe {
            if (*m).meta_type == NVDS_BATCH_GST_META {
                return (*m).meta_data.cast();
            }
        }
    }
}
