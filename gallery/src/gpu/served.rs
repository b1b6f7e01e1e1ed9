//! The GPU copy a serving gallery answers top-k from (`reid gallery serve --device cuda:0`): a [`GpuGallery`] that
//! grows by appending rows (capacity doubled on the device) and shrinks by the index's swap-remove, so its rows
//! stay in the index's order ([`RowMirror`]) and a filter's row mask from the index applies unchanged.

use super::search::GpuGallery;
use super::{Gpu, GpuError, MAX_K};
use crate::gallery::device::{DeviceIndex, RowMirror, RowMove};
use crate::index::{Filter, Index};
use crate::topk::Hit;
use std::sync::Arc;

/// Rows removed in one call past which the copy is uploaded again instead of moved row by row.
const REUPLOAD_REMOVALS: usize = 4096;

impl GpuGallery {
    /// Rows the device buffers hold before they must grow.
    fn capacity(&self) -> usize {
        (self.data.len() / self.dim.max(1)).min(self.ids.len())
    }

    /// Appends rows (`ids.len() x dim` values) after the last one, doubling the device buffers when full.
    pub fn append(&mut self, ids: &[u64], data: &[f32]) -> Result<(), GpuError> {
        let dim = self.dim;
        if data.len() != ids.len() * dim {
            return Err(GpuError::Shape(format!("{} values for {} rows of {dim}", data.len(), ids.len())));
        }
        if ids.is_empty() {
            return Ok(());
        }
        let need = self.rows + ids.len();
        if need > self.capacity() {
            let cap = need.max(self.capacity() * 2).max(1024);
            let mut new_data = self.gpu.zeros::<f32>(cap * dim)?;
            let mut new_ids = self.gpu.zeros::<u64>(cap)?;
            if self.rows > 0 {
                let copy = |e: cudarc::driver::DriverError| GpuError::Driver(format!("growing the GPU copy: {e}"));
                let stream = &self.gpu.stream;
                stream
                    .memcpy_dtod(&self.data.slice(..self.rows * dim), &mut new_data.slice_mut(..self.rows * dim))
                    .map_err(copy)?;
                stream.memcpy_dtod(&self.ids.slice(..self.rows), &mut new_ids.slice_mut(..self.rows)).map_err(copy)?;
            }
            self.data = new_data;
            self.ids = new_ids;
        }
        let put = |e: cudarc::driver::DriverError| GpuError::Driver(format!("copying rows to the GPU: {e}"));
        let (r0, r1) = (self.rows, need);
        self.gpu.stream.memcpy_htod(data, &mut self.data.slice_mut(r0 * dim..r1 * dim)).map_err(put)?;
        self.gpu.stream.memcpy_htod(ids, &mut self.ids.slice_mut(r0..r1)).map_err(put)?;
        self.rows = need;
        Ok(())
    }

    /// Removes a row as the index does: row `m.from` (the last) moves into `m.to`.
    pub fn swap_remove(&mut self, m: RowMove) -> Result<(), GpuError> {
        if m.from + 1 != self.rows || m.to > m.from {
            return Err(GpuError::Shape(format!("removal {m:?} does not fit {} rows", self.rows)));
        }
        if m.to != m.from {
            let dim = self.dim;
            let mv = |e: cudarc::driver::DriverError| GpuError::Driver(format!("moving a row on the GPU: {e}"));
            let stream = self.gpu.stream.clone();
            let (mut lo, hi) = self.data.split_at_mut(m.from * dim);
            stream.memcpy_dtod(&hi.slice(..dim), &mut lo.slice_mut(m.to * dim..(m.to + 1) * dim)).map_err(mv)?;
            let (mut lo, hi) = self.ids.split_at_mut(m.from);
            stream.memcpy_dtod(&hi.slice(..1), &mut lo.slice_mut(m.to..m.to + 1)).map_err(mv)?;
        }
        self.rows -= 1;
        Ok(())
    }
}

/// A served gallery's GPU copy: [`GpuGallery`] plus the host record of its row order.
pub struct GpuIndex {
    copy: GpuGallery,
    mirror: RowMirror,
    name: String,
}

impl std::fmt::Debug for GpuIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuIndex").field("name", &self.name).field("rows", &self.copy.rows).finish()
    }
}

impl GpuIndex {
    /// Copies `index` to `gpu`.
    pub fn new(gpu: Arc<Gpu>, index: &Index) -> Result<GpuIndex, GpuError> {
        let name = gpu.name().to_string();
        let copy = GpuGallery::upload(gpu, index)?;
        Ok(GpuIndex { copy, mirror: RowMirror::new(index.ids()), name })
    }

    /// The device's ids by row, read back (tests: they must equal [`Index::ids`]).
    pub fn device_ids(&self) -> Result<Vec<u64>, GpuError> {
        let mut ids = self.copy.gpu.download(&self.copy.ids.slice(..self.copy.rows))?;
        ids.truncate(self.copy.rows);
        Ok(ids)
    }
}

impl DeviceIndex for GpuIndex {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn max_k(&self) -> usize {
        MAX_K
    }

    fn appended(&mut self, index: &Index, ids: &[u64]) -> Result<(), String> {
        let mut data = Vec::with_capacity(ids.len() * index.dim());
        for &id in ids {
            // The stored row (f16 widened), so GPU scores are those of the CPU index.
            data.extend(index.vector(id).ok_or_else(|| format!("record {id} is not in the index"))?);
        }
        self.copy.append(ids, &data).map_err(|e| e.to_string())?;
        for &id in ids {
            self.mirror.push(id);
        }
        Ok(())
    }

    fn removed(&mut self, index: &Index, ids: &[u64]) -> Result<(), String> {
        if ids.len() > REUPLOAD_REMOVALS {
            let gpu = self.copy.gpu.clone();
            *self = GpuIndex::new(gpu, index).map_err(|e| e.to_string())?;
            return Ok(());
        }
        for &id in ids {
            if let Some(m) = self.mirror.swap_remove(id) {
                self.copy.swap_remove(m).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    }

    fn search(&self, index: &Index, queries: &[f32], k: usize, filter: &Filter) -> Result<Vec<Vec<Hit>>, String> {
        self.copy.search(index, queries, k, filter).map_err(|e| e.to_string())
    }
}
