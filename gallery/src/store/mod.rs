//! The durable half of the gallery: every embedding and its metadata in an embedded database.
//!
//! **Why redb and not SQLite.** `redb` is pure Rust: cross-compiling the gallery to an aarch64 Jetson needs no C
//! toolchain, sysroot or bundled SQLite build, and the on-disk format is one file with copy-on-write B-trees and
//! checksummed commit slots, so a crash (power loss, SIGKILL) leaves either the previous or the new commit, never a
//! torn one. A commit with [`redb::Durability::Immediate`] has been `fsync`ed when `commit()` returns, which is the
//! point at which [`Store::enroll`] acknowledges. SQLite with WAL would give the same guarantees with
//! `synchronous=FULL`, plus ad-hoc SQL, but the gallery needs only key-range scans, so SQL buys nothing here. redb
//! allows one writer at a time and readers alongside it (MVCC snapshots), which matches a service that appends
//! often and reads everything once at start.
//!
//! Layout (format version 1):
//! - `info`: `format`, `dim` (embedding dimension), `next_id` (ids are assigned monotonically, never reused),
//!   `uid` (random, set when the store is made or first opened by a build that knows it) and `generation` (+1 in
//!   every transaction that adds or deletes records): together the [`StoreTag`] an index snapshot is checked
//!   against;
//! - `meta`: id -> encoded [`Metadata`]; `vectors`: id -> the f32 little-endian bytes of the (normalised) vector;
//! - `by_time`: (timestamp, id) -> () for retention and time-range forgetting;
//! - `by_identity`: identity -> ids (multimap) for forgetting a person;
//! - `by_match`: identity -> ids (multimap) of the streamed sightings identified as that person when they were
//!   ingested (stored unlabelled), and `matched`: id -> that identity, so that forgetting a person also forgets
//!   them and deleting a sighting leaves no stale name behind (both created on open when an older store lacks them).
//!
//! Forgetting rewrites the file ([`Store::scrub`]): redb reuses freed pages but never clears them, so without the
//! rewrite a forgotten vector would stay in the file byte for byte.

mod codec;
mod forget;
mod iter;
mod matched;
mod scrub;

pub use iter::RecordIter;

use crate::index::VectorSource;
use crate::record::{NewEmbedding, Record};
use codec::{decode_meta, decode_vector, decode_vector_into, encode_meta};
use redb::{
    Database, Durability, MultimapTableDefinition, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};
use thiserror::Error;

const INFO: TableDefinition<&str, u64> = TableDefinition::new("info");
const META: TableDefinition<u64, &[u8]> = TableDefinition::new("meta");
const VECTORS: TableDefinition<u64, &[u8]> = TableDefinition::new("vectors");
const BY_TIME: TableDefinition<(i64, u64), ()> = TableDefinition::new("by_time");
const BY_IDENTITY: MultimapTableDefinition<&str, u64> = MultimapTableDefinition::new("by_identity");
const MATCHED: TableDefinition<u64, &str> = TableDefinition::new("matched");
const BY_MATCH: MultimapTableDefinition<&str, u64> = MultimapTableDefinition::new("by_match");

/// The store format this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// Records read per batch by [`RecordIter`].
const ITER_BATCH: usize = 4096;
/// redb's page cache (its default is 1 GiB, which a start's full read of the store would fill: resident memory
/// beside the index for no gain, since the store is read whole only at start). 64 MiB keeps the B-trees' branch
/// pages of a 10M-record store cached for the int8 index's re-scoring reads; leaves come from the OS page cache.
pub const CACHE_BYTES: usize = 64 << 20;

