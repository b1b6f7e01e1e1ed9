//! The index with an HNSW graph ([`crate::hnsw`]) over its rows: approximate search, tombstones and repair, and
//! the graph's bytes for a snapshot.
//!
//! - Node `i` of the graph is row `i` of the index. While a graph is attached, removal does not move rows: the row
//!   becomes a tombstone (its id leaves the id map at once, so it is never returned or described) and stays in the
//!   graph to be walked through until [`Index::compact`] repairs the graph and drops the tombstones — automatically
//!   once they pass [`REPAIR_FRACTION`] of the rows, and on every `forget` (so forgotten vectors leave memory).
//! - A filtered search first estimates the filter's selectivity on a sample of rows; when the graph search would
//!   score more rows than a quarter of an exact scan, the exact scan answers instead.

use super::{Filter, Index, IndexError, Precision, Vectors};
use crate::hnsw::{Hnsw, HnswParams, HnswReadError, Rows};
use crate::kernels::Simd;
use crate::topk::{Hit, rank_order};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::{self, Read, Write};

/// `auto` builds an HNSW graph from this many rows on. Measured at 100k x 256 (gallery README): the graph at
/// recall@10 >= 0.95 answers 3x the exact scan's batched throughput and 30x its single-query one; the exact scan's
/// cost grows with the rows and the graph's about with their logarithm, which puts the batched crossover near 30k
/// rows. Below this size a graph also costs a build (about half a second per thousand rows on 2 cores) at every
/// start for little gain.
pub const AUTO_HNSW_MIN_ROWS: usize = 50_000;
/// Tombstones are repaired away ([`Index::compact`]) once they are more than this fraction of the rows.
pub const REPAIR_FRACTION: f64 = 0.1;
/// Rows sampled to estimate a filter's selectivity.
const SELECTIVITY_SAMPLE: usize = 4096;

/// Which search the gallery runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexKind {
    /// The exact scan.
    Exact,
    /// An HNSW graph (approximate).
    Hnsw,
    /// Exact below [`AUTO_HNSW_MIN_ROWS`] rows, HNSW from there on.
    #[default]
    Auto,
}

impl IndexKind {
    /// Whether a gallery of `rows` rows searches a graph.
    pub fn uses_graph(self, rows: usize) -> bool {
        match self {
            IndexKind::Exact => false,
            IndexKind::Hnsw => true,
            IndexKind::Auto => rows >= AUTO_HNSW_MIN_ROWS,
        }
    }
}

impl std::fmt::Display for IndexKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            IndexKind::Exact => "exact",
            IndexKind::Hnsw => "hnsw",
            IndexKind::Auto => "auto",
        })
    }
}

impl std::str::FromStr for IndexKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "exact" | "flat" => Ok(IndexKind::Exact),
            "hnsw" => Ok(IndexKind::Hnsw),
            "auto" => Ok(IndexKind::Auto),
            other => Err(format!("unknown index {other:?}: expected exact, hnsw or auto")),
        }
    }
}

/// Moves rows `keep[i]` (ascending) of `width` values to row `i`, zeroes what is cut, and truncates.
fn keep_rows<T: Copy + Default>(v: &mut Vec<T>, keep: &[usize], width: usize) {
    for (to, &from) in keep.iter().enumerate() {
        if to != from {
            v.copy_within(from * width..(from + 1) * width, to * width);
        }
    }
    let end = keep.len() * width;
    v[end..].fill(T::default());
    v.truncate(end);
}

impl Index {
    /// Builds an HNSW graph over every row (replacing any) and searches it from now on. Not for int8 storage.
    pub fn enable_hnsw(&mut self, params: HnswParams) -> Result<(), IndexError> {
        if self.precision() == Precision::Int8 {
            return Err(IndexError::GraphPrecision(Precision::Int8));
        }
        self.compact();
        self.dead = vec![false; self.rows()];
        self.dead_count = 0;
        self.graph = Some(Hnsw::new(self.dim, params));
        self.extend_graph();
        Ok(())
    }

