//! The identity each streamed sighting was matched to (`matched`, `by_match`): read in full for the console's
//! overview, and set afterwards when an operator labels an unknown track.

use super::{BY_MATCH, Ctx, MATCHED, Store, StoreError, begin_durable};
use redb::{ReadableDatabase, ReadableTable};
use std::collections::HashMap;

impl Store {
    /// Every sighting id recorded as identified, with the identity it was identified as.
    pub fn matched_all(&self) -> Result<HashMap<u64, String>, StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let matched = read.open_table(MATCHED).ctx(p)?;
        let mut out = HashMap::new();
        for entry in matched.iter().ctx(p)? {
            let (k, v) = entry.ctx(p)?;
            out.insert(k.value(), v.value().to_owned());
        }
        Ok(out)
    }

    /// The identity each of `ids` was identified as, for those recorded as identified.
    pub fn matched_of(&self, ids: &[u64]) -> Result<HashMap<u64, String>, StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let matched = read.open_table(MATCHED).ctx(p)?;
        let mut out = HashMap::new();
        for &id in ids {
            if let Some(v) = matched.get(id).ctx(p)? {
                out.insert(id, v.value().to_owned());
            }
        }
        Ok(out)
    }

    /// Records the sightings `ids` as identified as `identity` (a durable commit), so that forgetting `identity`
    /// forgets them too; ids already matched to someone are left as they are. Returns how many were recorded.
    pub fn mark_matched(&self, ids: &[u64], identity: &str) -> Result<usize, StoreError> {
        let p = &self.path;
        let db = self.db();
        let txn = begin_durable(&db, p)?;
        let mut marked = 0;
        {
            let mut matched = txn.open_table(MATCHED).ctx(p)?;
            let mut by_match = txn.open_multimap_table(BY_MATCH).ctx(p)?;
            for &id in ids {
                if matched.get(id).ctx(p)?.is_some() {
                    continue;
                }
                matched.insert(id, identity).ctx(p)?;
                by_match.insert(identity, id).ctx(p)?;
                marked += 1;
            }
        }
        txn.commit().ctx(p)?;
        Ok(marked)
    }
}
