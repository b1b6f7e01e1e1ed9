//! An NVMM buffer's `NvBufSurface` (the bytes of its `GstMemory`) read by the CPU: `NvBufSurfaceMap(surf,
//! index, -1, NVBUF_MAP_READ)`, `NvBufSurfaceSyncForCpu`, the planes at `surfaceList[index].mappedAddr.addr[p]`
//! with `planeParams.pitch[p]`, and `NvBufSurfaceUnMap` when the [`MappedSurface`] drops. Every size is checked
//! before anything is read: a surface that does not hold what the caps say is refused with a message.

use super::library::DeepStream;
use crate::frame::{Colour, FrameView, PixelLayout};
use reid_deepstream_abi::surface::{NvBufSurfaceHead, NvBufSurfaceParams};
use reid_deepstream_abi::{NVBUF_MAP_READ, NVBUF_MAX_PLANES};

/// The most surfaces in one batch accepted (more is taken as a corrupt structure).
pub const MAX_BATCH: u32 = 1024;

/// What a batch holds: the size of each filled surface, by index (`batch_id`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurfaceInfo {
    /// `(width, height)` of surfaces `0..numFilled`.
    pub dims: Vec<(u32, u32)>,
}

/// The `NvBufSurface` head in `bytes` (the mapped `GstMemory`), checked.
fn head(ds: &DeepStream, bytes: &[u8]) -> Result<NvBufSurfaceHead, String> {
    if bytes.len() < ds.layout.surface_size {
        return Err(format!(
            "NVMM memory holds {} bytes, an NvBufSurface of DeepStream {} is {}",
            bytes.len(),
            ds.version,
            ds.layout.surface_size
        ));
    }
    // SAFETY: at least sizeof(NvBufSurface) bytes; read unaligned (a GstMemory gives no alignment promise).
    let head = unsafe { bytes.as_ptr().cast::<NvBufSurfaceHead>().read_unaligned() };
    if head.surface_list.is_null() || head.batch_size == 0 || head.batch_size > MAX_BATCH {
        return Err(format!(
            "NvBufSurface with batchSize {} and {} surfaceList",
            head.batch_size,
            if head.surface_list.is_null() { "no" } else { "a" }
        ));
    }
    if head.num_filled > head.batch_size {
        return Err(format!("NvBufSurface numFilled {} > batchSize {}", head.num_filled, head.batch_size));
    }
    Ok(head)
}

/// The surface sizes of the batch in `bytes`.
pub fn surface_info(ds: &DeepStream, bytes: &[u8]) -> Result<SurfaceInfo, String> {
    let head = head(ds, bytes)?;
    let dims = (0..head.num_filled as usize)
        .map(|i| {
            // SAFETY: `surfaceList` holds `batchSize` entries and `i < numFilled <= batchSize`.
            let p = unsafe { &*head.surface_list.add(i) };
            (p.width, p.height)
        })
        .collect();
    Ok(SurfaceInfo { dims })
}

/// `(rows, bytes per row)` of each plane of a `width x height` frame of `layout`.
fn plane_needs(layout: PixelLayout, width: u32, height: u32) -> Vec<(usize, usize)> {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    match layout {
        PixelLayout::Rgb => vec![(h, 3 * w)],
        PixelLayout::Rgba | PixelLayout::Bgrx => vec![(h, 4 * w)],
        PixelLayout::Nv12 => vec![(h, w), (ch, 2 * cw)],
        PixelLayout::I420 => vec![(h, w), (ch, cw), (ch, cw)],
    }
}

/// One surface of a batch mapped for the CPU; unmapped on drop.
pub struct MappedSurface<'a> {
    ds: &'static DeepStream,
    surf: *mut NvBufSurfaceHead,
    index: i32,
    layout: PixelLayout,
    colour: Colour,
    size: (u32, u32),
    planes: [(*const u8, usize); 3],
    strides: [usize; 3],
    _memory: std::marker::PhantomData<&'a [u8]>,
}

impl Drop for MappedSurface<'_> {
    fn drop(&mut self) {
        // SAFETY: mapped in `map` with the same surface and index.
        unsafe { (self.ds.api.surface_unmap)(self.surf, self.index, -1) };
    }
}