    /// Drops the graph (after repairing tombstones away): exact search from now on.
    pub fn disable_hnsw(&mut self) {
        self.compact();
        self.graph = None;
        self.dead = Vec::new();
    }

    /// The graph, when one is attached.
    pub fn graph(&self) -> Option<&Hnsw> {
        self.graph.as_ref()
    }

    /// Sets the graph's query search width (no effect without a graph).
    pub fn set_ef_search(&mut self, ef: usize) {
        if let Some(g) = &mut self.graph {
            g.set_ef_search(ef);
        }
    }

    /// Tombstones waiting for [`Index::compact`].
    pub fn tombstones(&self) -> usize {
        self.dead_count
    }

    /// The rows as the graph reads them (None for int8 storage).
    fn rows_view(&self, simd: Simd) -> Option<Rows<'_>> {
        match &self.vectors {
            Vectors::F32(data) => Some(Rows::F32 { data, dim: self.dim, simd }),
            Vectors::F16(data) => Some(Rows::F16 { data, dim: self.dim, simd }),
            Vectors::I8 { .. } => None,
        }
    }

    /// Adds graph nodes for the rows it lacks.
    pub(super) fn extend_graph(&mut self) {
        let Some(mut g) = self.graph.take() else { return };
        if let Some(rows) = self.rows_view(Simd::detect()) {
            let dead = &self.dead;
            g.extend(&rows, &|n| dead[n as usize]);
        }
        self.graph = Some(g);
    }

    pub(super) fn remove_tombstone(&mut self, ids: &[u64]) -> usize {
        let mut removed = 0;
        for id in ids {
            let Some(row) = self.row_of.remove(id) else { continue };
            let row = row as usize;
            self.camera_names.release(self.cameras[row]);
            self.identity_names.release(self.identities[row]);
            self.dead[row] = true;
            self.dead_count += 1;
            removed += 1;
        }
        if self.dead_count as f64 > REPAIR_FRACTION * self.rows() as f64 {
            self.compact();
        }
        removed
    }

    /// Repairs the graph around the tombstones ([`Hnsw::repair`]) and drops them: rows move down to close the
    /// gaps (order kept) and the freed memory is zeroed. No effect without tombstones.
    pub fn compact(&mut self) {
        if self.dead_count == 0 {
            return;
        }
        if let Some(mut g) = self.graph.take() {
            if let Some(rows) = self.rows_view(Simd::detect()) {
                g.repair(&rows, &self.dead);
            }
            self.graph = Some(g);
        }
        let keep: Vec<usize> = (0..self.rows()).filter(|&r| !self.dead[r]).collect();
        let dim = self.dim;
        match &mut self.vectors {
            Vectors::F32(v) => keep_rows(v, &keep, dim),
            Vectors::F16(v) => keep_rows(v, &keep, dim),
            Vectors::I8 { codes, scales } => {
                keep_rows(codes, &keep, dim);
                keep_rows(scales, &keep, 1);
            }
        }
        keep_rows(&mut self.ids, &keep, 1);
        keep_rows(&mut self.timestamps, &keep, 1);
        keep_rows(&mut self.cameras, &keep, 1);
        keep_rows(&mut self.identities, &keep, 1);
        keep_rows(&mut self.tracks, &keep, 1);
        self.row_of = self.ids.iter().enumerate().map(|(r, &id)| (id, r as u32)).collect();
        self.dead = vec![false; keep.len()];
        self.dead_count = 0;
    }

    /// Whether a filtered search should scan exactly: the filter's selectivity `p`, estimated on a sample, makes
    /// the graph walk about `ef / p` nodes of `2m` links each; exact when that exceeds a quarter of the rows (a
    /// sequential scan scores a row several times faster than a random graph hop) or the sample admits nothing.
    fn prefer_exact(&self, f: &super::filter::RowFilter, ef: usize, m: usize) -> bool {
        let n = self.rows();
        let step = (n / SELECTIVITY_SAMPLE).max(1);
        let (mut seen, mut ok) = (0usize, 0usize);
        for r in (0..n).step_by(step) {
            seen += 1;
            ok += usize::from(self.accept(f, r));
        }
        if ok == 0 {
            return true;
        }
        let p = ok as f64 / seen as f64;
        (ef as f64 / p) * (2 * m) as f64 > n as f64 / 4.0
    }

    /// Top-`k` through the graph (the exact scan for very selective filters), queries in parallel.
    pub(super) fn search_graph(&self, simd: Simd, queries: &[f32], k: usize, filter: &Filter) -> Vec<Vec<Hit>> {
        let (nq, k) = match self.query_shape(queries, k) {
            Ok(shape) => shape,
            Err(nothing) => return nothing,
        };
        let (Some(g), Some(rows)) = (self.graph.as_ref(), self.rows_view(simd)) else {
            return self.search_exact_with(simd, queries, k, filter);
        };
        let f = self.compile(filter);
        let ef = g.params().ef_search.max(k);
        if !f.trivial && self.prefer_exact(&f, ef, g.params().m) {
            return self.search_exact_with(simd, queries, k, filter);
        }
        let accept = |n: u32| self.accept(&f, n as usize);
        let one = |q: &[f32]| -> Vec<Hit> {
            let mut hits: Vec<Hit> = g
                .search(&rows, q, k, ef, &accept)
                .into_iter()
                .map(|s| Hit { id: self.ids[s.node as usize], score: s.score })
                .collect();
            hits.sort_by(rank_order);
            hits
        };
        if nq == 1 { vec![one(queries)] } else { queries.par_chunks_exact(self.dim).map(one).collect() }
    }

    /// Writes the graph ([`Hnsw::write_to`]) followed by the id of every row (u64 count, then u64 ids, little
    /// endian), so that a reader can tell whether the rows are still the same. Refused (`InvalidInput`) without a
    /// graph or while tombstones wait (call [`Index::compact`] first).
    pub fn write_graph(&self, w: &mut impl Write) -> io::Result<()> {
        let refuse = |m: &str| io::Error::new(io::ErrorKind::InvalidInput, m.to_string());
        let Some(g) = &self.graph else { return Err(refuse("index: no HNSW graph to write")) };
        if self.dead_count > 0 {
            return Err(refuse("index: tombstones wait for repair; call compact() before writing the graph"));
        }
        g.write_to(w)?;
        w.write_all(&(self.ids.len() as u64).to_le_bytes())?;
        for chunk in self.ids.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
        Ok(())
    }

    /// Reads what [`Index::write_graph`] wrote and attaches the graph, after checking it against this index: the
    /// same dimension and rows, the same id in every row (a stale snapshot is refused). Replaces any graph.
    pub fn read_graph(&mut self, r: &mut impl Read) -> Result<(), HnswReadError> {
        let refuse = |field: &'static str, message: String| HnswReadError::Invalid { field, message };
        if self.precision() == Precision::Int8 {
            return Err(refuse("precision", "an HNSW graph links f32 or f16 rows, this index stores int8".into()));
        }
        self.compact();
        let g = Hnsw::read_from(r, self.dim, self.rows())?;
        let mut b8 = [0u8; 8];
        r.read_exact(&mut b8).map_err(|source| HnswReadError::Io { field: "ids", source })?;
        let count = u64::from_le_bytes(b8);
        if count != self.rows() as u64 {
            return Err(refuse("ids", format!("{count} ids, the index holds {} rows", self.rows())));
        }
        for (row, &id) in self.ids.iter().enumerate() {
            r.read_exact(&mut b8).map_err(|source| HnswReadError::Io { field: "ids", source })?;
            let got = u64::from_le_bytes(b8);
            if got != id {
                return Err(refuse("ids", format!("row {row} holds id {id}, the graph was written for id {got}")));
            }
        }
        self.dead = vec![false; self.rows()];
        self.dead_count = 0;
        if let Some(rows) = self.rows_view(Simd::detect()) {
            g.prefer_huge_pages(&rows);
        }
        self.graph = Some(g);
        Ok(())
    }
}
