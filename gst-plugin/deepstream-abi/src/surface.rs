//! The batched buffer of `nvbufsurface.h`: what the `GstMemory` of a `video/x-raw(memory:NVMM)` buffer holds.
//! `NvBufSurfaceParams` and its parts are the same in 6.x-9.x; `NvBufSurface` gained `isImportedBuf` in 8.0
//! (API reference, `structNvBufSurface.html`: absent in 7.1, present in 8.0).

use crate::{NVBUF_MAX_PLANES, STRUCTURE_PADDING};
use std::ffi::c_void;

/// `NvBufSurfacePlaneParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvBufSurfacePlaneParams {
    /// Number of planes.
    pub num_planes: u32,
    /// Plane widths (pixels).
    pub width: [u32; NVBUF_MAX_PLANES],
    /// Plane heights (rows).
    pub height: [u32; NVBUF_MAX_PLANES],
    /// Plane pitches (bytes per row).
    pub pitch: [u32; NVBUF_MAX_PLANES],
    /// Plane offsets in bytes.
    pub offset: [u32; NVBUF_MAX_PLANES],
    /// Plane sizes in bytes.
    pub psize: [u32; NVBUF_MAX_PLANES],
    /// Bytes per pixel of each plane.
    pub bytes_per_pix: [u32; NVBUF_MAX_PLANES],
    /// Reserved.
    pub reserved: [*mut c_void; STRUCTURE_PADDING * NVBUF_MAX_PLANES],
}

/// `NvBufSurfaceMappedAddr`: what `NvBufSurfaceMap` fills.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvBufSurfaceMappedAddr {
    /// CPU address of each plane, null until mapped.
    pub addr: [*mut c_void; NVBUF_MAX_PLANES],
    /// EGL image.
    pub egl_image: *mut c_void,
    /// Reserved.
    pub reserved: [*mut c_void; STRUCTURE_PADDING],
}

/// `NvBufSurfaceParams`: one surface (frame) of the batch.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvBufSurfaceParams {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Pitch of the first plane.
    pub pitch: u32,
    /// `NvBufSurfaceColorFormat`.
    pub color_format: i32,
    /// `NvBufSurfaceLayout` (0 pitch linear, 1 block linear).
    pub layout: i32,
    /// DMABUF fd.
    pub buffer_desc: u64,
    /// Bytes allocated.
    pub data_size: u32,
    /// Device (or host) pointer.
    pub data_ptr: *mut c_void,
    /// Plane parameters.
    pub plane_params: NvBufSurfacePlaneParams,
    /// CPU mappings.
    pub mapped_addr: NvBufSurfaceMappedAddr,
    /// `NvBufSurfaceParamsEx *`.
    pub paramex: *mut c_void,
    /// Reserved.
    pub reserved: [*mut c_void; STRUCTURE_PADDING - 1],
}

/// `NvBufSurface` of DeepStream 6.x and 7.x.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvBufSurfaceV6 {
    /// GPU id.
    pub gpu_id: u32,
    /// Surfaces allocated.
    pub batch_size: u32,
    /// Surfaces filled.
    pub num_filled: u32,
    /// Contiguous batch.
    pub is_contiguous: bool,
    /// `NvBufSurfaceMemType`.
    pub mem_type: i32,
    /// `batch_size` surfaces.
    pub surface_list: *mut NvBufSurfaceParams,
    /// Reserved.
    pub reserved: [*mut c_void; STRUCTURE_PADDING],
}

/// `NvBufSurface` of DeepStream 8.x and 9.x (`isImportedBuf` after `surfaceList`); the fields before it are
/// those of [`NvBufSurfaceV6`].
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvBufSurfaceV8 {
    /// GPU id.
    pub gpu_id: u32,
    /// Surfaces allocated.
    pub batch_size: u32,
    /// Surfaces filled.
    pub num_filled: u32,
    /// Contiguous batch.
    pub is_contiguous: bool,
    /// `NvBufSurfaceMemType`.
    pub mem_type: i32,
    /// `batch_size` surfaces.
    pub surface_list: *mut NvBufSurfaceParams,
    /// Imported buffer.
    pub is_imported_buf: bool,
    /// Reserved.
    pub reserved: [*mut c_void; STRUCTURE_PADDING],
}

/// The head both `NvBufSurface` versions share: what the element reads.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvBufSurfaceHead {
    /// GPU id.
    pub gpu_id: u32,
    /// Surfaces allocated.
    pub batch_size: u32,
    /// Surfaces filled.
    pub num_filled: u32,
    /// Contiguous batch.
    pub is_contiguous: bool,
    /// `NvBufSurfaceMemType`.
    pub mem_type: i32,
    /// `batch_size` surfaces.
    pub surface_list: *mut NvBufSurfaceParams,
}
