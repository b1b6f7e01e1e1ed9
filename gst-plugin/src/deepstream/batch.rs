//! Walking an `NvDsBatchMeta`: its frames, each frame's objects, each object's user metas. Lists are followed
//! defensively (null elements skipped, at most [`MAX_LIST`] links, so a corrupt list cannot loop forever).

use super::library::DeepStream;
use reid_deepstream_abi::meta::{GList, NvDsBatchMeta, NvDsFrameMeta, NvDsObjectMeta, NvDsUserMeta};
use reid_deepstream_abi::osd::NvOSD_RectParams;
use std::ffi::c_void;

/// The most links followed in one list.
pub const MAX_LIST: usize = 1 << 16;

/// The non-null elements of a `GList`, at most [`MAX_LIST`].
fn elements(list: *mut GList) -> Vec<*mut c_void> {
    let mut out = Vec::new();
    let mut node = list;
    while !node.is_null() && out.len() < MAX_LIST {
        // SAFETY: `node` is a link of a list DeepStream keeps on a buffer the caller holds.
        let link = unsafe { &*node };
        if !link.data.is_null() {
            out.push(link.data);
        }
        node = link.next;
    }
    out
}

/// The batch meta of a buffer. Valid while the caller holds that buffer (a raw pointer: the elements write
/// user metas through it while they also map the buffer's memory).
#[derive(Clone, Copy, Debug)]
pub struct Batch {
    ptr: *mut NvDsBatchMeta,
    ds: &'static DeepStream,
}

/// The batch lock (`nvds_acquire_meta_lock`), released on drop.
pub struct MetaLock {
    batch: Batch,
}

impl Drop for MetaLock {
    fn drop(&mut self) {
        // SAFETY: acquired in `Batch::lock` on this thread.
        unsafe { (self.batch.ds.api.release_meta_lock)(self.batch.ptr) };
    }
}

/// One frame meta of a batch (valid while the buffer is held).
#[derive(Clone, Copy, Debug)]
pub struct FrameRef(*mut NvDsFrameMeta);

/// One user meta of an object (valid while the buffer is held).
#[derive(Clone, Copy, Debug)]
pub struct UserMetaRef(pub(crate) *mut NvDsUserMeta);

/// One object of one frame of a batch.
#[derive(Clone, Copy, Debug)]
pub struct ObjectRef {
    /// The frame.
    pub(crate) frame: *mut NvDsFrameMeta,
    /// The object.
    pub(crate) object: *mut NvDsObjectMeta,
}

impl ObjectRef {
    fn frame(&self) -> &NvDsFrameMeta {
        // SAFETY: from the batch's frame list, valid while the buffer is held (see `Batch`).
        unsafe { &*self.frame }
    }

    fn object(&self) -> &NvDsObjectMeta {
        // SAFETY: from the frame's object list, valid while the buffer is held.
        unsafe { &*self.object }
    }

    /// The frame's `batch_id`: its surface in the batch.
    pub fn batch_id(&self) -> u32 {
        self.frame().batch_id
    }

    /// The frame's `source_id`.
    pub fn source_id(&self) -> u32 {
        self.frame().source_id
    }

    /// The detector's class.
    pub fn class_id(&self) -> i32 {
        self.object().class_id
    }

    /// The detector's confidence.
    pub fn confidence(&self) -> f32 {
        self.object().confidence
    }

    /// The tracker's id, `None` when untracked.
    pub fn track_id(&self) -> Option<u64> {
        Some(self.object().object_id).filter(|id| *id != reid_deepstream_abi::UNTRACKED_OBJECT_ID)
    }

    /// The box (`rect_params`).
    pub fn rect(&self) -> NvOSD_RectParams {
        self.object().rect_params
    }

    /// The object's user metas.
    pub fn user_metas(&self) -> Vec<UserMetaRef> {
        elements(self.object().obj_user_meta_list).into_iter().map(|p| UserMetaRef(p.cast())).collect()
    }
}

impl Batch {
    /// The batch meta of `buffer`, if it carries one.
    pub fn of(ds: &'static DeepStream, buffer: &gst::BufferRef) -> Option<Batch> {
        // SAFETY: a valid buffer; `gst_buffer_get_nvds_batch_meta` only reads its metas.
        let ptr = unsafe { (ds.api.get_batch_meta)(buffer.as_ptr().cast_mut()) };
        (!ptr.is_null()).then_some(Batch { ptr, ds })
    }

    /// The raw pointer.
    pub fn as_ptr(&self) -> *mut NvDsBatchMeta {
        self.ptr
    }

    /// The library the batch came from.
    pub fn deepstream(&self) -> &'static DeepStream {
        self.ds
    }

    /// Takes the batch lock.
    pub fn lock(&self) -> MetaLock {
        // SAFETY: a live batch meta.
        unsafe { (self.ds.api.acquire_meta_lock)(self.ptr) };
        MetaLock { batch: *self }
    }

    /// The frames, in list order.
    pub fn frames(&self) -> Vec<FrameRef> {
        // SAFETY: a live batch meta.
        let list = unsafe { (*self.ptr).frame_meta_list };
        elements(list).into_iter().map(|p| FrameRef(p.cast())).collect()
    }

    /// A frame's `batch_id`, `source_id` and `frame_num`.
    pub fn frame_ids(&self, frame: FrameRef) -> (u32, u32, i32) {
        // SAFETY: a frame of this batch.
        let f = unsafe { &*frame.0 };
        (f.batch_id, f.source_id, f.frame_num)
    }

    /// The objects of `frame`, in list order.
    pub fn objects(&self, frame: FrameRef) -> Vec<ObjectRef> {
        // SAFETY: a frame of this batch.
        let list = unsafe { (*frame.0).obj_meta_list };
        elements(list).into_iter().map(|o| ObjectRef { frame: frame.0, object: o.cast() }).collect()
    }
}
