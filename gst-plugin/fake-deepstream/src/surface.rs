#![allow(non_snake_case)]
//! `nvbufsurface.h`: mapping a surface points its planes at `dataPtr + planeParams.offset` (system memory
//! stands in for device memory); a null `dataPtr` fails the map, as an unmappable surface would.

use crate::{MAPS, SYNCS, UNMAPS, count};
use reid_deepstream_abi::surface::{NvBufSurfaceHead, NvBufSurfaceParams};

/// The surfaces `index` selects (`-1`: all filled), `None` when out of range.
unsafe fn surfaces(surf: *mut NvBufSurfaceHead, index: i32) -> Option<Vec<*mut NvBufSurfaceParams>> {
    // SAFETY: the caller passes a valid surface.
    let head = unsafe { &*surf };
    if head.surface_list.is_null() {
        return None;
    }
    let range = if index < 0 {
        0..head.num_filled.min(head.batch_size) as usize
    } else {
        let i = index as usize;
        if i >= head.batch_size as usize {
            return None;
        }
        i..i + 1
    };
    // SAFETY: `surface_list` holds `batch_size` entries.
    Some(range.map(|i| unsafe { head.surface_list.add(i) }).collect())
}

/// `NvBufSurfaceMap`: 0, or -1 for a bad index or an unmappable surface.
///
/// # Safety
/// `surf` is a valid surface whose `surfaceList` holds `batchSize` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn NvBufSurfaceMap(surf: *mut NvBufSurfaceHead, index: i32, plane: i32, _flags: i32) -> i32 {
    // SAFETY: forwarded contract.
    let Some(list) = (unsafe { surfaces(surf, index) }) else { return -1 };
    for params in list {
        // SAFETY: an entry of the list.
        let p = unsafe { &mut *params };
        if p.data_ptr.is_null() {
            return -1;
        }
        let planes = p.plane_params.num_planes.min(4) as usize;
        for k in 0..planes {
            if plane >= 0 && plane as usize != k {
                continue;
            }
            // SAFETY: offsets lie inside the allocation the test made.
            p.mapped_addr.addr[k] = unsafe { p.data_ptr.cast::<u8>().add(p.plane_params.offset[k] as usize) }.cast();
        }
    }
    count(MAPS);
    0
}

/// `NvBufSurfaceUnMap`: clears the mapped addresses.
///
/// # Safety
/// As [`NvBufSurfaceMap`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn NvBufSurfaceUnMap(surf: *mut NvBufSurfaceHead, index: i32, _plane: i32) -> i32 {
    // SAFETY: forwarded contract.
    let Some(list) = (unsafe { surfaces(surf, index) }) else { return -1 };
    for params in list {
        // SAFETY: an entry of the list.
        unsafe { (*params).mapped_addr.addr = [std::ptr::null_mut(); 4] };
    }
    count(UNMAPS);
    0
}

/// `NvBufSurfaceSyncForCpu`: nothing to sync in system memory; counted.
///
/// # Safety
/// As [`NvBufSurfaceMap`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn NvBufSurfaceSyncForCpu(surf: *mut NvBufSurfaceHead, index: i32, _plane: i32) -> i32 {
    // SAFETY: forwarded contract.
    if unsafe { surfaces(surf, index) }.is_none() {
        return -1;
    }
    count(SYNCS);
    0
}
