//! The fake DeepStream library as a test uses it: the same shared library the elements loaded (one copy of its
//! state), building batch metas as `nvstreammux ! nvinfer ! nvtracker` would, NVMM buffers holding an
//! `NvBufSurface`, and reading the `REID.EMBEDDING` user metas back through the C structures (independently of
//! the plugin's own reader).
#![allow(dead_code)]

use crate::common::fake_deepstream_path;
use gstreid::deepstream::abi::embedding::ReidEmbeddingMeta;
use gstreid::deepstream::abi::meta::*;
use gstreid::deepstream::abi::surface::{NvBufSurfaceMappedAddr, NvBufSurfaceParams, NvBufSurfacePlaneParams};
use gstreid::deepstream::abi::{EMBEDDING_META_DESCRIPTOR, NVDS_BATCH_GST_META};
use std::ffi::{c_char, c_void};
use std::sync::OnceLock;

/// The functions of the fake a test calls.
pub struct Fake {
    _lib: libloading::Library,
    create_batch: unsafe extern "C" fn(u32) -> *mut NvDsBatchMeta,
    acquire_frame: unsafe extern "C" fn(*mut NvDsBatchMeta) -> *mut NvDsFrameMeta,
    add_frame: unsafe extern "C" fn(*mut NvDsBatchMeta, *mut NvDsFrameMeta),
    acquire_obj: unsafe extern "C" fn(*mut NvDsBatchMeta) -> *mut NvDsObjectMeta,
    add_obj: unsafe extern "C" fn(*mut NvDsFrameMeta, *mut NvDsObjectMeta, *mut NvDsObjectMeta),
    acquire_user: unsafe extern "C" fn(*mut NvDsBatchMeta) -> *mut NvDsUserMeta,
    add_user: unsafe extern "C" fn(*mut NvDsObjectMeta, *mut NvDsUserMeta),
    lock: unsafe extern "C" fn(*mut NvDsBatchMeta),
    unlock: unsafe extern "C" fn(*mut NvDsBatchMeta),
    user_meta_type: unsafe extern "C" fn(*mut c_char) -> i32,
    add_nvds_meta: unsafe extern "C" fn(
        *mut gst::ffi::GstBuffer,
        *mut c_void,
        *mut c_void,
        NvDsMetaCopyFunc,
        NvDsMetaReleaseFunc,
    ) -> *mut NvDsMeta,
    get_batch: unsafe extern "C" fn(*mut gst::ffi::GstBuffer) -> *mut NvDsBatchMeta,
    batch_release: unsafe extern "C" fn(*mut c_void, *mut c_void),
    batch_copy: unsafe extern "C" fn(*mut c_void, *mut c_void) -> *mut c_void,
    counters: unsafe extern "C" fn(*mut u64),
}

/// The fake, opened once (the same file the elements use: `dlopen` returns the loaded copy).
pub fn fake() -> &'static Fake {
    static FAKE: OnceLock<Fake> = OnceLock::new();
    FAKE.get_or_init(|| {
        crate::common::init();
        // SAFETY: the test-only fake; its initialisers do nothing.
        let lib = unsafe { libloading::Library::new(fake_deepstream_path()) }.unwrap();
        macro_rules! sym {
            ($name:literal) => {
                // SAFETY: the fake exports these with the DeepStream signatures declared in `Fake`.
                *unsafe { lib.get($name) }.unwrap()
            };
        }
        Fake {
            create_batch: sym!("nvds_create_batch_meta"),
            acquire_frame: sym!("nvds_acquire_frame_meta_from_pool"),
            add_frame: sym!("nvds_add_frame_meta_to_batch"),
            acquire_obj: sym!("nvds_acquire_obj_meta_from_pool"),
            add_obj: sym!("nvds_add_obj_meta_to_frame"),
            acquire_user: sym!("nvds_acquire_user_meta_from_pool"),
            add_user: sym!("nvds_add_user_meta_to_obj"),
            lock: sym!("nvds_acquire_meta_lock"),
            unlock: sym!("nvds_release_meta_lock"),
            user_meta_type: sym!("nvds_get_user_meta_type"),
            add_nvds_meta: sym!("gst_buffer_add_nvds_meta"),
            get_batch: sym!("gst_buffer_get_nvds_batch_meta"),
            batch_release: sym!("nvds_batch_meta_release_func"),
            batch_copy: sym!("nvds_batch_meta_copy_func"),
            counters: sym!("reid_fake_counters"),
            _lib: lib,
        }
    })
}

/// One detected object.
#[derive(Clone, Copy, Debug)]
pub struct Obj {
    /// Detector class.
    pub class_id: i32,
    /// Tracker id.
    pub track: Option<u64>,
    /// `rect_params` left, top, width, height.
    pub rect: (f32, f32, f32, f32),
    /// Detector confidence.
    pub confidence: f32,
}

/// A person (class 0) with confidence 0.9.
pub fn person(track: Option<u64>, rect: (f32, f32, f32, f32)) -> Obj {
    Obj { class_id: 0, track, rect, confidence: 0.9 }
}

