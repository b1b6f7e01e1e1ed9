//! The metadata structures of `nvdsmeta.h` and `gstnvdsmeta.h` (DeepStream 6.x-9.x: one declaration, the
//! members the element touches did not move between these versions; see the crate documentation).

use crate::osd::{NvOSD_MaskParams, NvOSD_RectParams, NvOSD_TextParams};
use crate::{MAX_LABEL_SIZE, MAX_RESERVED_FIELDS, MAX_USER_FIELDS};
use std::ffi::{c_char, c_void};

/// GLib's doubly linked list (`GList`, `glib/glist.h`): DeepStream's frame, object and user meta lists.
#[repr(C)]
#[derive(Debug)]
pub struct GList {
    /// The element.
    pub data: *mut c_void,
    /// The next link, null at the end.
    pub next: *mut GList,
    /// The previous link, null at the start.
    pub prev: *mut GList,
}

/// GLib's `GRecMutex` (`glib/gthread.h`): `{ gpointer p; guint i[2]; }`, the batch meta's lock.
#[repr(C)]
#[derive(Debug)]
pub struct GRecMutex {
    /// Implementation pointer.
    pub p: *mut c_void,
    /// Implementation words.
    pub i: [u32; 2],
}

/// `NvDsMetaCopyFunc`: `gpointer (*)(gpointer data, gpointer user_data)`; `data` is the meta (for a user meta,
/// the `NvDsUserMeta *`), the result the copied `user_meta_data`.
pub type NvDsMetaCopyFunc = Option<unsafe extern "C" fn(data: *mut c_void, user_data: *mut c_void) -> *mut c_void>;
/// `NvDsMetaReleaseFunc`: `void (*)(gpointer data, gpointer user_data)`.
pub type NvDsMetaReleaseFunc = Option<unsafe extern "C" fn(data: *mut c_void, user_data: *mut c_void)>;

/// `NvDsBaseMeta` (`nvdsmeta.h`): the head of every DeepStream meta.
#[repr(C)]
#[derive(Debug)]
pub struct NvDsBaseMeta {
    /// The batch the meta belongs to.
    pub batch_meta: *mut NvDsBatchMeta,
    /// `NvDsMetaType` (a C enum: `int`).
    pub meta_type: i32,
    /// User context.
    pub u_context: *mut c_void,
    /// Copies the meta's data.
    pub copy_func: NvDsMetaCopyFunc,
    /// Releases the meta's data.
    pub release_func: NvDsMetaReleaseFunc,
}

