//! Reading every stored record in id order, a batch of rows per read ([`RecordIter`]).

use super::codec::{decode_meta, decode_vector};
use super::{Ctx, ITER_BATCH, Store, StoreError};
use crate::record::Record;
use redb::ReadOnlyTable;
use std::collections::VecDeque;

/// Iterator over every stored record (see [`Store::iter_all`]).
pub struct RecordIter<'a> {
    store: &'a Store,
    meta: ReadOnlyTable<u64, &'static [u8]>,
    vectors: ReadOnlyTable<u64, &'static [u8]>,
    next: u64,
    done: bool,
    buf: VecDeque<Record>,
    total: u64,
}

impl<'a> RecordIter<'a> {
    pub(super) fn new(
        store: &'a Store,
        meta: ReadOnlyTable<u64, &'static [u8]>,
        vectors: ReadOnlyTable<u64, &'static [u8]>,
        total: u64,
    ) -> Self {
        RecordIter { store, meta, vectors, next: 0, done: false, buf: VecDeque::new(), total }
    }

    /// Records in the snapshot (the iterator's total length).
    pub fn total(&self) -> u64 {
        self.total
    }

    fn fill(&mut self) -> Result<(), StoreError> {
        let (p, dim) = (&self.store.path, self.store.dim);
        let mut vecs = self.vectors.range(self.next..).ctx(p)?;
        for entry in self.meta.range(self.next..).ctx(p)?.take(ITER_BATCH) {
            let (k, m) = entry.ctx(p)?;
            let id = k.value();
            let meta = decode_meta(m.value()).map_err(|r| self.store.corrupt(id, r))?;
            let vector = match vecs.next() {
                Some(Ok((vk, v))) if vk.value() == id => {
                    decode_vector(v.value(), dim).map_err(|r| self.store.corrupt(id, r))?
                }
                Some(Err(e)) => return Err(e).ctx(p),
                _ => return Err(self.store.corrupt(id, "vector missing".into())),
            };
            self.next = id + 1;
            self.buf.push_back(Record { id, meta, vector });
        }
        if self.buf.is_empty() {
            self.done = true;
        }
        Ok(())
    }
}

impl Iterator for RecordIter<'_> {
    type Item = Result<Record, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buf.is_empty()
            && !self.done
            && let Err(e) = self.fill()
        {
            self.done = true;
            return Some(Err(e));
        }
        self.buf.pop_front().map(Ok)
    }
}
