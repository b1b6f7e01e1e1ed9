//! Filters resolved against the index: camera names to a code mask once per search, then a per-row check that
//! runs only for rows whose score could enter a top-k.

use super::{Filter, Index, NONE};
use crate::record::TimeRange;
use crate::topk::{Hit, TopK};

/// A filter resolved against the index's interned camera codes.
pub(super) struct RowFilter {
    pub(super) trivial: bool,
    cameras: Option<Vec<bool>>,
    time: TimeRange,
    identified_only: bool,
}

impl Index {
    pub(super) fn compile(&self, filter: &Filter) -> RowFilter {
        let cameras = filter.cameras.as_ref().map(|names| {
            let mut ok = vec![false; self.camera_names.names.len()];
            for n in names {
                if let Some(&c) = self.camera_names.codes.get(n) {
                    ok[c as usize] = true;
                }
            }
            ok
        });
        RowFilter {
            trivial: cameras.is_none() && filter.time.is_all() && !filter.identified_only && self.dead_count == 0,
            cameras,
            time: filter.time,
            identified_only: filter.identified_only,
        }
    }

    #[inline]
    pub(super) fn accept(&self, f: &RowFilter, row: usize) -> bool {
        if f.trivial {
            return true;
        }
        if self.dead_count > 0 && self.dead[row] {
            return false;
        }
        if f.identified_only && self.identities[row] == NONE {
            return false;
        }
        if let Some(ok) = &f.cameras {
            let c = self.cameras[row];
            if c == NONE || !ok[c as usize] {
                return false;
            }
        }
        f.time.contains(self.timestamps[row])
    }

    /// Offers `scores` of rows `r0..` to `top`, filter checked only for rows that could enter.
    #[inline]
    pub(super) fn offer(&self, f: &RowFilter, r0: usize, scores: &[f32], top: &mut TopK) {
        let mut floor = top.floor();
        for (j, &s) in scores.iter().enumerate() {
            if s >= floor && self.accept(f, r0 + j) {
                top.push(Hit { id: self.ids[r0 + j], score: s });
                floor = top.floor();
            }
        }
    }

    /// One byte per live row in storage order (the order of [`Index::rows_f32`]), 1 where `filter` admits the
    /// row; `None` when it admits every row.
    pub fn row_mask(&self, filter: &Filter) -> Option<Vec<u8>> {
        let f = self.compile(filter);
        if f.trivial {
            return None;
        }
        Some((0..self.rows()).filter(|&r| !self.is_dead(r)).map(|r| u8::from(self.accept(&f, r))).collect())
    }

    /// Whether row `row` is a removed row kept for the graph (a tombstone).
    #[inline]
    pub(super) fn is_dead(&self, row: usize) -> bool {
        self.dead_count > 0 && self.dead[row]
    }
}