/// `NvDsBatchMeta` (`nvdsmeta.h`): the frames of one batch (`nvstreammux` output).
#[repr(C)]
#[derive(Debug)]
pub struct NvDsBatchMeta {
    /// Base meta.
    pub base_meta: NvDsBaseMeta,
    /// `max_frames_in_batch`.
    pub max_frames_in_batch: u32,
    /// `num_frames_in_batch`.
    pub num_frames_in_batch: u32,
    /// `frame_meta_pool`.
    pub frame_meta_pool: *mut c_void,
    /// `obj_meta_pool`.
    pub obj_meta_pool: *mut c_void,
    /// `classifier_meta_pool`.
    pub classifier_meta_pool: *mut c_void,
    /// `display_meta_pool`.
    pub display_meta_pool: *mut c_void,
    /// `user_meta_pool`.
    pub user_meta_pool: *mut c_void,
    /// `label_info_meta_pool`.
    pub label_info_meta_pool: *mut c_void,
    /// List of `NvDsFrameMeta *`.
    pub frame_meta_list: *mut GList,
    /// List of `NvDsUserMeta *` of the batch.
    pub batch_user_meta_list: *mut GList,
    /// The lock of `nvds_acquire_meta_lock`.
    pub meta_mutex: GRecMutex,
    /// `misc_batch_info[MAX_USER_FIELDS]`.
    pub misc_batch_info: [i64; MAX_USER_FIELDS],
    /// `reserved[MAX_RESERVED_FIELDS]`.
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvDsFrameMeta` (`nvdsmeta.h`): one frame of a batch.
#[repr(C)]
#[derive(Debug)]
pub struct NvDsFrameMeta {
    /// Base meta.
    pub base_meta: NvDsBaseMeta,
    /// `nvstreammux` sink pad index.
    pub pad_index: u32,
    /// The frame's place in the batch: the index of its surface in the `NvBufSurface`.
    pub batch_id: u32,
    /// Frame number of the source.
    pub frame_num: i32,
    /// Presentation timestamp.
    pub buf_pts: u64,
    /// NTP timestamp.
    pub ntp_timestamp: u64,
    /// The source (camera) id.
    pub source_id: u32,
    /// `num_surfaces_per_frame`.
    pub num_surfaces_per_frame: i32,
    /// Width of the source frame.
    pub source_frame_width: u32,
    /// Height of the source frame.
    pub source_frame_height: u32,
    /// `surface_type`.
    pub surface_type: u32,
    /// `surface_index`.
    pub surface_index: u32,
    /// Number of objects.
    pub num_obj_meta: u32,
    /// `bInferDone` (`gboolean`).
    pub b_infer_done: i32,
    /// List of `NvDsObjectMeta *`.
    pub obj_meta_list: *mut GList,
    /// List of `NvDsDisplayMeta *`.
    pub display_meta_list: *mut GList,
    /// List of `NvDsClassifierMeta *`.
    pub classifier_meta_list: *mut GList,
    /// List of `NvDsUserMeta *` of the frame.
    pub frame_user_meta_list: *mut GList,
    /// `misc_frame_info[MAX_USER_FIELDS]`.
    pub misc_frame_info: [i64; MAX_USER_FIELDS],
    /// `pipeline_width` (the muxer's output width).
    pub pipeline_width: u32,
    /// `pipeline_height`.
    pub pipeline_height: u32,
    /// `reserved[MAX_RESERVED_FIELDS]`.
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvBbox_Coords` (`nvll_osd_struct.h`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NvBboxCoords {
    /// Left.
    pub left: f32,
    /// Top.
    pub top: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

/// `NvDsComp_BboxInfo` (`nvds_roi_meta.h` / `nvdsmeta.h`): `{ NvBbox_Coords org_bbox_coords; }`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NvDsCompBboxInfo {
    /// The box.
    pub org_bbox_coords: NvBboxCoords,
}

/// `NvDsObjectMeta` (`nvdsmeta.h`): one detected object.
#[repr(C)]
#[derive(Debug)]
pub struct NvDsObjectMeta {
    /// Base meta.
    pub base_meta: NvDsBaseMeta,
    /// Parent object.
    pub parent: *mut NvDsObjectMeta,
    /// Id of the component (`gie-unique-id`) that made the object.
    pub unique_component_id: i32,
    /// Detector class index.
    pub class_id: i32,
    /// Tracker id, [`crate::UNTRACKED_OBJECT_ID`] when untracked.
    pub object_id: u64,
    /// Box as detected.
    pub detector_bbox_info: NvDsCompBboxInfo,
    /// Box as tracked.
    pub tracker_bbox_info: NvDsCompBboxInfo,
    /// Detector confidence.
    pub confidence: f32,
    /// Tracker confidence.
    pub tracker_confidence: f32,
    /// The box as the last component set it (what the element reads).
    pub rect_params: NvOSD_RectParams,
    /// Mask.
    pub mask_params: NvOSD_MaskParams,
    /// Label text.
    pub text_params: NvOSD_TextParams,
    /// Class label.
    pub obj_label: [c_char; MAX_LABEL_SIZE],
    /// List of `NvDsClassifierMeta *`.
    pub classifier_meta_list: *mut GList,
    /// List of `NvDsUserMeta *`: where the embedding goes.
    pub obj_user_meta_list: *mut GList,
    /// `misc_obj_info[MAX_USER_FIELDS]`.
    pub misc_obj_info: [i64; MAX_USER_FIELDS],
    /// `reserved[MAX_RESERVED_FIELDS]`.
    pub reserved: [i64; MAX_RESERVED_FIELDS],
}

/// `NvDsUserMeta` (`nvdsmeta.h`): user data attached to a batch, frame or object.
#[repr(C)]
#[derive(Debug)]
pub struct NvDsUserMeta {
    /// Base meta (`meta_type` from `nvds_get_user_meta_type`, copy and release functions).
    pub base_meta: NvDsBaseMeta,
    /// The data.
    pub user_meta_data: *mut c_void,
}

/// GStreamer's `GstMeta` (`gst/gstmeta.h`): `{ GstMetaFlags flags; const GstMetaInfo *info; }`.
#[repr(C)]
#[derive(Debug)]
pub struct GstMeta {
    /// `GstMetaFlags`.
    pub flags: u32,
    /// `const GstMetaInfo *`.
    pub info: *const c_void,
}

/// `NvDsMeta` (`gstnvdsmeta.h`): the GStreamer meta (API type `NVDS_META_API_TYPE`, tag `nvdsmeta`) that
/// carries the batch meta (`meta_type` [`crate::NVDS_BATCH_GST_META`]).
#[repr(C)]
#[derive(Debug)]
pub struct NvDsMeta {
    /// The GStreamer meta head.
    pub meta: GstMeta,
    /// The carried meta (an `NvDsBatchMeta *` for [`crate::NVDS_BATCH_GST_META`]).
    pub meta_data: *mut c_void,
    /// User data of the copy and free functions.
    pub user_data: *mut c_void,
    /// `GstNvDsMetaType`.
    pub meta_type: i32,
    /// Copies `meta_data` when the buffer is copied.
    pub copyfunc: NvDsMetaCopyFunc,
    /// Frees `meta_data` with the buffer.
    pub freefunc: NvDsMetaReleaseFunc,
    /// `gst_to_nvds_meta_transform_func`.
    pub gst_to_nvds_meta_transform_func: NvDsMetaCopyFunc,
    /// `gst_to_nvds_meta_release_func`.
    pub gst_to_nvds_meta_release_func: NvDsMetaReleaseFunc,
    /// `nvds_to_gst_meta_transform_func`.
    pub nvds_to_gst_meta_transform_func: NvDsMetaCopyFunc,
    /// `nvds_to_gst_meta_release_func`.
    pub nvds_to_gst_meta_release_func: NvDsMetaReleaseFunc,
}
