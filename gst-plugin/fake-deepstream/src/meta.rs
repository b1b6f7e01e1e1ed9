//! `nvdsmeta.h`: batch, frame, object and user metas as plain allocations, the batch lock (a `GRecMutex`), and
//! user meta types by descriptor.

use crate::{RELEASED, UNLOCKED_ADDS, USER_ADDS, count};
use gst::glib::ffi as glib_ffi;
use reid_deepstream_abi::meta::*;
use reid_deepstream_abi::{NVDS_START_USER_META, UNTRACKED_OBJECT_ID};
use std::ffi::{CStr, c_char, c_void};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// `NVDS_FRAME_META`, `NVDS_OBJ_META`, `NVDS_BATCH_META` (`NvDsMetaType`).
const NVDS_BATCH_META: i32 = 1;
const NVDS_FRAME_META: i32 = 2;
const NVDS_OBJ_META: i32 = 3;

/// How many times the batch lock is held now (all batches together: the tests hold one at a time).
static LOCK_DEPTH: AtomicI64 = AtomicI64::new(0);

/// A zeroed allocation of `T` (every field of these C structures is valid as zero bits).
fn zeroed<T>() -> *mut T {
    // SAFETY: the structures of reid_deepstream_abi are integers, floats, raw pointers and nullable function
    // pointers, for which all-zero bits are valid.
    Box::into_raw(Box::new(unsafe { std::mem::zeroed::<T>() }))
}

/// Appends `data` to the list `*list`.
unsafe fn append(list: *mut *mut GList, data: *mut c_void) {
    let node = Box::into_raw(Box::new(GList { data, next: std::ptr::null_mut(), prev: std::ptr::null_mut() }));
    // SAFETY: `list` points to a valid list head; its nodes were made here.
    unsafe {
        if (*list).is_null() {
            *list = node;
            return;
        }
        let mut last = *list;
        while !(*last).next.is_null() {
            last = (*last).next;
        }
        (*last).next = node;
        (*node).prev = last;
    }
}

/// Frees the nodes of `list`, passing each element to `each`.
unsafe fn free_list(list: *mut GList, mut each: impl FnMut(*mut c_void)) {
    let mut node = list;
    while !node.is_null() {
        // SAFETY: nodes were made by `append` with Box.
        let boxed = unsafe { Box::from_raw(node) };
        each(boxed.data);
        node = boxed.next;
    }
}

/// `nvds_create_batch_meta`.
#[unsafe(no_mangle)]
pub extern "C" fn nvds_create_batch_meta(max_batch_size: u32) -> *mut NvDsBatchMeta {
    let batch = zeroed::<NvDsBatchMeta>();
    // SAFETY: fresh allocation.
    unsafe {
        (*batch).base_meta.batch_meta = batch;
        (*batch).base_meta.meta_type = NVDS_BATCH_META;
        (*batch).max_frames_in_batch = max_batch_size;
        glib_ffi::g_rec_mutex_init(std::ptr::addr_of_mut!((*batch).meta_mutex).cast());
    }
    batch
}

/// `nvds_destroy_batch_meta`: frees the batch, its frames, objects and user metas (calling each user meta's
/// release function).
///
/// # Safety
/// `batch` came from [`nvds_create_batch_meta`] and is not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_destroy_batch_meta(batch: *mut NvDsBatchMeta) -> i32 {
    if batch.is_null() {
        return 0;
    }
    let release_user = |data: *mut c_void| {
        let user = data.cast::<NvDsUserMeta>();
        // SAFETY: user metas were made by nvds_acquire_user_meta_from_pool.
        unsafe {
            if let Some(release) = (*user).base_meta.release_func {
                release(user.cast(), std::ptr::null_mut());
                count(RELEASED);
            }
            drop(Box::from_raw(user));
        }
    };
    // SAFETY: the lists and their elements were made here.
    unsafe {
        free_list((*batch).frame_meta_list, |f| {
            let frame = f.cast::<NvDsFrameMeta>();
            free_list((*frame).obj_meta_list, |o| {
                let obj = o.cast::<NvDsObjectMeta>();
                free_list((*obj).obj_user_meta_list, release_user);
                drop(Box::from_raw(obj));
            });
            free_list((*frame).frame_user_meta_list, release_user);
            drop(Box::from_raw(frame));
        });
        free_list((*batch).batch_user_meta_list, release_user);
        glib_ffi::g_rec_mutex_clear(std::ptr::addr_of_mut!((*batch).meta_mutex).cast());
        drop(Box::from_raw(batch));
    }
    1
}

/// `nvds_batch_meta_release_func` (`gstnvdsmeta.h`): the `NvDsMeta` free function of a batch.
///
/// # Safety
/// `data` is a batch meta of this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_batch_meta_release_func(data: *mut c_void, _user_data: *mut c_void) {
    // SAFETY: forwarded contract.
    unsafe { nvds_destroy_batch_meta(data.cast()) };
}

