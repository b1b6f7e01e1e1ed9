//! In-memory exact top-k by inner product over L2-normalised vectors (= cosine similarity).
//!
//! - Storage: one contiguous row-major buffer, f32 or f16 ([`Precision`]); f16 halves memory and, since a scan
//!   is memory-bound, roughly doubles single-query speed (the conversion runs in SIMD registers).
//! - int8 ([`Precision::Int8`]): each row is held only as int8 codes with one symmetric scale per row
//!   ([`crate::kernels::quantize_i8`]), `dim + 4` bytes (a quarter of f32's). A single query is quantised the same
//!   way and the scan reads only the codes; a batch runs the batched kernels over tiles decoded from the codes.
//!   Either keeps the best `k * RESCORE_FACTOR` rows, which are then re-scored exactly against their f32 vectors
//!   read from the index's [`VectorSource`] (in a gallery: the durable store, which holds them anyway; nothing f32
//!   stays resident), so the returned scores are the f32 ones. Without a source (benchmarks, tests that attach
//!   none) scores and vectors are the decoded codes'.
//! - One query (or a batch below [`GEMM_MIN_BATCH`]): a scan over gallery chunks in parallel (rayon), each chunk
//!   keeping its own top-k that are merged at the end, with software prefetch ahead of the rows being read.
//!   Memory-bandwidth bound.
//! - A batch: per gallery tile (kept in L2, the next one prefetched), an outer-product kernel scores 16 queries x
//!   6 rows at a time in AVX2 registers (32 x 12 with AVX-512) from queries packed once per batch (f16 tiles
//!   widened first), and skips the top-k update for row blocks that beat no query's current k-th score; without
//!   AVX2, a GEMM (`matrixmultiply`) per tile. Compute bound; the gallery is read from memory once per batch.
//! - Filters (camera set, time range, identified only) are checked only for rows that would enter a top-k.
//! - Removal swaps the last row into the hole, so memory stays dense; results are ordered by score and then id,
//!   never by row, so they are deterministic whatever the removal history.
//!
//! The index is a plain value (`&mut self` to change it); the gallery wraps it in a lock.

mod filter;
mod graph;
#[cfg(test)]
mod graph_tests;
#[cfg(test)]
mod int8_tests;
mod intern;
mod persist;
mod search;
mod source;

use crate::hnsw::Hnsw;
use crate::kernels;
use crate::record::Metadata;
use half::f16;
use intern::Interner;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;

pub use graph::{AUTO_HNSW_MIN_ROWS, IndexKind, REPAIR_FRACTION};
/// Which rows a search may return (the protocol's type; the index resolves it per search).
pub use reid_protocol::Filter;
pub use search::{GEMM_MIN_BATCH, GEMM_MIN_BATCH_F16, GEMM_MIN_BATCH_I8, RESCORE_FACTOR};
pub use source::{MemoryVectors, VectorSource};

/// "No camera" / "no identity" code.
const NONE: u32 = u32::MAX;

/// How gallery vectors are held in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// 4 bytes per value; scores exact to f32 rounding.
    #[default]
    F32,
    /// 2 bytes per value (IEEE half); scores within about 1e-3 of f32.
    F16,
    /// int8 codes (1 byte per value, one f32 scale per row) scanned first, the best candidates re-scored against
    /// their f32 vectors read from the index's [`VectorSource`] (the store), not held in memory; scores exact to
    /// f32 rounding, top-k ids exact unless a true match falls outside the candidates.
    Int8,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Int8 => "int8",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "f16" | "fp16" | "float16" | "half" => Ok(Precision::F16),
            "int8" | "i8" => Ok(Precision::Int8),
            other => Err(format!("unknown precision {other:?}: expected f32, f16 or int8")),
        }
    }
}

/// Index misuse.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum IndexError {
    /// A vector of the wrong length.
    #[error("vector has {got} values, the index holds {dim}-d vectors")]
    Dimension {
        /// Index dimension.
        dim: usize,
        /// Length given.
        got: usize,
    },
    /// An id already present.
    #[error("id {0} is already in the index")]
    DuplicateId(u64),
    /// An HNSW graph was asked for over int8 storage.
    #[error("an HNSW graph links f32 or f16 rows; this index stores {0}")]
    GraphPrecision(Precision),
}