/// Errors of the durable store; every one names the database file.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database layer failed (I/O, corruption, a file that is not a redb database, locked by another process).
    #[error("gallery store {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: redb::Error,
    },
    /// A redb database that is not a gallery store, or one written by a newer format.
    #[error("gallery store {path}: {reason}")]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A record that cannot be decoded.
    #[error("gallery store {path}: record {id} is corrupt: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The record id.
        id: u64,
        /// What is wrong.
        reason: String,
    },
    /// A new store needs a dimension, or the requested one differs from the stored one.
    #[error("gallery store {path}: {reason}")]
    Dimension {
        /// The database file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An embedding of an enrolment batch does not fit the store.
    #[error("gallery store {path}: item {item}: {reason}")]
    Invalid {
        /// The database file.
        path: PathBuf,
        /// Position in the batch.
        item: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Which store, at which change: an index snapshot tagged with it is current only while both match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreTag {
    /// Random id of the store (kept by [`Store::scrub`], which changes no record).
    pub uid: u64,
    /// Transactions that added or deleted records since the store was made (or since `generation` was added).
    pub generation: u64,
    /// Records held.
    pub records: u64,
}

/// Figures about the store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreStats {
    /// Embeddings held.
    pub embeddings: u64,
    /// Embedding dimension.
    pub dim: usize,
    /// The id the next enrolment gets.
    pub next_id: u64,
    /// Oldest timestamp held.
    pub oldest_ms: Option<i64>,
    /// Newest timestamp held.
    pub newest_ms: Option<i64>,
    /// Size of the database file in bytes.
    pub file_bytes: u64,
}

/// The durable embedding store (one redb file). `Send + Sync`: share it behind an `Arc`.
pub struct Store {
    /// The open database; replaced (write lock) when [`Store::scrub`] rewrites the file.
    db: RwLock<Database>,
    path: PathBuf,
    dim: usize,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).field("dim", &self.dim).finish()
    }
}

trait Ctx<T> {
    fn ctx(self, path: &Path) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> Ctx<T> for Result<T, E> {
    fn ctx(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Database { path: path.to_path_buf(), source: e.into() })
    }
}