/// One frame meta.
#[derive(Clone, Debug)]
pub struct FrameSpec {
    /// `source_id`.
    pub source_id: u32,
    /// `batch_id`.
    pub batch_id: u32,
    /// `frame_num`.
    pub frame_num: i32,
    /// Objects in list order.
    pub objects: Vec<Obj>,
}

/// What the fake counts: `[unlocked adds, maps, unmaps, syncs, released user metas, user metas added]`.
pub fn counters() -> [u64; 6] {
    let mut out = [0u64; 6];
    // SAFETY: six slots.
    unsafe { (fake().counters)(out.as_mut_ptr()) };
    out
}

/// `nvds_get_user_meta_type(descriptor)`.
pub fn user_meta_type(descriptor: &std::ffi::CStr) -> i32 {
    let mut bytes = descriptor.to_bytes_with_nul().to_vec();
    // SAFETY: NUL-terminated.
    unsafe { (fake().user_meta_type)(bytes.as_mut_ptr().cast()) }
}

/// Attaches a batch meta of `frames` to `buffer`, as `nvstreammux` does (`NvDsMeta` of type
/// `NVDS_BATCH_GST_META`, released with the buffer).
pub fn attach_batch(buffer: &mut gst::BufferRef, max_batch: u32, frames: &[FrameSpec]) {
    let f = fake();
    // SAFETY: the fake's API on a writable buffer; every pointer comes from the fake.
    unsafe {
        let batch = (f.create_batch)(max_batch);
        for spec in frames {
            let frame = (f.acquire_frame)(batch);
            (*frame).source_id = spec.source_id;
            (*frame).pad_index = spec.source_id;
            (*frame).batch_id = spec.batch_id;
            (*frame).frame_num = spec.frame_num;
            (f.add_frame)(batch, frame);
            for o in &spec.objects {
                let obj = (f.acquire_obj)(batch);
                (*obj).class_id = o.class_id;
                (*obj).confidence = o.confidence;
                (*obj).object_id = o.track.unwrap_or(u64::MAX);
                (*obj).rect_params.left = o.rect.0;
                (*obj).rect_params.top = o.rect.1;
                (*obj).rect_params.width = o.rect.2;
                (*obj).rect_params.height = o.rect.3;
                (f.add_obj)(frame, obj, std::ptr::null_mut());
            }
        }
        let meta = (f.add_nvds_meta)(
            buffer.as_mut_ptr(),
            batch.cast(),
            std::ptr::null_mut(),
            Some(f.batch_copy),
            Some(f.batch_release),
        );
        (*meta).meta_type = NVDS_BATCH_GST_META;
    }
}

/// The batch meta of `buffer` (null when none).
pub fn batch_of(buffer: &gst::BufferRef) -> *mut NvDsBatchMeta {
    // SAFETY: a valid buffer.
    unsafe { (fake().get_batch)(buffer.as_ptr().cast_mut()) }
}

fn list(mut node: *mut GList) -> Vec<*mut c_void> {
    let mut out = Vec::new();
    while !node.is_null() {
        // SAFETY: the fake's lists.
        unsafe {
            out.push((*node).data);
            node = (*node).next;
        }
    }
    out
}

/// The frames of `buffer`'s batch, each with its objects' pointers.
pub fn objects(buffer: &gst::BufferRef) -> Vec<(*mut NvDsFrameMeta, Vec<*mut NvDsObjectMeta>)> {
    let batch = batch_of(buffer);
    assert!(!batch.is_null(), "the buffer lost its batch meta");
    // SAFETY: a live batch of the fake.
    unsafe { list((*batch).frame_meta_list) }
        .into_iter()
        .map(|f| {
            let frame = f.cast::<NvDsFrameMeta>();
            // SAFETY: as above.
            let objs = unsafe { list((*frame).obj_meta_list) }.into_iter().map(|o| o.cast()).collect();
            (frame, objs)
        })
        .collect()
}

/// A `REID.EMBEDDING` user meta read through the C structures: values, age, normalized, model, camera.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadBack {
    /// Values.
    pub values: Vec<f32>,
    /// Age.
    pub age: u32,
    /// Normalized flag.
    pub normalized: bool,
    /// Model id.
    pub model: String,
    /// Camera.
    pub camera: String,
}

fn text(field: &[c_char; 64]) -> String {
    let bytes: Vec<u8> = field.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    String::from_utf8(bytes).unwrap()
}

/// The `REID.EMBEDDING` user metas of `object` (every one: a correct element attaches at most one).
pub fn embeddings_of(object: *mut NvDsObjectMeta) -> Vec<ReadBack> {
    let ty = user_meta_type(EMBEDDING_META_DESCRIPTOR);
    let mut out = Vec::new();
    // SAFETY: a live object of the fake; the data of a REID.EMBEDDING user meta written by reidembed is a
    // ReidEmbeddingMeta with `dim` values.
    unsafe {
        for u in list((*object).obj_user_meta_list) {
            let u = u.cast::<NvDsUserMeta>();
            if (*u).base_meta.meta_type != ty || (*u).user_meta_data.is_null() {
                continue;
            }
            let m = &*(*u).user_meta_data.cast::<ReidEmbeddingMeta>();
            out.push(ReadBack {
                values: std::slice::from_raw_parts(m.values, m.dim as usize).to_vec(),
                age: m.age,
                normalized: m.normalized != 0,
                model: text(&m.model),
                camera: text(&m.camera),
            });
        }
    }
    out
}