#[derive(Clone, Debug)]
enum Vectors {
    F32(Vec<f32>),
    F16(Vec<f16>),
    /// Codes (`rows x dim`) and their per-row scales; the exact vectors are the [`VectorSource`]'s.
    I8 {
        codes: Vec<i8>,
        scales: Vec<f32>,
    },
}

/// What the index knows about a row, for building replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowInfo<'a> {
    /// Identity label.
    pub identity: Option<&'a str>,
    /// Camera.
    pub camera: Option<&'a str>,
    /// Timestamp (ms).
    pub timestamp_ms: i64,
    /// Tracker id.
    pub track_id: Option<u64>,
}

/// Memory and content figures.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Rows held.
    pub rows: usize,
    /// Dimension.
    pub dim: usize,
    /// Storage precision.
    pub precision: Precision,
    /// Bytes of vector storage (excluding spare capacity).
    pub vector_bytes: usize,
    /// Distinct identity labels present.
    pub identities: usize,
    /// Distinct cameras present.
    pub cameras: usize,
    /// The HNSW graph, when searches go through one.
    #[serde(default)]
    pub graph: Option<GraphStats>,
}

/// Figures of an index's HNSW graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphStats {
    /// Links per node (upper layers; twice on layer 0).
    pub m: usize,
    /// Construction search width.
    pub ef_construction: usize,
    /// Query search width.
    pub ef_search: usize,
    /// Bytes of links and levels.
    pub bytes: usize,
    /// Removed rows still in the graph, waiting for repair.
    pub tombstones: usize,
}

/// Exact inner-product top-k index with per-row metadata.
#[derive(Clone, Debug)]
pub struct Index {
    dim: usize,
    vectors: Vectors,
    ids: Vec<u64>,
    timestamps: Vec<i64>,
    cameras: Vec<u32>,
    identities: Vec<u32>,
    tracks: Vec<Option<u64>>,
    row_of: HashMap<u64, u32>,
    camera_names: Interner,
    identity_names: Interner,
    /// int8 storage: candidates per wanted match that the code scan keeps for exact re-scoring.
    rescore: usize,
    /// int8 storage: where the exact vectors of candidates are read (None: the decoded codes are used).
    source: Option<Arc<dyn VectorSource>>,
    /// The HNSW graph over the rows (node = row), when searches are approximate.
    graph: Option<Hnsw>,
    /// With a graph, removal leaves the row as a tombstone (flag set, id gone from `row_of`) until
    /// [`Index::compact`]; empty (or all false) otherwise.
    dead: Vec<bool>,
    /// Tombstones held.
    dead_count: usize,
}

impl Index {
    /// An empty index of `dim`-d vectors.
    pub fn new(dim: usize, precision: Precision) -> Index {
        let vectors = match precision {
            Precision::F32 => Vectors::F32(Vec::new()),
            Precision::F16 => Vectors::F16(Vec::new()),
            Precision::Int8 => Vectors::I8 { codes: Vec::new(), scales: Vec::new() },
        };
        Index {
            dim,
            vectors,
            ids: Vec::new(),
            timestamps: Vec::new(),
            cameras: Vec::new(),
            identities: Vec::new(),
            tracks: Vec::new(),
            row_of: HashMap::new(),
            camera_names: Interner::default(),
            identity_names: Interner::default(),
            rescore: RESCORE_FACTOR,
            source: None,
            graph: None,
            dead: Vec::new(),
            dead_count: 0,
        }
    }

    /// An index over `data` (`rows x dim`, row-major, normalised), ids `first_id..`, no metadata (benchmarks). At
    /// int8 `data` is dropped once quantised: attach a [`VectorSource`] for exact re-scoring.
    pub fn from_vectors(dim: usize, precision: Precision, data: Vec<f32>, first_id: u64) -> Index {
        assert!(dim > 0 && data.len().is_multiple_of(dim), "from_vectors: data is not rows x dim");
        let n = data.len() / dim;
        let mut ix = Index::new(dim, precision);
        ix.vectors = match precision {
            Precision::F32 => Vectors::F32(data),
            Precision::F16 => {
                let mut v = vec![f16::ZERO; data.len()];
                v.par_chunks_mut(1 << 16).zip(data.par_chunks(1 << 16)).for_each(|(d, s)| {
                    half::slice::HalfFloatSliceExt::convert_from_f32_slice(d, s);
                });
                Vectors::F16(v)
            }
            Precision::Int8 => {
                let mut codes = vec![0i8; data.len()];
                let mut scales = vec![0.0f32; n];
                codes.par_chunks_mut(dim).zip(data.par_chunks(dim)).zip(scales.par_iter_mut()).for_each(
                    |((c, x), s)| {
                        *s = kernels::quantize_i8(x, c);
                    },
                );
                Vectors::I8 { codes, scales }
            }
        };
        ix.plain_rows(n, first_id);
        ix
    }

