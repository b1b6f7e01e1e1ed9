//! Index snapshots: the in-memory index written beside the store (`<store>.index`) so a restart loads it instead
//! of rebuilding it from every record.
//!
//! A snapshot is tagged with the store's [`StoreTag`] (its random uid, its change count and its record count) at
//! the moment it was written, under the gallery's writer lock so that no change falls in between. At start it is
//! used only when the tag, the dimension and the precision all match the store and the configuration, and its
//! CRC-32 (over the whole file) checks; otherwise it is stale or damaged, the index is rebuilt from the store and
//! the reason is logged. The store stays the source of truth: a crash at any point loses nothing, it only costs
//! the next start a rebuild.
//!
//! File layout (little-endian): magic `REIDSNAP`, format version (u32), store uid, generation and records (u64
//! each), dimension (u32), precision (u8), index kind (u8: 0 = exact, 1 = with an HNSW graph), the body
//! ([`Index::write_to`], then [`Index::write_graph`] for kind 1), CRC-32 of everything before it (u32). Written to `<file>.tmp`, fsynced, renamed over the old one, directory fsynced.

pub(crate) mod io;

use crate::index::{Index, Precision};
use crate::store::StoreTag;
use io::{SumReader, SumWriter, get, put};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

const MAGIC: &[u8; 8] = b"REIDSNAP";
/// The snapshot format this build writes. 2: int8 bodies hold codes and scales only (format 1's also held the
/// f32 originals); f32 and f16 bodies are the same in both.
pub const FORMAT: u32 = 2;
/// The oldest format this build reads (its f32 and f16 snapshots; a format-1 int8 snapshot is rebuilt).
const OLDEST_FORMAT: u32 = 1;
const KIND_EXACT: u8 = 0;
const KIND_HNSW: u8 = 1;

/// Why a snapshot was not used (each names the file).
#[derive(Debug, Error)]
pub enum SnapshotError {
    /// No snapshot file (a first start, or snapshots were off).
    #[error("no index snapshot at {0}")]
    Missing(PathBuf),
    /// A readable snapshot of another state (the store changed since, another store, other settings).
    #[error("index snapshot {path} is stale: {reason}")]
    Stale {
        /// The file.
        path: PathBuf,
        /// What differs.
        reason: String,
    },
    /// Not a snapshot, truncated, or its checksum does not match.
    #[error("index snapshot {path} is damaged: {reason}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing failed.
    #[error("index snapshot {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The snapshot file of the store at `store`: `<store>.index`.
pub fn path_for(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".index");
    PathBuf::from(name)
}

fn precision_code(p: Precision) -> u8 {
    match p {
        Precision::F32 => 0,
        Precision::F16 => 1,
        Precision::Int8 => 2,
    }
}

/// Writes `index`, which holds exactly the store's records at `tag`, to `path` atomically; returns the file size.
pub fn save(path: &Path, tag: &StoreTag, index: &Index) -> Result<u64, SnapshotError> {
    let io_err = |source| SnapshotError::Io { path: path.to_path_buf(), source };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = SumWriter::new(BufWriter::with_capacity(1 << 20, file));
        w.write_all(MAGIC)?;
        put(&mut w, FORMAT)?;
        put(&mut w, tag.uid)?;
        put(&mut w, tag.generation)?;
        put(&mut w, tag.records)?;
        put(&mut w, index.dim() as u32)?;
        put(&mut w, precision_code(index.precision()))?;
        put(&mut w, if index.graph().is_some() { KIND_HNSW } else { KIND_EXACT })?;
        index.write_to(&mut w)?;
        if index.graph().is_some() {
            index.write_graph(&mut w)?;
        }
        let (crc, mut inner) = w.finish();
        put(&mut inner, crc)?;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let size = file.metadata()?.len();
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(size)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

/// Loads the snapshot at `path` if it is current for the store at `tag` with `dim`-d vectors at `precision`.
pub fn load(path: &Path, tag: &StoreTag, dim: usize, precision: Precision) -> Result<Index, SnapshotError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(SnapshotError::Missing(path.into())),
        Err(source) => return Err(SnapshotError::Io { path: path.into(), source }),
    };
    let damaged = |reason: String| SnapshotError::Damaged { path: path.to_path_buf(), reason };
    let stale = |reason: String| SnapshotError::Stale { path: path.to_path_buf(), reason };
    let short = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => damaged("truncated: the file ends early".into()),
        std::io::ErrorKind::InvalidData => damaged(e.to_string()),
        _ => SnapshotError::Io { path: path.to_path_buf(), source: e },
    };
    let mut r = SumReader::new(BufReader::with_capacity(1 << 20, file));
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(short)?;
    if &magic != MAGIC {
        return Err(damaged("not a reid index snapshot (wrong magic bytes)".into()));
    }
    let format = get::<u32>(&mut r).map_err(short)?;
    if !(OLDEST_FORMAT..=FORMAT).contains(&format) {
        return Err(stale(format!("snapshot format {format}, this build reads {OLDEST_FORMAT} to {FORMAT}")));
    }
    let uid = get::<u64>(&mut r).map_err(short)?;
    let generation = get::<u64>(&mut r).map_err(short)?;
    let records = get::<u64>(&mut r).map_err(short)?;
    let got_dim = get::<u32>(&mut r).map_err(short)? as usize;
    let got_precision = get::<u8>(&mut r).map_err(short)?;
    let kind = get::<u8>(&mut r).map_err(short)?;
    if uid != tag.uid {
        return Err(stale("written for another store".into()));
    }
    if generation != tag.generation || records != tag.records {
        return Err(stale(format!(
            "written at store change {generation} ({records} records), the store is at change {} ({} records)",
            tag.generation, tag.records
        )));
    }
    if got_dim != dim {
        return Err(stale(format!("holds {got_dim}-d vectors, the store {dim}-d")));
    }
    if got_precision != precision_code(precision) {
        return Err(stale(format!("written at another precision than {precision}")));
    }
    if format < 2 && precision == Precision::Int8 {
        return Err(stale(format!(
            "an int8 snapshot of format {format} holds f32 originals that this build no longer keeps in memory"
        )));
    }
    if kind != KIND_EXACT && kind != KIND_HNSW {
        return Err(damaged(format!("unknown index kind {kind}")));
    }
    let rows = usize::try_from(records).map_err(|_| damaged(format!("{records} records")))?;
    let mut index = Index::read_from(&mut r, rows, dim, precision).map_err(short)?;
    if kind == KIND_HNSW {
        index.read_graph(&mut r).map_err(|e| damaged(format!("HNSW graph: {e}")))?;
    }
    let (crc, mut rest) = r.finish();
    let stored = get::<u32>(&mut rest).map_err(short)?;
    if stored != crc {
        return Err(damaged(format!("checksum {crc:08x} does not match the stored {stored:08x}")));
    }
    let mut extra = [0u8; 1];
    if rest.read(&mut extra).map_err(short)? != 0 {
        return Err(damaged("bytes after the checksum".into()));
    }
    Ok(index)
}

#[cfg(test)]
mod tests;
