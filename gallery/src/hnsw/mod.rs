//! Approximate top-k by inner product: a hierarchical navigable small-world graph (HNSW, Malkov & Yashunin, "Efficient
//! and robust approximate nearest neighbor search using Hierarchical Navigable Small World graphs", IEEE TPAMI
//! 2018; arXiv:1603.09320) over the rows of an [`crate::index::Index`].
//!
//! - The graph holds only links: node `i` is row `i` of the index, whose vectors (f32 or f16) it reads through
//!   [`Rows`] with the gallery's SIMD kernels. Layer 0 is one flat array (`2 * m` links per node plus a count, as
//!   in FAISS and hnswlib), upper layers (`m` links) exist only for the few nodes drawn above layer 0.
//! - Search (Alg. 2 and 5 of the paper): greedy descent through the upper layers, then a best-first search of
//!   width `ef` on layer 0. A predicate (the gallery's filter, and "not removed") decides which nodes may be
//!   *returned*; every node is still walked through, so a filter never disconnects the graph.
//! - Neighbour selection is the paper's heuristic (Alg. 4): a candidate is kept only when it is closer to the new
//!   node than to every neighbour kept before it.
//! - Construction is deterministic for a fixed seed whatever the thread count: levels come from a hash of the seed
//!   and the node number, and nodes are inserted in batches (prefix doubling, as ParlayANN does for its
//!   deterministic parallel HNSW: Manohar et al., "ParlayANN: Scalable and Deterministic Parallel Graph-Based
//!   Approximate Nearest Neighbor Search Algorithms", PPoPP 2024). Each node of a batch searches the graph as it
//!   stood before the batch (in parallel), then its links and the reverse links are written in node order.
//!   Batches start at one node and grow to 2% of the graph, so early (sparse) graphs are built one node at a time;
//!   a bulk build inserts the highest levels first and shuffles the rest by the seed, so that rows enrolled together
//!   (the views of one track, each other's nearest neighbours) rarely share a batch. A bulk step over f32 rows is
//!   built on an f16 copy of them (half the bytes per distance on a walk that waits on memory; `shadow`).
//! - Removal is the index's tombstone; [`Hnsw::repair`] reconnects the live nodes that pointed at removed ones
//!   through the removed nodes' own neighbours (FreshDiskANN's delete consolidation: Singh et al., "FreshDiskANN: A
//!   Fast and Accurate Graph-Based ANN Index for Streaming Similarity Search", arXiv:2105.09613, 2021) and then
//!   renumbers the nodes densely.
//! - [`Hnsw::write_to`] / [`Hnsw::read_from`]: the graph's bytes for a snapshot container (which adds the file
//!   header, checksum and store tag); reading validates every field and link and never panics.

mod build;
mod pages;
mod persist;
mod search;
mod shadow;
#[cfg(test)]
mod tests;

pub use persist::HnswReadError;

use crate::kernels::{self, Simd};
use half::f16;
use serde::{Deserialize, Serialize};

/// No node (an empty graph's entry point).
const NO_NODE: u32 = u32::MAX;
/// The highest layer a node may be drawn on (a level above it would need about `m^16` nodes).
pub const MAX_LEVEL: usize = 15;

/// A hash of `(seed, value)` (splitmix64's finaliser): level draws and insertion order.
pub(crate) fn mix(seed: u64, value: u64) -> u64 {
    let mut z = seed ^ value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Graph shape and search width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HnswParams {
    /// Links per node on the upper layers (`2 * m` on layer 0), FAISS's and the paper's `M`.
    pub m: usize,
    /// Search width while inserting (`efConstruction`).
    pub ef_construction: usize,
    /// Search width of a query (`efSearch`; at least `k` is used).
    pub ef_search: usize,
    /// Seed of the level draws.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams { m: DEFAULT_M, ef_construction: DEFAULT_EF_CONSTRUCTION, ef_search: DEFAULT_EF_SEARCH, seed: 7 }
    }
}

/// Default `m` (see the gallery README for the measurements behind the defaults: at 1M x 256 with these
/// values recall@10 passes 0.95 at `ef_search` 64).
pub const DEFAULT_M: usize = 16;
/// Default `ef_construction`.
pub const DEFAULT_EF_CONSTRUCTION: usize = 100;
/// Default `ef_search`.
pub const DEFAULT_EF_SEARCH: usize = 64;

impl HnswParams {
    /// Checks the ranges (`m` in 2..=128, the widths in 1..=65536), naming the bad field.
    pub fn check(&self) -> Result<(), String> {
        if !(2..=128).contains(&self.m) {
            return Err(format!("hnsw m = {}: expected 2..=128", self.m));
        }
        if !(1..=65_536).contains(&self.ef_construction) {
            return Err(format!("hnsw ef_construction = {}: expected 1..=65536", self.ef_construction));
        }
        if !(1..=65_536).contains(&self.ef_search) {
            return Err(format!("hnsw ef_search = {}: expected 1..=65536", self.ef_search));
        }
        Ok(())
    }
}

