//! In-memory exact top-k by inner product over L2-normalised vectors (= cosine similarity).
//!
//! - Storage: one contiguous row-major buffer, f32 or f16 ([`Precision`]); f16 halves memory and, since a scan
//!   is memory-bound, roughly doubles single-query speed (the conversion runs in SIMD registers).
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

use crate::kernels::{self, Simd};
use crate::record::{Metadata, TimeRange};
use crate::topk::{Hit, TopK};
use half::f16;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use thiserror::Error;

/// Batches of at least this many queries run batched (blocked kernel or GEMM) over f32 storage; smaller ones as
/// one scan per query. The blocked kernel pads a batch to a whole query block (16 or 32), so a batch of 2 costs
/// about as much as 2 scans; from 3 on, batching wins (measured, 1M x 256, 2 threads).
pub const GEMM_MIN_BATCH: usize = 3;
/// The same for f16 storage, whose scans are twice as fast (half the bytes) while batching also widens every tile.
pub const GEMM_MIN_BATCH_F16: usize = 5;
/// Gallery rows per parallel scan task.
const SCAN_CHUNK: usize = 8192;
/// Rows whose scores are computed before the top-k update (fits L1).
const SCAN_BLOCK: usize = 256;
/// Gallery rows per GEMM tile (the portable matrixmultiply path).
const GEMM_TILE: usize = 1024;
/// Gallery rows per tile of the blocked kernel (256 KiB of f32 at 256-d: stays in L2 across query blocks).
const BLOCK_TILE: usize = 256;
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
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
        })
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            "f16" | "fp16" | "float16" | "half" => Ok(Precision::F16),
            other => Err(format!("unknown precision {other:?}: expected f32 or f16")),
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
}

/// Which rows a search may return.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Only these cameras (None: every camera, including rows without one).
    pub cameras: Option<Vec<String>>,
    /// Only timestamps in this interval.
    pub time: TimeRange,
    /// Only rows with an identity label.
    pub identified_only: bool,
}

impl Filter {
    /// No restriction.
    pub fn all() -> Filter {
        Filter::default()
    }
}

/// A filter resolved against the index's interned camera codes.
struct RowFilter {
    trivial: bool,
    cameras: Option<Vec<bool>>,
    time: TimeRange,
    identified_only: bool,
}

/// Interned strings with live counts.
#[derive(Clone, Debug, Default)]
struct Interner {
    names: Vec<String>,
    codes: HashMap<String, u32>,
    live: Vec<u64>,
}

impl Interner {
    fn intern(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        let code = match self.codes.get(s) {
            Some(&c) => c,
            None => {
                let c = self.names.len() as u32;
                self.names.push(s.to_string());
                self.codes.insert(s.to_string(), c);
                self.live.push(0);
                c
            }
        };
        self.live[code as usize] += 1;
        code
    }

    fn release(&mut self, code: u32) {
        if code != NONE {
            self.live[code as usize] -= 1;
        }
    }

    fn name(&self, code: u32) -> Option<&str> {
        (code != NONE).then(|| self.names[code as usize].as_str())
    }

    fn distinct_live(&self) -> usize {
        self.live.iter().filter(|&&n| n > 0).count()
    }
}

#[derive(Clone, Debug)]
enum Vectors {
    F32(Vec<f32>),
    F16(Vec<f16>),
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
}

impl Index {
    /// An empty index of `dim`-d vectors.
    pub fn new(dim: usize, precision: Precision) -> Index {
        let vectors = match precision {
            Precision::F32 => Vectors::F32(Vec::new()),
            Precision::F16 => Vectors::F16(Vec::new()),
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
        }
    }

