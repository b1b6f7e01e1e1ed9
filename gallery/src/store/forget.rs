//! Deleting records: a person (labelled records and the sightings identified as them), a time range, retention.

use super::codec::decode_meta;
use super::{BY_IDENTITY, BY_MATCH, BY_TIME, Ctx, MATCHED, META, Store, StoreError, VECTORS, begin_durable};
use crate::record::{Metadata, TimeRange};
use redb::{ReadableTable, WriteTransaction};

impl Store {
    /// Deletes every embedding labelled `identity` and every streamed sighting identified as `identity` when it
    /// was ingested; returns the ids deleted (empty when the identity is unknown). Call [`Store::scrub`] after
    /// it so that the deleted bytes leave the file.
    pub fn forget_identity(&self, identity: &str) -> Result<Vec<u64>, StoreError> {
        let p = &self.path;
        let db = self.db();
        let txn = begin_durable(&db, p)?;
        let ids = {
            let mut ids = Vec::new();
            let mut by_identity = txn.open_multimap_table(BY_IDENTITY).ctx(p)?;
            for v in by_identity.remove_all(identity).ctx(p)? {
                ids.push(v.ctx(p)?.value());
            }
            let mut by_match = txn.open_multimap_table(BY_MATCH).ctx(p)?;
            for v in by_match.remove_all(identity).ctx(p)? {
                ids.push(v.ctx(p)?.value());
            }
            drop((by_identity, by_match));
            ids.sort_unstable();
            ids.dedup();
            self.delete_in(&txn, &ids)?;
            ids
        };
        txn.commit().ctx(p)?;
        Ok(ids)
    }

    /// Deletes every embedding whose timestamp lies in `range` (inclusive), optionally only those of `camera`;
    /// returns the ids deleted.
    pub fn forget_time_range(&self, range: TimeRange, camera: Option<&str>) -> Result<Vec<u64>, StoreError> {
        let p = &self.path;
        let (from, to) = range.bounds();
        if from > to {
            return Ok(Vec::new());
        }
        let db = self.db();
        let txn = begin_durable(&db, p)?;
        let ids = {
            let by_time = txn.open_table(BY_TIME).ctx(p)?;
            let meta = txn.open_table(META).ctx(p)?;
            let mut ids = Vec::new();
            for entry in by_time.range((from, 0u64)..=(to, u64::MAX)).ctx(p)? {
                let (key, _) = entry.ctx(p)?;
                let id = key.value().1;
                if let Some(cam) = camera {
                    let m = self.read_meta(&meta, id)?;
                    if m.camera.as_deref() != Some(cam) {
                        continue;
                    }
                }
                ids.push(id);
            }
            drop((by_time, meta));
            self.delete_in(&txn, &ids)?;
            ids
        };
        txn.commit().ctx(p)?;
        Ok(ids)
    }

    /// Retention: deletes every embedding with a timestamp strictly before `cutoff_ms`; returns the ids deleted.
    pub fn expire(&self, cutoff_ms: i64) -> Result<Vec<u64>, StoreError> {
        if cutoff_ms == i64::MIN {
            return Ok(Vec::new());
        }
        self.forget_time_range(TimeRange { from_ms: None, to_ms: Some(cutoff_ms - 1) }, None)
    }

    /// Removes `ids` from every table inside `txn` (index entries already gone are skipped).
    fn delete_in(&self, txn: &WriteTransaction, ids: &[u64]) -> Result<(), StoreError> {
        let p = &self.path;
        let mut meta = txn.open_table(META).ctx(p)?;
        let mut vectors = txn.open_table(VECTORS).ctx(p)?;
        let mut by_time = txn.open_table(BY_TIME).ctx(p)?;
        let mut by_identity = txn.open_multimap_table(BY_IDENTITY).ctx(p)?;
        let mut matched = txn.open_table(MATCHED).ctx(p)?;
        let mut by_match = txn.open_multimap_table(BY_MATCH).ctx(p)?;
        if !ids.is_empty() {
            super::bump_generation(txn, p)?;
        }
        for &id in ids {
            let m = match meta.remove(id).ctx(p)? {
                Some(bytes) => decode_meta(bytes.value()).map_err(|reason| self.corrupt(id, reason))?,
                None => continue,
            };
            vectors.remove(id).ctx(p)?;
            by_time.remove((m.timestamp_ms, id)).ctx(p)?;
            if let Some(label) = &m.identity {
                by_identity.remove(label.as_str(), id).ctx(p)?;
            }
            let who = matched.remove(id).ctx(p)?.map(|w| w.value().to_owned());
            if let Some(who) = who {
                by_match.remove(who.as_str(), id).ctx(p)?;
            }
        }
        Ok(())
    }

    pub(super) fn read_meta(
        &self,
        meta: &impl ReadableTable<u64, &'static [u8]>,
        id: u64,
    ) -> Result<Metadata, StoreError> {
        match meta.get(id).ctx(&self.path)? {
            Some(bytes) => decode_meta(bytes.value()).map_err(|reason| self.corrupt(id, reason)),
            None => Err(self.corrupt(id, "listed in by_time but missing from meta".into())),
        }
    }

    pub(super) fn corrupt(&self, id: u64, reason: String) -> StoreError {
        StoreError::Corrupt { path: self.path.clone(), id, reason }
    }
}