/// Read access to the vectors a graph links: row `node` of a row-major buffer, f32 or f16.
#[derive(Clone, Copy, Debug)]
pub enum Rows<'a> {
    /// f32 rows.
    F32 {
        /// `rows x dim` values.
        data: &'a [f32],
        /// Dimension.
        dim: usize,
        /// Kernel family.
        simd: Simd,
    },
    /// f16 rows (widened in registers by the kernels).
    F16 {
        /// `rows x dim` values.
        data: &'a [f16],
        /// Dimension.
        dim: usize,
        /// Kernel family.
        simd: Simd,
    },
}

impl Rows<'_> {
    /// Dimension.
    pub fn dim(&self) -> usize {
        match *self {
            Rows::F32 { dim, .. } | Rows::F16 { dim, .. } => dim,
        }
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        match *self {
            Rows::F32 { data, dim, .. } => data.len() / dim.max(1),
            Rows::F16 { data, dim, .. } => data.len() / dim.max(1),
        }
    }

    /// Whether no rows are held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `q . row(node)`.
    #[inline]
    pub fn dot(&self, q: &[f32], node: u32) -> f32 {
        let n = node as usize;
        match *self {
            Rows::F32 { data, dim, simd } => kernels::dot_f32(simd, q, &data[n * dim..(n + 1) * dim]),
            Rows::F16 { data, dim, simd } => kernels::dot_f16(simd, q, &data[n * dim..(n + 1) * dim]),
        }
    }

    /// `q . row(n)` for four nodes at once (see [`kernels::dot4_f32`]).
    #[inline]
    pub fn dot4(&self, q: &[f32], nodes: [u32; 4]) -> [f32; 4] {
        match *self {
            Rows::F32 { data, dim, simd } => {
                kernels::dot4_f32(simd, q, nodes.map(|n| &data[n as usize * dim..(n as usize + 1) * dim]))
            }
            Rows::F16 { data, dim, simd } => {
                kernels::dot4_f16(simd, q, nodes.map(|n| &data[n as usize * dim..(n as usize + 1) * dim]))
            }
        }
    }

    /// Row `node` widened to f32 into `out` (`dim` long).
    pub fn widen(&self, node: u32, out: &mut [f32]) {
        let n = node as usize;
        match *self {
            Rows::F32 { data, dim, .. } => out.copy_from_slice(&data[n * dim..(n + 1) * dim]),
            Rows::F16 { data, dim, simd } => kernels::widen_f16(simd, &data[n * dim..(n + 1) * dim], out),
        }
    }

    /// Asks for huge pages under the rows (see `pages`): fewer TLB misses on the walk's scattered reads.
    pub fn prefer_huge_pages(&self) -> bool {
        match *self {
            Rows::F32 { data, .. } => pages::prefer_huge_pages(data),
            Rows::F16 { data, .. } => pages::prefer_huge_pages(data),
        }
    }

    /// Starts loading the first cache line of row `node` (a hint for rows scored soon but not next).
    #[inline]
    pub fn prefetch(&self, node: u32) {
        let n = node as usize;
        match *self {
            Rows::F32 { data, dim, .. } => kernels::prefetch(&data[n * dim..n * dim + 16.min(dim)]),
            Rows::F16 { data, dim, .. } => kernels::prefetch(&data[n * dim..n * dim + 32.min(dim)]),
        }
    }

    /// Starts loading all of row `node` (rows scored next: more at once would overflow the CPU's fill buffers).
    #[inline]
    pub fn prefetch_row(&self, node: u32) {
        let n = node as usize;
        match *self {
            Rows::F32 { data, dim, .. } => kernels::prefetch(&data[n * dim..(n + 1) * dim]),
            Rows::F16 { data, dim, .. } => kernels::prefetch(&data[n * dim..(n + 1) * dim]),
        }
    }
}

/// The graph: levels and links of nodes `0..len()`.
#[derive(Clone, Debug)]
pub struct Hnsw {
    /// Dimension of the vectors it links.
    dim: usize,
    params: HnswParams,
    /// Top layer of each node.
    levels: Vec<u8>,
    /// Layer 0: per node `1 + 2m` slots, a count then the links.
    links0: Vec<u32>,
    /// Per node: where its upper layers start in `upper` (`NO_NODE` for a node on layer 0 only).
    upper_at: Vec<u32>,
    /// Upper layers: per node with level `L`, `L` blocks of `1 + m` slots (layer 1 first).
    upper: Vec<u32>,
    /// Entry point (`NO_NODE` when empty) and its level.
    entry: u32,
    max_level: u8,
    /// Per node: how many leading links of its layer-0 list are known clean, i.e. exactly what the selection
    /// heuristic keeps of them (they came from the heuristic; links appended later follow them), which lets an
    /// overflow be resolved incrementally (`reselect_clean`). Not persisted: a loaded graph starts with none known.
    clean: Vec<u16>,
}