impl<'a> MappedSurface<'a> {
    /// Maps surface `index` of the batch in `bytes` (the NVMM `GstMemory`, mapped readable: DeepStream writes
    /// the mapped addresses into `surfaceList`, a separate allocation, not into these bytes) as a `layout` frame
    /// whose YUV converts as `colour` (the caps' colorimetry).
    pub fn map(
        ds: &'static DeepStream,
        bytes: &'a [u8],
        index: usize,
        layout: PixelLayout,
        colour: Colour,
    ) -> Result<Self, String> {
        let head = head(ds, bytes)?;
        if index >= head.num_filled as usize {
            return Err(format!("surface {index} of a batch with {} filled surfaces", head.num_filled));
        }
        // SAFETY: `index < numFilled <= batchSize` entries.
        let params: NvBufSurfaceParams = unsafe { head.surface_list.add(index).read() };
        if params.layout != 0 {
            return Err(format!(
                "surface {index} is block-linear (layout {}); only pitch-linear surfaces are read",
                params.layout
            ));
        }
        if params.width == 0 || params.height == 0 {
            return Err(format!("surface {index} is {}x{}", params.width, params.height));
        }
        let pp = &params.plane_params;
        let needs = plane_needs(layout, params.width, params.height);
        if (pp.num_planes as usize) < needs.len() || pp.num_planes as usize > NVBUF_MAX_PLANES {
            return Err(format!("surface {index} has {} planes, {layout:?} needs {}", pp.num_planes, needs.len()));
        }
        for (p, &(rows, row_bytes)) in needs.iter().enumerate() {
            if (pp.pitch[p] as usize) < row_bytes || (pp.height[p] as usize) < rows {
                return Err(format!(
                    "surface {index} plane {p}: pitch {} and {} rows, a {}x{} {layout:?} frame needs {row_bytes} \
                     bytes per row and {rows} rows",
                    pp.pitch[p], pp.height[p], params.width, params.height
                ));
            }
        }
        // The C API takes `NvBufSurface *`; map, sync and unmap write only through `surfaceList`.
        let surf = bytes.as_ptr().cast::<NvBufSurfaceHead>().cast_mut();
        let index_c = i32::try_from(index).map_err(|_| format!("surface index {index}"))?;
        // SAFETY: a checked NvBufSurface; DeepStream fills the mapped addresses of surface `index`.
        if unsafe { (ds.api.surface_map)(surf, index_c, -1, NVBUF_MAP_READ) } != 0 {
            return Err(format!("NvBufSurfaceMap failed on surface {index}"));
        }
        let mut mapped = MappedSurface {
            ds,
            surf,
            index: index_c,
            layout,
            colour,
            size: (params.width, params.height),
            planes: [(std::ptr::null(), 0); 3],
            strides: [0; 3],
            _memory: std::marker::PhantomData,
        };
        // SAFETY: mapped above.
        if unsafe { (ds.api.surface_sync_for_cpu)(surf, index_c, -1) } != 0 {
            return Err(format!("NvBufSurfaceSyncForCpu failed on surface {index}"));
        }
        // SAFETY: read again after the map wrote the addresses.
        let params: NvBufSurfaceParams = unsafe { (*surf).surface_list.add(index).read() };
        for (p, &(rows, row_bytes)) in needs.iter().enumerate() {
            let addr = params.mapped_addr.addr[p].cast::<u8>().cast_const();
            if addr.is_null() {
                return Err(format!("surface {index} plane {p} was not mapped"));
            }
            let pitch = params.plane_params.pitch[p] as usize;
            mapped.planes[p] = (addr, (rows - 1) * pitch + row_bytes);
            mapped.strides[p] = pitch;
        }
        mapped.view().validate().map_err(|e| format!("surface {index}: {e}"))?;
        Ok(mapped)
    }

    /// The mapped frame.
    pub fn view(&self) -> FrameView<'_> {
        let mut planes: [&[u8]; 3] = [&[], &[], &[]];
        for (p, &(ptr, len)) in self.planes.iter().enumerate() {
            if !ptr.is_null() {
                // SAFETY: `len` bytes from a mapped plane address (rows and pitch checked against the surface's
                // plane parameters), valid until this guard unmaps.
                planes[p] = unsafe { std::slice::from_raw_parts(ptr, len) };
            }
        }
        FrameView {
            layout: self.layout,
            width: self.size.0,
            height: self.size.1,
            planes,
            strides: self.strides,
            colour: self.colour,
        }
    }
}