impl Store {
    /// Opens the store at `path`, creating it when the file is missing or empty. A new store needs `dim`; an
    /// existing one checks `dim` against the stored dimension when given.
    pub fn open(path: impl AsRef<Path>, dim: Option<usize>) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        scrub::remove_stale(&path)?;
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(&path).ctx(&path)?;
        let stored = {
            let read = db.begin_read().ctx(&path)?;
            match read.open_table(INFO) {
                Ok(info) => {
                    let format = info.get("format").ctx(&path)?.map(|v| v.value());
                    let stored_dim = info.get("dim").ctx(&path)?.map(|v| v.value());
                    match (format, stored_dim) {
                        (Some(FORMAT_VERSION), Some(d)) => Some(d as usize),
                        (Some(f), _) if f != FORMAT_VERSION => {
                            return Err(StoreError::Foreign {
                                path,
                                reason: format!(
                                    "store format {f} is not supported (this build reads {FORMAT_VERSION})"
                                ),
                            });
                        }
                        _ => {
                            return Err(StoreError::Foreign {
                                path,
                                reason: "not a reid gallery store (its info table lacks format/dim)".into(),
                            });
                        }
                    }
                }
                Err(redb::TableError::TableDoesNotExist(_)) => {
                    let tables =
                        read.list_tables().ctx(&path)?.count() + read.list_multimap_tables().ctx(&path)?.count();
                    if tables > 0 {
                        return Err(StoreError::Foreign {
                            path,
                            reason: format!("a redb database with {tables} tables but not a reid gallery store"),
                        });
                    }
                    None
                }
                Err(e) => return Err(e).ctx(&path),
            }
        };
        let dim = match (stored, dim) {
            (Some(s), Some(d)) if s != d => {
                return Err(StoreError::Dimension {
                    path,
                    reason: format!("holds {s}-d embeddings but {d}-d were requested"),
                });
            }
            (Some(s), _) => s,
            (None, Some(0)) | (None, None) => {
                return Err(StoreError::Dimension {
                    path,
                    reason: "a new store needs the embedding dimension (> 0)".into(),
                });
            }
            (None, Some(d)) => {
                let txn = begin_durable(&db, &path)?;
                {
                    let mut info = txn.open_table(INFO).ctx(&path)?;
                    info.insert("format", FORMAT_VERSION).ctx(&path)?;
                    info.insert("dim", d as u64).ctx(&path)?;
                    info.insert("next_id", 1).ctx(&path)?;
                    txn.open_table(META).ctx(&path)?;
                    txn.open_table(VECTORS).ctx(&path)?;
                    txn.open_table(BY_TIME).ctx(&path)?;
                    txn.open_multimap_table(BY_IDENTITY).ctx(&path)?;
                }
                txn.commit().ctx(&path)?;
                tracing::info!(path = %path.display(), dim = d, "created gallery store");
                d
            }
        };
        // Tables and keys added after format 1 was released: created when missing.
        let txn = begin_durable(&db, &path)?;
        txn.open_table(MATCHED).ctx(&path)?;
        txn.open_multimap_table(BY_MATCH).ctx(&path)?;
        {
            let mut info = txn.open_table(INFO).ctx(&path)?;
            if info.get("uid").ctx(&path)?.is_none() {
                info.insert("uid", crate::random::fresh_u64()).ctx(&path)?;
            }
            if info.get("generation").ctx(&path)?.is_none() {
                info.insert("generation", 0).ctx(&path)?;
            }
        }
        txn.commit().ctx(&path)?;
        Ok(Store { db: RwLock::new(db), path, dim })
    }

    fn db(&self) -> RwLockReadGuard<'_, Database> {
        self.db.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Stores a batch in one transaction and returns the ids assigned, in batch order, once the commit is durable
    /// (fsynced). Vectors are stored as given; the whole batch is refused if one has the wrong dimension or a
    /// non-finite value.
    pub fn enroll(&self, batch: &[NewEmbedding]) -> Result<Vec<u64>, StoreError> {
        self.enroll_matched(batch, &[])
    }

    /// [`Store::enroll`], recording for item `i` the identity `matches[i]` it was identified as (streamed
    /// sightings, stored unlabelled; `None` or a missing entry when unidentified), so that forgetting that
    /// identity forgets the sighting too.
    pub fn enroll_matched(&self, batch: &[NewEmbedding], matches: &[Option<String>]) -> Result<Vec<u64>, StoreError> {
        let p = &self.path;
        for (item, e) in batch.iter().enumerate() {
            if e.vector.len() != self.dim {
                let reason =
                    format!("embedding has {} values, the store holds {}-d embeddings", e.vector.len(), self.dim);
                return Err(StoreError::Invalid { path: p.clone(), item, reason });
            }
            if let Some(i) = e.vector.iter().position(|v| !v.is_finite()) {
                let reason = format!("embedding value {i} is {}", e.vector[i]);
                return Err(StoreError::Invalid { path: p.clone(), item, reason });
            }
        }
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let db = self.db();
        let txn = begin_durable(&db, p)?;
        let ids = {
            let mut info = txn.open_table(INFO).ctx(p)?;
            let first = info.get("next_id").ctx(p)?.map(|v| v.value()).unwrap_or(1);
            let mut meta = txn.open_table(META).ctx(p)?;
            let mut vectors = txn.open_table(VECTORS).ctx(p)?;
            let mut by_time = txn.open_table(BY_TIME).ctx(p)?;
            let mut by_identity = txn.open_multimap_table(BY_IDENTITY).ctx(p)?;
            let mut matched = txn.open_table(MATCHED).ctx(p)?;
            let mut by_match = txn.open_multimap_table(BY_MATCH).ctx(p)?;
            let mut bytes = Vec::with_capacity(self.dim * 4);
            let mut ids = Vec::with_capacity(batch.len());
            for (i, e) in batch.iter().enumerate() {
                let id = first + i as u64;
                meta.insert(id, encode_meta(&e.meta).as_slice()).ctx(p)?;
                bytes.clear();
                e.vector.iter().for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
                vectors.insert(id, bytes.as_slice()).ctx(p)?;
                by_time.insert((e.meta.timestamp_ms, id), ()).ctx(p)?;
                if let Some(label) = &e.meta.identity {
                    by_identity.insert(label.as_str(), id).ctx(p)?;
                }
                if let Some(Some(who)) = matches.get(i) {
                    matched.insert(id, who.as_str()).ctx(p)?;
                    by_match.insert(who.as_str(), id).ctx(p)?;
                }
                ids.push(id);
            }
            info.insert("next_id", first + batch.len() as u64).ctx(p)?;
            drop(info);
            bump_generation(&txn, p)?;
            ids
        };
        txn.commit().ctx(p)?;
        Ok(ids)
    }

    /// One record by id.
    pub fn get(&self, id: u64) -> Result<Option<Record>, StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let meta = read.open_table(META).ctx(p)?;
        let vectors = read.open_table(VECTORS).ctx(p)?;
        let Some(m) = meta.get(id).ctx(p)? else { return Ok(None) };
        let m = decode_meta(m.value()).map_err(|r| self.corrupt(id, r))?;
        let v = vectors.get(id).ctx(p)?.ok_or_else(|| self.corrupt(id, "vector missing".into()))?;
        let vector = decode_vector(v.value(), self.dim).map_err(|r| self.corrupt(id, r))?;
        Ok(Some(Record { id, meta: m, vector }))
    }

    /// The vectors of `ids` into `out` (`ids.len() * dim`), from one read transaction; `found[i]` is false for an
    /// id not held (its slot is left as it was). For the int8 index's exact re-scoring ([`VectorSource`]).
    pub fn vectors_into(&self, ids: &[u64], out: &mut [f32], found: &mut [bool]) -> Result<(), StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let vectors = read.open_table(VECTORS).ctx(p)?;
        for ((&id, slot), f) in ids.iter().zip(out.chunks_exact_mut(self.dim)).zip(found.iter_mut()) {
            *f = match vectors.get(id).ctx(p)? {
                Some(v) => {
                    decode_vector_into(v.value(), slot).map_err(|r| self.corrupt(id, r))?;
                    true
                }
                None => false,
            };
        }
        Ok(())
    }

    /// Every record in id order, read from one snapshot in batches (for rebuilding the index at start).
    pub fn iter_all(&self) -> Result<RecordIter<'_>, StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let meta = read.open_table(META).ctx(p)?;
        let vectors = read.open_table(VECTORS).ctx(p)?;
        let total = meta.len().ctx(p)?;
        Ok(RecordIter::new(self, meta, vectors, total))
    }

    /// The store's identity and change count now (see [`StoreTag`]).
    pub fn tag(&self) -> Result<StoreTag, StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let info = read.open_table(INFO).ctx(p)?;
        let get = |key: &str| -> Result<u64, StoreError> { Ok(info.get(key).ctx(p)?.map_or(0, |v| v.value())) };
        let records = read.open_table(META).ctx(p)?.len().ctx(p)?;
        Ok(StoreTag { uid: get("uid")?, generation: get("generation")?, records })
    }

    /// Counts, dimension, id counter, time span and file size.
    pub fn stats(&self) -> Result<StoreStats, StoreError> {
        let p = &self.path;
        let read = self.db().begin_read().ctx(p)?;
        let meta = read.open_table(META).ctx(p)?;
        let by_time = read.open_table(BY_TIME).ctx(p)?;
        let info = read.open_table(INFO).ctx(p)?;
        let oldest = by_time.first().ctx(p)?.map(|(k, _)| k.value().0);
        let newest = by_time.last().ctx(p)?.map(|(k, _)| k.value().0);
        Ok(StoreStats {
            embeddings: meta.len().ctx(p)?,
            dim: self.dim,
            next_id: info.get("next_id").ctx(p)?.map(|v| v.value()).unwrap_or(1),
            oldest_ms: oldest,
            newest_ms: newest,
            file_bytes: std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
        })
    }
}

/// Counts one more change of the records in `txn` (see [`StoreTag`]).
fn bump_generation(txn: &WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let mut info = txn.open_table(INFO).ctx(path)?;
    let g = info.get("generation").ctx(path)?.map_or(0, |v| v.value());
    info.insert("generation", g + 1).ctx(path)?;
    Ok(())
}

fn begin_durable(db: &Database, path: &Path) -> Result<WriteTransaction, StoreError> {
    let mut txn = db.begin_write().ctx(path)?;
    txn.set_durability(Durability::Immediate).ctx(path)?;
    Ok(txn)
}

impl VectorSource for Store {
    fn fetch(&self, ids: &[u64], out: &mut [f32], found: &mut [bool]) -> Result<(), String> {
        self.vectors_into(ids, out, found).map_err(|e| e.to_string())
    }
}