/// Adds a user meta of `meta_type` with `data` (not freed: no release function) to `object`, under the lock.
pub fn add_user_meta(buffer: &gst::BufferRef, object: *mut NvDsObjectMeta, meta_type: i32, data: *mut c_void) {
    let f = fake();
    let batch = batch_of(buffer);
    // SAFETY: the fake's API on a live batch.
    unsafe {
        (f.lock)(batch);
        let user = (f.acquire_user)(batch);
        (*user).base_meta.meta_type = meta_type;
        (*user).user_meta_data = data;
        (f.add_user)(object, user);
        (f.unlock)(batch);
    }
}

/// One surface of a fake NVMM batch: planes laid out at `offset[p]` with `pitch[p]` in one allocation.
pub struct SurfaceSpec {
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// `NvBufSurfaceColorFormat` (19 RGBA, 6 NV12).
    pub color_format: i32,
    /// `(pitch, rows, packed rows of bytes)` of each plane.
    pub planes: Vec<(u32, u32, Vec<u8>)>,
}

/// What an NVMM buffer points at: kept alive while the buffer is used.
pub struct SurfaceKeep {
    _data: Vec<Vec<u8>>,
    _params: Box<[NvBufSurfaceParams]>,
}

/// An NVMM buffer: its memory holds a DeepStream 7.x `NvBufSurface` (64 bytes) of `surfaces`, written byte by
/// byte at the header's offsets (batchSize 4, numFilled 8, surfaceList 24); `filled` surfaces are filled.
pub fn nvmm_buffer(surfaces: &[SurfaceSpec], filled: u32) -> (gst::Buffer, SurfaceKeep) {
    let mut data = Vec::new();
    let mut params = Vec::new();
    for s in surfaces {
        let mut bytes = Vec::new();
        // SAFETY: all-zero is valid for these C structures.
        let mut plane_params: NvBufSurfacePlaneParams = unsafe { std::mem::zeroed() };
        plane_params.num_planes = s.planes.len() as u32;
        for (p, (pitch, rows, packed)) in s.planes.iter().enumerate() {
            plane_params.pitch[p] = *pitch;
            plane_params.height[p] = *rows;
            plane_params.offset[p] = bytes.len() as u32;
            plane_params.psize[p] = pitch * rows;
            let row_bytes = packed.len() / (*rows as usize).max(1);
            plane_params.width[p] = row_bytes as u32;
            for r in 0..*rows as usize {
                let mut row = packed[r * row_bytes..(r + 1) * row_bytes].to_vec();
                row.resize(*pitch as usize, 0xEE);
                bytes.extend(row);
            }
        }
        // SAFETY: as above.
        let mut param: NvBufSurfaceParams = unsafe { std::mem::zeroed() };
        param.width = s.width;
        param.height = s.height;
        param.pitch = plane_params.pitch[0];
        param.color_format = s.color_format;
        param.data_size = bytes.len() as u32;
        param.plane_params = plane_params;
        // SAFETY: as above.
        param.mapped_addr = unsafe { std::mem::zeroed::<NvBufSurfaceMappedAddr>() };
        data.push(bytes);
        params.push(param);
    }
    for (param, bytes) in params.iter_mut().zip(&mut data) {
        param.data_ptr = bytes.as_mut_ptr().cast();
    }
    let mut params = params.into_boxed_slice();
    let mut head = vec![0u8; 64];
    head[4..8].copy_from_slice(&(surfaces.len() as u32).to_ne_bytes());
    head[8..12].copy_from_slice(&filled.to_ne_bytes());
    head[24..32].copy_from_slice(&(params.as_mut_ptr() as usize as u64).to_ne_bytes());
    (gst::Buffer::from_mut_slice(head), SurfaceKeep { _data: data, _params: params })
}

/// The RGBA planes of an RGB picture (alpha 255), pitch `pitch`.
pub fn rgba_surface(picture: &image::RgbImage, pitch: u32) -> SurfaceSpec {
    let packed: Vec<u8> = picture.pixels().flat_map(|p| [p[0], p[1], p[2], 255]).collect();
    SurfaceSpec {
        width: picture.width(),
        height: picture.height(),
        color_format: 19,
        planes: vec![(pitch, picture.height(), packed)],
    }
}

/// The NV12 planes of `frame`, luma pitch `pitch` (chroma the same).
pub fn nv12_surface(frame: &crate::common::Nv12, pitch: u32) -> SurfaceSpec {
    let ch = frame.h.div_ceil(2);
    SurfaceSpec {
        width: frame.w,
        height: frame.h,
        color_format: 6,
        planes: vec![(pitch, frame.h, frame.y.clone()), (pitch, ch, frame.uv.clone())],
    }
}