    /// An f16 index over `data` (`rows x dim` half floats, normalised before rounding), ids `first_id..`, no
    /// metadata (benchmarks that generate data in chunks without holding it in f32).
    pub fn from_f16(dim: usize, data: Vec<f16>, first_id: u64) -> Index {
        assert!(dim > 0 && data.len().is_multiple_of(dim), "from_f16: data is not rows x dim");
        let n = data.len() / dim;
        let mut ix = Index::new(dim, Precision::F16);
        ix.vectors = Vectors::F16(data);
        ix.plain_rows(n, first_id);
        ix
    }

    /// Ids `first_id..first_id + n` with no metadata for `n` rows whose vectors are already set (bulk builds).
    fn plain_rows(&mut self, n: usize, first_id: u64) {
        self.ids = (first_id..first_id + n as u64).collect();
        self.timestamps = vec![0; n];
        self.cameras = vec![NONE; n];
        self.identities = vec![NONE; n];
        self.tracks = vec![None; n];
        self.row_of = self.ids.iter().enumerate().map(|(r, &id)| (id, r as u32)).collect();
    }

    /// Reserves room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        match &mut self.vectors {
            Vectors::F32(v) => v.reserve(additional * self.dim),
            Vectors::F16(v) => v.reserve(additional * self.dim),
            Vectors::I8 { codes, scales } => {
                codes.reserve(additional * self.dim);
                scales.reserve(additional);
            }
        }
        self.ids.reserve(additional);
        self.timestamps.reserve(additional);
        self.cameras.reserve(additional);
        self.identities.reserve(additional);
        self.tracks.reserve(additional);
        self.row_of.reserve(additional);
    }

    /// Sets how many candidates per wanted match the int8 scan keeps for exact re-scoring (default
    /// [`RESCORE_FACTOR`]; at least 1; no effect on other precisions). Larger: higher recall, slower.
    pub fn set_rescore_factor(&mut self, factor: usize) {
        self.rescore = factor.max(1);
    }

    /// The int8 re-scoring factor (see [`Index::set_rescore_factor`]).
    pub fn rescore_factor(&self) -> usize {
        self.rescore
    }

    /// Sets where an int8 index reads the exact vectors of its candidates (and of [`Index::vector`]); a gallery
    /// attaches its store. Kept by clones; no effect on other precisions, which hold their vectors.
    pub fn set_vector_source(&mut self, source: Arc<dyn VectorSource>) {
        self.source = Some(source);
    }

    /// The attached [`VectorSource`], if any.
    pub fn vector_source(&self) -> Option<&Arc<dyn VectorSource>> {
        self.source.as_ref()
    }

    /// Dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Storage precision.
    pub fn precision(&self) -> Precision {
        match self.vectors {
            Vectors::F32(_) => Precision::F32,
            Vectors::F16(_) => Precision::F16,
            Vectors::I8 { .. } => Precision::Int8,
        }
    }

    /// Live rows held (removed rows excluded, also while they wait as tombstones for the graph's repair).
    pub fn len(&self) -> usize {
        self.row_of.len()
    }

    /// Whether the index holds no live row.
    pub fn is_empty(&self) -> bool {
        self.row_of.is_empty()
    }

    /// Storage rows, tombstones included.
    pub(crate) fn rows(&self) -> usize {
        self.ids.len()
    }

    /// Whether `id` is held.
    pub fn contains(&self, id: u64) -> bool {
        self.row_of.contains_key(&id)
    }

    /// Adds one (normalised) vector with its metadata.
    pub fn insert(&mut self, id: u64, meta: &Metadata, vector: &[f32]) -> Result<(), IndexError> {
        if vector.len() != self.dim {
            return Err(IndexError::Dimension { dim: self.dim, got: vector.len() });
        }
        if self.row_of.contains_key(&id) {
            return Err(IndexError::DuplicateId(id));
        }
        match &mut self.vectors {
            Vectors::F32(v) => v.extend_from_slice(vector),
            Vectors::F16(v) => v.extend(vector.iter().map(|&x| f16::from_f32(x))),
            Vectors::I8 { codes, scales } => {
                let at = codes.len();
                codes.resize(at + vector.len(), 0);
                scales.push(kernels::quantize_i8(vector, &mut codes[at..]));
            }
        }
        self.row_of.insert(id, self.ids.len() as u32);
        self.ids.push(id);
        self.timestamps.push(meta.timestamp_ms);
        self.cameras.push(self.camera_names.intern(meta.camera.as_deref()));
        self.identities.push(self.identity_names.intern(meta.identity.as_deref()));
        self.tracks.push(meta.track_id);
        if self.graph.is_some() {
            self.dead.push(false);
            self.extend_graph();
        }
        Ok(())
    }

    /// Removes the rows of `ids` (ids not held are ignored); returns how many were removed. With an HNSW graph the
    /// rows become tombstones (never returned) and the graph is repaired once they pass [`REPAIR_FRACTION`] of the
    /// rows ([`Index::compact`]).
    pub fn remove(&mut self, ids: &[u64]) -> usize {
        if self.graph.is_some() {
            return self.remove_tombstone(ids);
        }
        let mut removed = 0;
        for id in ids {
            let Some(row) = self.row_of.remove(id) else { continue };
            let (row, last) = (row as usize, self.ids.len() - 1);
            self.camera_names.release(self.cameras[row]);
            self.identity_names.release(self.identities[row]);
            let dim = self.dim;
            match &mut self.vectors {
                Vectors::F32(v) => swap_remove_row(v, row, last, dim),
                Vectors::F16(v) => swap_remove_row(v, row, last, dim),
                Vectors::I8 { codes, scales } => {
                    swap_remove_row(codes, row, last, dim);
                    scales.swap_remove(row);
                }
            }
            self.ids.swap_remove(row);
            self.timestamps.swap_remove(row);
            self.cameras.swap_remove(row);
            self.identities.swap_remove(row);
            self.tracks.swap_remove(row);
            if row != last {
                self.row_of.insert(self.ids[row], row as u32);
            }
            removed += 1;
        }
        removed
    }

    /// The stored vector of `id` (widened to f32 for f16 storage; for int8 the exact vector from the
    /// [`VectorSource`], the decoded codes without one).
    pub fn vector(&self, id: u64) -> Option<Vec<f32>> {
        let row = *self.row_of.get(&id)? as usize;
        let mut out = vec![0.0; self.dim];
        if matches!(self.vectors, Vectors::I8 { .. }) {
            let found = self.fetch_exact(&[id], &mut out)?;
            return found[0].then_some(out);
        }
        self.row_f32(row, &mut out);
        Some(out)
    }

    /// The vectors of `ids` as [`Index::vector`] gives them, appended to `out` (`dim` zeros for an id not held),
    /// read from the int8 source in one call.
    pub fn vectors_into(&self, ids: &[u64], out: &mut Vec<f32>) {
        let at = out.len();
        out.resize(at + ids.len() * self.dim, 0.0);
        let out = &mut out[at..];
        if matches!(self.vectors, Vectors::I8 { .. }) {
            let held: Vec<u64> = ids.iter().map(|id| if self.contains(*id) { *id } else { u64::MAX }).collect();
            if let Some(found) = self.fetch_exact(&held, out) {
                for (slot, ok) in out.chunks_exact_mut(self.dim).zip(found) {
                    if !ok {
                        slot.fill(0.0);
                    }
                }
            }
            return;
        }
        for (slot, id) in out.chunks_exact_mut(self.dim).zip(ids) {
            if let Some(&row) = self.row_of.get(id) {
                self.row_f32(row as usize, slot);
            }
        }
    }

    /// int8: the exact vectors of `ids` (held ones) into `out` from the source, and which were found. An id the
    /// source lacks (being forgotten: the store drops it before the index) is not found. Without a source, or
    /// when it fails (logged), the decoded codes stand in (an id not in the index is then not found).
    fn fetch_exact(&self, ids: &[u64], out: &mut [f32]) -> Option<Vec<bool>> {
        let mut found = vec![false; ids.len()];
        if let Some(source) = &self.source {
            match source.fetch(ids, out, &mut found) {
                Ok(()) => return Some(found),
                Err(e) => tracing::error!("int8 re-scoring reads the decoded codes instead: {e}"),
            }
        }
        for ((id, slot), f) in ids.iter().zip(out.chunks_exact_mut(self.dim)).zip(found.iter_mut()) {
            if let Some(&row) = self.row_of.get(id) {
                self.row_f32(row as usize, slot);
                *f = true;
            }
        }
        Some(found)
    }

    /// The metadata of `id`.
    pub fn info(&self, id: u64) -> Option<RowInfo<'_>> {
        let row = *self.row_of.get(&id)? as usize;
        Some(RowInfo {
            identity: self.identity_names.name(self.identities[row]),
            camera: self.camera_names.name(self.cameras[row]),
            timestamp_ms: self.timestamps[row],
            track_id: self.tracks[row],
        })
    }

    /// Memory and content figures.
    pub fn stats(&self) -> IndexStats {
        let vector_bytes = match &self.vectors {
            Vectors::F32(v) => v.len() * 4,
            Vectors::F16(v) => v.len() * 2,
            Vectors::I8 { codes, scales } => codes.len() + scales.len() * 4,
        };
        IndexStats {
            rows: self.len(),
            dim: self.dim,
            precision: self.precision(),
            vector_bytes,
            identities: self.identity_names.distinct_live(),
            cameras: self.camera_names.distinct_live(),
            graph: self.graph.as_ref().map(|g| GraphStats {
                m: g.params().m,
                ef_construction: g.params().ef_construction,
                ef_search: g.params().ef_search,
                bytes: g.memory_bytes(),
                tombstones: self.dead_count,
            }),
        }
    }

    /// Every row's id, in storage order (the order [`Index::row_mask`] and [`Index::rows_f32`] use).
    pub fn ids(&self) -> &[u64] {
        &self.ids
    }

    /// Every live row's id and vector (widened to f32; int8: read from the [`VectorSource`] in chunks), in
    /// storage order, for copying the index to another device.
    pub fn rows_f32(&self) -> (Vec<u64>, Vec<f32>) {
        let mut data = match &self.vectors {
            Vectors::F32(v) => v.clone(),
            Vectors::F16(v) => v.iter().map(|h| h.to_f32()).collect(),
            Vectors::I8 { .. } => {
                let mut data = Vec::with_capacity(self.ids.len() * self.dim);
                for ids in self.ids.chunks(4096) {
                    self.vectors_into(ids, &mut data);
                }
                data
            }
        };
        let mut ids = self.ids.clone();
        if self.dead_count > 0 {
            let live: Vec<usize> = (0..self.rows()).filter(|&r| !self.dead[r]).collect();
            for (to, &from) in live.iter().enumerate() {
                ids[to] = ids[from];
                data.copy_within(from * self.dim..(from + 1) * self.dim, to * self.dim);
            }
            ids.truncate(live.len());
            data.truncate(live.len() * self.dim);
        }
        (ids, data)
    }
}