/// `nvds_batch_meta_copy_func`: the fake does not copy batches (a copied buffer loses its batch meta).
#[unsafe(no_mangle)]
pub extern "C" fn nvds_batch_meta_copy_func(_data: *mut c_void, _user_data: *mut c_void) -> *mut c_void {
    std::ptr::null_mut()
}

/// `nvds_acquire_frame_meta_from_pool`.
#[unsafe(no_mangle)]
pub extern "C" fn nvds_acquire_frame_meta_from_pool(batch: *mut NvDsBatchMeta) -> *mut NvDsFrameMeta {
    let frame = zeroed::<NvDsFrameMeta>();
    // SAFETY: fresh allocation.
    unsafe {
        (*frame).base_meta.batch_meta = batch;
        (*frame).base_meta.meta_type = NVDS_FRAME_META;
    }
    frame
}

/// `nvds_add_frame_meta_to_batch`.
///
/// # Safety
/// Both come from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_add_frame_meta_to_batch(batch: *mut NvDsBatchMeta, frame: *mut NvDsFrameMeta) {
    // SAFETY: valid batch.
    unsafe {
        append(std::ptr::addr_of_mut!((*batch).frame_meta_list), frame.cast());
        (*batch).num_frames_in_batch += 1;
    }
}

/// `nvds_acquire_obj_meta_from_pool`: an untracked object.
#[unsafe(no_mangle)]
pub extern "C" fn nvds_acquire_obj_meta_from_pool(batch: *mut NvDsBatchMeta) -> *mut NvDsObjectMeta {
    let obj = zeroed::<NvDsObjectMeta>();
    // SAFETY: fresh allocation.
    unsafe {
        (*obj).base_meta.batch_meta = batch;
        (*obj).base_meta.meta_type = NVDS_OBJ_META;
        (*obj).object_id = UNTRACKED_OBJECT_ID;
    }
    obj
}

/// `nvds_add_obj_meta_to_frame`.
///
/// # Safety
/// All come from this library (`parent` may be null).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_add_obj_meta_to_frame(
    frame: *mut NvDsFrameMeta,
    obj: *mut NvDsObjectMeta,
    parent: *mut NvDsObjectMeta,
) {
    // SAFETY: valid frame and object.
    unsafe {
        (*obj).parent = parent;
        append(std::ptr::addr_of_mut!((*frame).obj_meta_list), obj.cast());
        (*frame).num_obj_meta += 1;
    }
}

/// `nvds_acquire_user_meta_from_pool`.
#[unsafe(no_mangle)]
pub extern "C" fn nvds_acquire_user_meta_from_pool(batch: *mut NvDsBatchMeta) -> *mut NvDsUserMeta {
    let user = zeroed::<NvDsUserMeta>();
    // SAFETY: fresh allocation.
    unsafe { (*user).base_meta.batch_meta = batch };
    user
}

/// `nvds_add_user_meta_to_obj`; counts an add made without the batch lock.
///
/// # Safety
/// Both come from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_add_user_meta_to_obj(obj: *mut NvDsObjectMeta, user: *mut NvDsUserMeta) {
    if LOCK_DEPTH.load(Ordering::SeqCst) <= 0 {
        count(UNLOCKED_ADDS);
    }
    count(USER_ADDS);
    // SAFETY: valid object.
    unsafe { append(std::ptr::addr_of_mut!((*obj).obj_user_meta_list), user.cast()) };
}

/// `nvds_acquire_meta_lock`.
///
/// # Safety
/// `batch` comes from this library.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_acquire_meta_lock(batch: *mut NvDsBatchMeta) {
    // SAFETY: initialised in nvds_create_batch_meta.
    unsafe { glib_ffi::g_rec_mutex_lock(std::ptr::addr_of_mut!((*batch).meta_mutex).cast()) };
    LOCK_DEPTH.fetch_add(1, Ordering::SeqCst);
}

/// `nvds_release_meta_lock`.
///
/// # Safety
/// The lock is held by this thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_release_meta_lock(batch: *mut NvDsBatchMeta) {
    LOCK_DEPTH.fetch_sub(1, Ordering::SeqCst);
    // SAFETY: held by the caller.
    unsafe { glib_ffi::g_rec_mutex_unlock(std::ptr::addr_of_mut!((*batch).meta_mutex).cast()) };
}

/// `nvds_get_user_meta_type`: one type per descriptor, from `NVDS_START_USER_META` on.
///
/// # Safety
/// `descriptor` is a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn nvds_get_user_meta_type(descriptor: *mut c_char) -> i32 {
    static TYPES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
    // SAFETY: the caller passes a C string.
    let name = unsafe { CStr::from_ptr(descriptor) }.to_bytes().to_vec();
    let mut types = TYPES.lock().unwrap_or_else(|e| e.into_inner());
    let index = types.iter().position(|t| *t == name).unwrap_or_else(|| {
        types.push(name);
        types.len() - 1
    });
    NVDS_START_USER_META + i32::try_from(index).unwrap_or(i32::MAX - NVDS_START_USER_META)
}
