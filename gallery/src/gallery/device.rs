//! Top-k answered on another device (a GPU: `reid gallery serve --device cuda:0`). The device holds a copy of the
//! index's vectors in the index's own row order; every insert and removal is mirrored while the index's write lock
//! is held, so a query holding the read lock always sees the two agree (and a filter's row mask, made by the index,
//! applies to the copy as is). A failed mirror drops the device and the gallery answers on the CPU from then on; a
//! failed search answers that request on the CPU. Both with a warning.

use crate::index::{Filter, Index};
use crate::topk::Hit;
use std::collections::HashMap;

/// An exact top-k engine on another device, kept in step with an [`Index`].
pub trait DeviceIndex: Send + Sync {
    /// What it runs on, for logs (e.g. "NVIDIA H200").
    fn name(&self) -> String;
    /// The largest `k` it answers; larger requests go to the CPU.
    fn max_k(&self) -> usize;
    /// Mirrors `index.insert` of `ids` (in this order; the index already holds them).
    fn appended(&mut self, index: &Index, ids: &[u64]) -> Result<(), String>;
    /// Mirrors `index.remove(ids)` (ids in the order the index removed them; ids not held are skipped, as there).
    fn removed(&mut self, index: &Index, ids: &[u64]) -> Result<(), String>;
    /// Top-`k` rows for each query (`n x dim`, normalised) admitted by `filter`, ordered by score then id, as
    /// [`Index::search`] orders them.
    fn search(&self, index: &Index, queries: &[f32], k: usize, filter: &Filter) -> Result<Vec<Vec<Hit>>, String>;
}

/// One removal as [`Index::remove`] performs it: the last row moves into the hole (`from == to` when the removed
/// row was the last one, and nothing moves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowMove {
    /// The row that now holds what was the last row.
    pub to: usize,
    /// The last row before the removal.
    pub from: usize,
}

/// The index's row order, tracked on the host for a device copy: ids by row and the row of each id, changed by
/// push and swap-remove exactly as [`Index`] changes its own.
#[derive(Clone, Debug, Default)]
pub struct RowMirror {
    ids: Vec<u64>,
    row_of: HashMap<u64, usize>,
}

impl RowMirror {
    /// The order of `ids` (an index's rows, as [`Index::ids`] lists them).
    pub fn new(ids: &[u64]) -> RowMirror {
        RowMirror { ids: ids.to_vec(), row_of: ids.iter().enumerate().map(|(r, &id)| (id, r)).collect() }
    }

    /// Ids by row.
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when no rows are held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Appends `id` as the last row; returns its row.
    pub fn push(&mut self, id: u64) -> usize {
        let row = self.ids.len();
        self.row_of.insert(id, row);
        self.ids.push(id);
        row
    }

    /// Removes `id` as [`Index::remove`] does (`None` when not held).
    pub fn swap_remove(&mut self, id: u64) -> Option<RowMove> {
        let row = self.row_of.remove(&id)?;
        let last = self.ids.len() - 1;
        self.ids.swap_remove(row);
        if row != last {
            self.row_of.insert(self.ids[row], row);
        }
        Some(RowMove { to: row, from: last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Precision;
    use crate::random::random_unit_rows;
    use crate::record::Metadata;

    #[test]
    fn the_mirror_keeps_the_index_row_order_through_inserts_and_removals() {
        let dim = 8;
        let mut index = Index::new(dim, Precision::F16);
        let mut mirror = RowMirror::new(index.ids());
        let data = random_unit_rows(300, dim, 3);
        let mut next = 0u64;
        // Interleave inserts and removals (first, last, middle, absent ids, repeats) and compare after each step.
        for round in 0..30u64 {
            for _ in 0..10 {
                let v = &data[(next as usize % 300) * dim..][..dim];
                index.insert(next * 3 + 1, &Metadata::default(), v).unwrap();
                mirror.push(next * 3 + 1);
                next += 1;
            }
            let held = index.ids().to_vec();
            let gone: Vec<u64> = vec![held[0], *held.last().unwrap(), held[held.len() / 2], 999_999, held[0]];
            let gone = if round % 3 == 0 { gone } else { gone[1..2].to_vec() };
            index.remove(&gone);
            for id in &gone {
                mirror.swap_remove(*id);
            }
            assert_eq!(mirror.ids(), index.ids(), "round {round}");
        }
        assert!(mirror.swap_remove(123_456_789).is_none());
    }
}
