//! Rewriting the store file so that deleted records leave it.
//!
//! redb frees the pages of deleted records for reuse but never clears them, and `Database::compact` only moves
//! live pages down and truncates the tail, so a forgotten vector can survive in a freed page. [`Store::scrub`]
//! copies every live record into a new file (`<file>.scrub`), commits it durably, renames it over the store and
//! syncs the directory: the new file was only ever written with live data. A crash before the rename leaves the
//! old store (its deletes already committed) and a stale `.scrub` file that the next open removes; after the
//! rename, the new store. The cost is one read and one write of the whole store, once per forget request.

use super::{BY_IDENTITY, BY_MATCH, BY_TIME, Ctx, INFO, MATCHED, META, Store, StoreError, VECTORS, begin_durable};
use redb::{Database, ReadableDatabase, ReadableMultimapTable, ReadableTable};
use std::path::{Path, PathBuf};

/// The scratch file a rewrite of `path` goes through.
fn scratch(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".scrub");
    PathBuf::from(name)
}

/// Removes the scratch file of an interrupted rewrite.
pub(super) fn remove_stale(path: &Path) -> Result<(), StoreError> {
    let tmp = scratch(path);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {
            tracing::warn!(path = %tmp.display(), "removed the scratch file of an interrupted store rewrite");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::Foreign { path: tmp, reason: format!("cannot remove a stale rewrite file: {e}") }),
    }
}

fn io(path: &Path, what: &str, e: std::io::Error) -> StoreError {
    StoreError::Foreign { path: path.to_path_buf(), reason: format!("rewriting the store: {what}: {e}") }
}

impl Store {
    /// Rewrites the file with only the live records (module docs); returns its size in bytes afterwards.
    /// Writers wait for it; readers of the store (stats) too.
    pub fn scrub(&self) -> Result<u64, StoreError> {
        let p = &self.path;
        let tmp = scratch(p);
        let mut db = self.db.write().unwrap_or_else(|e| e.into_inner());
        remove_stale(p)?;
        {
            let fresh = Database::builder().set_cache_size(super::CACHE_BYTES).create(&tmp).ctx(&tmp)?;
            let read = db.begin_read().ctx(p)?;
            let txn = begin_durable(&fresh, &tmp)?;
            {
                macro_rules! copy {
                    ($def:expr) => {{
                        let from = read.open_table($def).ctx(p)?;
                        let mut to = txn.open_table($def).ctx(&tmp)?;
                        for entry in from.iter().ctx(p)? {
                            let (k, v) = entry.ctx(p)?;
                            to.insert(k.value(), v.value()).ctx(&tmp)?;
                        }
                    }};
                }
                copy!(INFO);
                copy!(META);
                copy!(VECTORS);
                copy!(BY_TIME);
                copy!(MATCHED);
                for def in [BY_IDENTITY, BY_MATCH] {
                    let from = read.open_multimap_table(def).ctx(p)?;
                    let mut to = txn.open_multimap_table(def).ctx(&tmp)?;
                    for entry in from.iter().ctx(p)? {
                        let (k, values) = entry.ctx(p)?;
                        for v in values {
                            to.insert(k.value(), v.ctx(p)?.value()).ctx(&tmp)?;
                        }
                    }
                }
            }
            txn.commit().ctx(&tmp)?;
        }
        // The new file keeps the old one's permissions (a store may be readable by its owner only).
        let mode = std::fs::metadata(p).map_err(|e| io(p, "reading the file's permissions", e))?.permissions();
        std::fs::set_permissions(&tmp, mode).map_err(|e| io(&tmp, "setting the file's permissions", e))?;
        std::fs::rename(&tmp, p).map_err(|e| io(p, "renaming the new file over the old", e))?;
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| io(dir, "syncing the directory", e))?;
        }
        *db = Database::builder().set_cache_size(super::CACHE_BYTES).open(p).ctx(p)?;
        Ok(std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
    }
}