/// Graphs are equal when their shape and links are (the `clean` marks are a cache of how links were chosen).
impl PartialEq for Hnsw {
    fn eq(&self, other: &Self) -> bool {
        self.dim == other.dim
            && self.params == other.params
            && self.levels == other.levels
            && self.links0 == other.links0
            && self.upper_at == other.upper_at
            && self.upper == other.upper
            && self.entry == other.entry
            && self.max_level == other.max_level
    }
}

impl Eq for Hnsw {}

impl Hnsw {
    /// An empty graph over `dim`-d vectors.
    pub fn new(dim: usize, params: HnswParams) -> Hnsw {
        Hnsw {
            dim,
            params,
            levels: Vec::new(),
            links0: Vec::new(),
            upper_at: Vec::new(),
            upper: Vec::new(),
            entry: NO_NODE,
            max_level: 0,
            clean: Vec::new(),
        }
    }

    /// Dimension of the vectors it links.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The parameters.
    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// Sets the query search width (at least 1).
    pub fn set_ef_search(&mut self, ef: usize) {
        self.params.ef_search = ef.max(1);
    }

    /// Nodes in the graph.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Layer-0 link capacity (`2m`).
    fn m0(&self) -> usize {
        2 * self.params.m
    }

    /// Link capacity on `level`.
    fn cap(&self, level: usize) -> usize {
        if level == 0 { self.m0() } else { self.params.m }
    }

    /// The links of `node` on `level` (which must be at most the node's level).
    #[inline]
    pub fn links(&self, node: u32, level: usize) -> &[u32] {
        let n = node as usize;
        let block = if level == 0 {
            let s = 1 + self.m0();
            &self.links0[n * s..(n + 1) * s]
        } else {
            let s = 1 + self.params.m;
            let at = self.upper_at[n] as usize + (level - 1) * s;
            &self.upper[at..at + s]
        };
        &block[1..1 + block[0] as usize]
    }

    /// Starts loading the first cache line of `node`'s link list on `level` (its count and first links).
    #[inline]
    fn prefetch_links(&self, node: u32, level: usize) {
        if level == 0 {
            let at = node as usize * (1 + self.m0());
            kernels::prefetch(&self.links0[at..at + 1 + self.m0()]);
        }
    }

    fn set_links(&mut self, node: u32, level: usize, links: &[u32]) {
        let n = node as usize;
        let cap = self.cap(level);
        debug_assert!(links.len() <= cap);
        let block = if level == 0 {
            let s = 1 + self.m0();
            &mut self.links0[n * s..(n + 1) * s]
        } else {
            let s = 1 + self.params.m;
            let at = self.upper_at[n] as usize + (level - 1) * s;
            &mut self.upper[at..at + s]
        };
        let k = links.len().min(cap);
        block[0] = k as u32;
        block[1..1 + k].copy_from_slice(&links[..k]);
    }

    /// The level drawn for node `node`: `floor(-ln(u) / ln(m))` (the paper's `mL = 1 / ln(M)`), `u` uniform in
    /// (0, 1] from a hash of the seed and the node number, capped at [`MAX_LEVEL`].
    fn draw_level(&self, node: u32) -> u8 {
        let z = mix(self.params.seed, u64::from(node));
        let u = ((z >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        let level = (-u.ln() / (self.params.m as f64).ln()).floor();
        level.clamp(0.0, MAX_LEVEL as f64) as u8
    }

    /// Appends node `len()` with its drawn level and no links.
    /// Asks for huge pages under the layer-0 links and under `rows` (see `pages`); a graph does this itself when it
    /// grows by a large step, a loaded one should be told once.
    pub fn prefer_huge_pages(&self, rows: &Rows<'_>) {
        // Both ranges are advised whatever the kernel says about the first.
        let (links, rows) = (pages::prefer_huge_pages(&self.links0), rows.prefer_huge_pages());
        tracing::debug!(links, rows, "hnsw: huge pages taken under the links / rows");
    }

    fn push_node(&mut self) -> u32 {
        let node = self.levels.len() as u32;
        let level = self.draw_level(node);
        self.levels.push(level);
        self.clean.push(0);
        self.links0.resize(self.links0.len() + 1 + self.m0(), 0);
        if level > 0 {
            self.upper_at.push(self.upper.len() as u32);
            self.upper.resize(self.upper.len() + level as usize * (1 + self.params.m), 0);
        } else {
            self.upper_at.push(NO_NODE);
        }
        node
    }

    /// Bytes held by the links and levels.
    pub fn memory_bytes(&self) -> usize {
        self.levels.len() + 4 * (self.links0.len() + self.upper_at.len() + self.upper.len())
    }

    /// Mean layer-0 out-degree (a figure for logs and tests).
    pub fn mean_degree(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let s = 1 + self.m0();
        let total: u64 = (0..self.len()).map(|n| u64::from(self.links0[n * s])).sum();
        total as f64 / self.len() as f64
    }
}