    /// An index over `data` (`rows x dim`, row-major, normalised), ids `first_id..`, no metadata (benchmarks).
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
        };
        ix.ids = (first_id..first_id + n as u64).collect();
        ix.timestamps = vec![0; n];
        ix.cameras = vec![NONE; n];
        ix.identities = vec![NONE; n];
        ix.tracks = vec![None; n];
        ix.row_of = ix.ids.iter().enumerate().map(|(r, &id)| (id, r as u32)).collect();
        ix
    }

    /// Reserves room for `additional` more rows.
    pub fn reserve(&mut self, additional: usize) {
        match &mut self.vectors {
            Vectors::F32(v) => v.reserve(additional * self.dim),
            Vectors::F16(v) => v.reserve(additional * self.dim),
        }
        self.ids.reserve(additional);
        self.timestamps.reserve(additional);
        self.cameras.reserve(additional);
        self.identities.reserve(additional);
        self.tracks.reserve(additional);
        self.row_of.reserve(additional);
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
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
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
        }
        self.row_of.insert(id, self.ids.len() as u32);
        self.ids.push(id);
        self.timestamps.push(meta.timestamp_ms);
        self.cameras.push(self.camera_names.intern(meta.camera.as_deref()));
        self.identities.push(self.identity_names.intern(meta.identity.as_deref()));
        self.tracks.push(meta.track_id);
        Ok(())
    }

    /// Removes the rows of `ids` (ids not held are ignored); returns how many were removed.
    pub fn remove(&mut self, ids: &[u64]) -> usize {
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

    /// The stored vector of `id` (widened to f32 for f16 storage).
    pub fn vector(&self, id: u64) -> Option<Vec<f32>> {
        let row = *self.row_of.get(&id)? as usize;
        let range = row * self.dim..(row + 1) * self.dim;
        Some(match &self.vectors {
            Vectors::F32(v) => v[range].to_vec(),
            Vectors::F16(v) => v[range].iter().map(|x| x.to_f32()).collect(),
        })
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
        };
        IndexStats {
            rows: self.len(),
            dim: self.dim,
            precision: self.precision(),
            vector_bytes,
            identities: self.identity_names.distinct_live(),
            cameras: self.camera_names.distinct_live(),
        }
    }

    fn compile(&self, filter: &Filter) -> RowFilter {
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
            trivial: cameras.is_none() && filter.time.is_all() && !filter.identified_only,
            cameras,
            time: filter.time,
            identified_only: filter.identified_only,
        }
    }

    #[inline]
    fn accept(&self, f: &RowFilter, row: usize) -> bool {
        if f.trivial {
            return true;
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
    fn offer(&self, f: &RowFilter, r0: usize, scores: &[f32], top: &mut TopK) {
        let mut floor = top.floor();
        for (j, &s) in scores.iter().enumerate() {
            if s >= floor && self.accept(f, r0 + j) {
                top.push(Hit { id: self.ids[r0 + j], score: s });
                floor = top.floor();
            }
        }
    }

    /// Top-`k` rows for each query of `queries` (`nq x dim`, row-major, normalised), best first. Runs on the
    /// current rayon pool (call inside `ThreadPool::install` to choose the threads).
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub fn search(&self, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        self.search_with(Simd::detect(), queries, k, filter)
    }

    /// [`Index::search`] with a chosen kernel family (tests and benchmarks compare them).
    ///
    /// # Panics
    /// When `queries.len()` is not a multiple of the dimension.
    pub fn search_with(&self, simd: Simd, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        assert!(self.dim > 0 && queries.len().is_multiple_of(self.dim), "search: queries are not nq x dim");
        let nq = queries.len() / self.dim;
        if nq == 0 {
            return Vec::new();
        }
        let k = k.min(self.len());
        if k == 0 {
            return vec![Vec::new(); nq];
        }
        let f = self.compile(filter);
        let min_batch = match self.precision() {
            Precision::F32 => GEMM_MIN_BATCH,
            Precision::F16 => GEMM_MIN_BATCH_F16,
        };
        if nq >= min_batch && simd.blocked() {
            self.search_blocked(simd, queries, nq, k, &f)
        } else if nq >= min_batch {
            self.search_gemm(simd, queries, nq, k, &f)
        } else {
            queries.chunks_exact(self.dim).map(|q| self.scan(simd, q, k, &f)).collect()
        }
    }

    /// Every row's id and vector (widened to f32), in storage order, for copying the index to another device.
    pub fn rows_f32(&self) -> (Vec<u64>, Vec<f32>) {
        let data = match &self.vectors {
            Vectors::F32(v) => v.clone(),
            Vectors::F16(v) => v.iter().map(|h| h.to_f32()).collect(),
        };
        (self.ids.clone(), data)
    }

    /// One byte per row in storage order, 1 where `filter` admits the row; `None` when it admits every row.
    pub fn row_mask(&self, filter: &Filter) -> Option<Vec<u8>> {
        let f = self.compile(filter);
        if f.trivial {
            return None;
        }
        Some((0..self.len()).map(|r| u8::from(self.accept(&f, r))).collect())
    }

    /// Exact search with the plain scalar loop, for tests and for checking the fast paths.
    pub fn search_brute_force(&self, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        let f = self.compile(filter);
        queries
            .chunks_exact(self.dim)
            .map(|q| {
                let mut top = TopK::new(k.min(self.len()));
                let mut row = vec![0.0f32; self.dim];
                for r in 0..self.len() {
                    self.row_f32(r, &mut row);
                    let s = kernels::portable_dot(q, &row);
                    if self.accept(&f, r) {
                        top.push(Hit { id: self.ids[r], score: s });
                    }
                }
                top.into_sorted()
            })
            .collect()
    }

    fn row_f32(&self, r: usize, out: &mut [f32]) {
        let range = r * self.dim..(r + 1) * self.dim;
        match &self.vectors {
            Vectors::F32(v) => out.copy_from_slice(&v[range]),
            Vectors::F16(v) => out.iter_mut().zip(&v[range]).for_each(|(o, h)| *o = h.to_f32()),
        }
    }

    fn scan(&self, simd: Simd, q: &[f32], k: usize, f: &RowFilter) -> Vec<Hit> {
        let n = self.len();
        let dim = self.dim;
        let chunks = n.div_ceil(SCAN_CHUNK);
        (0..chunks)
            .into_par_iter()
            .fold(
                || (TopK::new(k), vec![0.0f32; SCAN_BLOCK], Vec::new()),
                |(mut top, mut scores, mut scratch), c| {
                    let end = ((c + 1) * SCAN_CHUNK).min(n);
                    let mut r0 = c * SCAN_CHUNK;
                    while r0 < end {
                        let rows = (end - r0).min(SCAN_BLOCK);
                        let out = &mut scores[..rows];
                        match &self.vectors {
                            Vectors::F32(v) => kernels::dots_f32(simd, q, &v[r0 * dim..(r0 + rows) * dim], dim, out),
                            Vectors::F16(v) => {
                                kernels::dots_f16(simd, q, &v[r0 * dim..(r0 + rows) * dim], dim, out, &mut scratch)
                            }
                        }
                        self.offer(f, r0, out, &mut top);
                        r0 += rows;
                    }
                    (top, scores, scratch)
                },
            )
            .map(|(top, _, _)| top)
            .reduce(
                || TopK::new(k),
                |mut a, b| {
                    a.merge(b);
                    a
                },
            )
            .into_sorted()
    }

    /// Batched search with the outer-product kernel ([`kernels::block_scores`]): per gallery tile (kept in L2), per
    /// block of 16 (32) queries, 6 (12) rows at a time; the top-k update runs only for row blocks that beat a
    /// query's floor.
    fn search_blocked(&self, simd: Simd, queries: &[f32], nq: usize, k: usize, f: &RowFilter) -> Vec<Vec<Hit>> {
        let (qb, rb) = simd.block_shape();
        let n = self.len();
        let dim = self.dim;
        let packed = kernels::pack_queries(queries, nq, dim, qb);
        let qblocks = nq.div_ceil(qb);
        let tiles = n.div_ceil(BLOCK_TILE);
        let fresh = || (vec![TopK::new(k); nq], Vec::<f32>::new(), vec![0.0f32; rb * dim], vec![0.0f32; rb * qb]);
        let tops = (0..tiles)
            .into_par_iter()
            .fold(fresh, |(mut tops, mut wide, mut pad, mut out), t| {
                let r0 = t * BLOCK_TILE;
                let rows = (n - r0).min(BLOCK_TILE);
                let tile = self.tile_f32(simd, r0, rows, &mut wide);
                // Rows of the next tile (most likely this worker's next one), prefetched a slice per row block so
                // the memory traffic overlaps the arithmetic instead of stalling the first query block.
                let next = (r0 + rows).min(n)..(r0 + rows + BLOCK_TILE).min(n);
                let per_block = BLOCK_TILE.div_ceil(rows.div_ceil(rb));
                let mut floors = vec![f32::INFINITY; qb];
                for b in 0..qblocks {
                    let qt = &packed[b * dim * qb..(b + 1) * dim * qb];
                    let live = (nq - b * qb).min(qb);
                    floors.fill(f32::INFINITY);
                    for (j, fl) in floors.iter_mut().enumerate().take(live) {
                        *fl = tops[b * qb + j].floor();
                    }
                    let mut r = 0;
                    while r < rows {
                        if b == 0 {
                            let from = (next.start + r / rb * per_block).min(next.end);
                            let to = (from + per_block).min(next.end);
                            match &self.vectors {
                                Vectors::F32(v) => kernels::prefetch(&v[from * dim..to * dim]),
                                Vectors::F16(v) => kernels::prefetch(&v[from * dim..to * dim]),
                            }
                        }
                        let cnt = (rows - r).min(rb);
                        let block: &[f32] = if cnt == rb {
                            &tile[r * dim..(r + rb) * dim]
                        } else {
                            pad.fill(0.0);
                            pad[..cnt * dim].copy_from_slice(&tile[r * dim..(r + cnt) * dim]);
                            &pad
                        };
                        if kernels::block_scores(simd, qt, block, dim, &floors, &mut out) {
                            for rr in 0..cnt {
                                let row = r0 + r + rr;
                                for j in 0..live {
                                    let s = out[rr * qb + j];
                                    if s >= floors[j] && self.accept(f, row) {
                                        let top = &mut tops[b * qb + j];
                                        top.push(Hit { id: self.ids[row], score: s });
                                        floors[j] = top.floor();
                                    }
                                }
                            }
                        }
                        r += cnt;
                    }
                }
                (tops, wide, pad, out)
            })
            .map(|(tops, _, _, _)| tops)
            .reduce(
                || vec![TopK::new(k); nq],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| x.merge(y));
                    a
                },
            );
        tops.into_iter().map(TopK::into_sorted).collect()
    }

    /// Rows `r0..r0 + rows` as f32: borrowed from f32 storage, widened into `wide` from f16 storage.
    fn tile_f32<'a>(&'a self, simd: Simd, r0: usize, rows: usize, wide: &'a mut Vec<f32>) -> &'a [f32] {
        let dim = self.dim;
        match &self.vectors {
            Vectors::F32(v) => &v[r0 * dim..(r0 + rows) * dim],
            Vectors::F16(v) => {
                wide.resize(rows * dim, 0.0);
                kernels::widen_f16(simd, &v[r0 * dim..(r0 + rows) * dim], wide);
                wide
            }
        }
    }

    fn search_gemm(&self, simd: Simd, queries: &[f32], nq: usize, k: usize, f: &RowFilter) -> Vec<Vec<Hit>> {
        let n = self.len();
        let dim = self.dim;
        let tiles = n.div_ceil(GEMM_TILE);
        let fresh = || (vec![TopK::new(k); nq], vec![0.0f32; nq * GEMM_TILE], Vec::<f32>::new());
        let tops = (0..tiles)
            .into_par_iter()
            .fold(fresh, |(mut tops, mut scores, mut wide), t| {
                let r0 = t * GEMM_TILE;
                let rows = (n - r0).min(GEMM_TILE);
                let tile = self.tile_f32(simd, r0, rows, &mut wide);
                reid_runtime::distance::gemm_nt(queries, nq, tile, rows, dim, &mut scores, GEMM_TILE);
                for (qi, top) in tops.iter_mut().enumerate() {
                    self.offer(f, r0, &scores[qi * GEMM_TILE..qi * GEMM_TILE + rows], top);
                }
                (tops, scores, wide)
            })
            .map(|(tops, _, _)| tops)
            .reduce(
                || vec![TopK::new(k); nq],
                |mut a, b| {
                    a.iter_mut().zip(b).for_each(|(x, y)| x.merge(y));
                    a
                },
            );
        tops.into_iter().map(TopK::into_sorted).collect()
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
        let mut ix = Index::new(2, Precision::F32);
        for id in 1..=5u64 {
            let cam = format!("c{id}");
            ix.insert(id, &meta(Some("p"), Some(&cam), id as i64), &[id as f32, 0.0]).unwrap();
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
        ix.remove(&[1, 3, 4, 5]);
        assert!(ix.is_empty());
        assert_eq!(ix.stats().identities, 0);
        assert_eq!(ix.stats().vector_bytes, 0);
    }

    #[test]
    fn filters_restrict_results() {
        let mut ix = Index::new(2, Precision::F16);
        let rows = [
            (1, Some("a"), Some("c1"), 100, [1.0, 0.0]),
            (2, None, Some("c1"), 200, [0.99, 0.141]),
            (3, Some("b"), Some("c2"), 300, [0.98, 0.199]),
            (4, Some("c"), None, 400, [0.0, 1.0]),
        ];
        for (id, who, cam, ts, v) in rows {
            ix.insert(id, &meta(who, cam, ts), &v).unwrap();
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
            // Six queries: past both batching thresholds, so the batched kernels run too.
            let six = ix.search_with(simd, &[1.0, 0.0, 0.0, 1.0].repeat(3), 4, &f);
            assert!(six.iter().all(|h| h.iter().map(|x| x.id).collect::<Vec<_>>() == vec![3]), "{simd:?}");
        }
    }
}