fn swap_remove_row<T: Copy>(v: &mut Vec<T>, row: usize, last: usize, dim: usize) {
    if row != last {
        v.copy_within(last * dim..(last + 1) * dim, row * dim);
    }
    v.truncate(last * dim);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Simd;
    use crate::record::TimeRange;

    fn meta(identity: Option<&str>, camera: Option<&str>, ts: i64) -> Metadata {
        Metadata {
            identity: identity.map(str::to_string),
            camera: camera.map(str::to_string),
            timestamp_ms: ts,
            ..Metadata::default()
        }
    }

    #[test]
    fn removal_keeps_rows_consistent() {
        for precision in [Precision::F32, Precision::F16, Precision::Int8] {
            removal_keeps_rows_consistent_in(precision);
        }
    }

    fn removal_keeps_rows_consistent_in(precision: Precision) {
        let mut ix = Index::new(2, precision);
        let source = Arc::new(MemoryVectors::new(2));
        ix.set_vector_source(source.clone());
        for id in 1..=5u64 {
            let cam = format!("c{id}");
            ix.insert(id, &meta(Some("p"), Some(&cam), id as i64), &[id as f32, 0.0]).unwrap();
            source.insert(id, &[id as f32, 0.0]);
        }
        assert_eq!(ix.insert(3, &Metadata::default(), &[0.0, 0.0]), Err(IndexError::DuplicateId(3)));
        assert_eq!(ix.remove(&[2, 2, 9]), 1);
        assert_eq!(ix.len(), 4);
        // Row 1 now holds id 5 (swapped in): its vector and metadata must have travelled with it.
        assert_eq!(ix.vector(5).unwrap(), vec![5.0, 0.0]);
        assert_eq!(ix.info(5).unwrap().camera, Some("c5"));
        assert_eq!(ix.info(5).unwrap().timestamp_ms, 5);
        assert!(ix.info(2).is_none());
        assert_eq!(ix.stats().cameras, 4);
        let per_row = match precision {
            Precision::F32 => 8,
            Precision::F16 => 4,
            Precision::Int8 => 2 + 4, // codes, scale
        };
        assert_eq!(ix.stats().vector_bytes, 4 * per_row);
        // The best row for (4, 0.1) is id 5 (moved into row 1) at every precision, with its exact score.
        let top = ix.search(&[4.0, 0.1], 1, &Filter::all()).remove(0);
        assert_eq!((top[0].id, top[0].score), (5, 20.0), "{precision}");
        ix.remove(&[1, 3, 4, 5]);
        assert!(ix.is_empty());
        assert_eq!(ix.stats().identities, 0);
        assert_eq!(ix.stats().vector_bytes, 0);
    }

    #[test]
    fn filters_restrict_results() {
        for precision in [Precision::F16, Precision::Int8] {
            filters_restrict_results_in(precision);
        }
    }

    fn filters_restrict_results_in(precision: Precision) {
        let mut ix = Index::new(2, precision);
        let source = Arc::new(MemoryVectors::new(2));
        ix.set_vector_source(source.clone());
        let rows = [
            (1, Some("a"), Some("c1"), 100, [1.0, 0.0]),
            (2, None, Some("c1"), 200, [0.99, 0.141]),
            (3, Some("b"), Some("c2"), 300, [0.98, 0.199]),
            (4, Some("c"), None, 400, [0.0, 1.0]),
        ];
        for (id, who, cam, ts, v) in rows {
            ix.insert(id, &meta(who, cam, ts), &v).unwrap();
            source.insert(id, &v);
        }
        let ids = |f: Filter| -> Vec<u64> { ix.search(&[1.0, 0.0], 4, &f)[0].iter().map(|h| h.id).collect() };
        assert_eq!(ids(Filter::all()), vec![1, 2, 3, 4]);
        assert_eq!(ids(Filter { cameras: Some(vec!["c1".into(), "zz".into()]), ..Filter::all() }), vec![1, 2]);
        assert_eq!(ids(Filter { identified_only: true, ..Filter::all() }), vec![1, 3, 4]);
        let time = TimeRange { from_ms: Some(200), to_ms: Some(300) };
        assert_eq!(ids(Filter { time, ..Filter::all() }), vec![2, 3]);
        let f = Filter { cameras: Some(vec!["c2".into()]), time, identified_only: true };
        assert_eq!(ids(f.clone()), vec![3]);
        // The batched (GEMM) path applies the same filter.
        for simd in Simd::all_supported() {
            // Eight queries: past every batching threshold, so the batched kernels run too.
            let six = ix.search_with(simd, &[1.0, 0.0, 0.0, 1.0].repeat(4), 4, &f);
            assert!(six.iter().all(|h| h.iter().map(|x| x.id).collect::<Vec<_>>() == vec![3]), "{simd:?}");
            // And the single-query path with every kernel family (the int8 code scan at int8).
            let one = ix.search_with(simd, &[1.0, 0.0], 4, &f);
            assert_eq!(one[0].iter().map(|x| x.id).collect::<Vec<_>>(), vec![3], "{simd:?} {precision}");
        }
    }
}
