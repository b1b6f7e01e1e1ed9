//! The graph's bytes, for a snapshot container to wrap (the container adds the file header, the store's
//! transaction tag and the checksum). Little-endian:
//!
//! ```text
//! "RIDHNSW1"  magic and format version (8 bytes)
//! u32 dim, u32 m, u32 ef_construction, u32 ef_search, u64 seed
//! u64 nodes, u32 entry (u32::MAX when empty), u32 max_level
//! nodes x u8          levels
//! nodes x (1 + 2m) u32  layer 0: count, links (unused slots 0)
//! per node of level L > 0, in node order: L x (1 + m) u32   layers 1..=L
//! ```
//!
//! [`Hnsw::read_from`] checks every field against the caller's expectation (dimension, node count) and every link
//! (count within capacity, target a node that exists on that layer, not the node itself), reads in bounded
//! chunks (a truncated or foreign stream fails before anything large is allocated), and never panics.

use super::{Hnsw, HnswParams, MAX_LEVEL, NO_NODE};
use std::io::{self, Read, Write};
use thiserror::Error;

const MAGIC: &[u8; 8] = b"RIDHNSW1";
/// Values read per chunk (bounds what a lying length can make us allocate ahead of the data).
const CHUNK: usize = 1 << 16;

/// Why graph bytes were refused.
#[derive(Debug, Error)]
pub enum HnswReadError {
    /// The stream ended or failed.
    #[error("hnsw graph: {field}: {source}")]
    Io {
        /// What was being read.
        field: &'static str,
        /// The read error (`UnexpectedEof` for a truncated stream).
        #[source]
        source: io::Error,
    },
    /// Not a graph of this format.
    #[error("hnsw graph: not an HNSW graph of format RIDHNSW1 (magic {found:?})")]
    Magic {
        /// The first bytes found.
        found: [u8; 8],
    },
    /// A field out of range or disagreeing with the expectation.
    #[error("hnsw graph: {field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
}

fn invalid(field: &'static str, message: String) -> HnswReadError {
    HnswReadError::Invalid { field, message }
}

fn read_bytes<const N: usize>(r: &mut impl Read, field: &'static str) -> Result<[u8; N], HnswReadError> {
    let mut b = [0u8; N];
    r.read_exact(&mut b).map_err(|source| HnswReadError::Io { field, source })?;
    Ok(b)
}

fn read_u32(r: &mut impl Read, field: &'static str) -> Result<u32, HnswReadError> {
    Ok(u32::from_le_bytes(read_bytes::<4>(r, field)?))
}

fn read_u64(r: &mut impl Read, field: &'static str) -> Result<u64, HnswReadError> {
    Ok(u64::from_le_bytes(read_bytes::<8>(r, field)?))
}

/// Reads `count` u32 values in chunks of [`CHUNK`].
fn read_u32s(r: &mut impl Read, count: usize, field: &'static str) -> Result<Vec<u32>, HnswReadError> {
    let mut out = Vec::with_capacity(count.min(CHUNK));
    let mut buf = vec![0u8; 4 * CHUNK.min(count.max(1))];
    let mut left = count;
    while left > 0 {
        let take = left.min(CHUNK);
        let bytes = &mut buf[..4 * take];
        r.read_exact(bytes).map_err(|source| HnswReadError::Io { field, source })?;
        out.extend(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])));
        left -= take;
    }
    Ok(out)
}

fn write_u32s(w: &mut impl Write, values: &[u32]) -> io::Result<()> {
    for chunk in values.chunks(CHUNK) {
        let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
        w.write_all(&bytes)?;
    }
    Ok(())
}

impl Hnsw {
    /// Writes the graph (format in the module docs).
    pub fn write_to(&self, w: &mut impl Write) -> io::Result<()> {
        let dim = self.dim;
        let p = &self.params;
        let too_big = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("hnsw graph: {what} over u32"));
        let u32_of = |v: usize, what: &str| u32::try_from(v).map_err(|_| too_big(what));
        w.write_all(MAGIC)?;
        for (v, what) in [(dim, "dim"), (p.m, "m"), (p.ef_construction, "ef_construction"), (p.ef_search, "ef_search")]
        {
            w.write_all(&u32_of(v, what)?.to_le_bytes())?;
        }
        w.write_all(&p.seed.to_le_bytes())?;
        w.write_all(&(self.len() as u64).to_le_bytes())?;
        w.write_all(&self.entry.to_le_bytes())?;
        w.write_all(&u32::from(self.max_level).to_le_bytes())?;
        w.write_all(&self.levels)?;
        write_u32s(w, &self.links0)?;
        for (node, &level) in self.levels.iter().enumerate() {
            if level > 0 {
                let at = self.upper_at[node] as usize;
                write_u32s(w, &self.upper[at..at + level as usize * (1 + p.m)])?;
            }
        }
        Ok(())
    }

    /// Reads a graph written by [`Hnsw::write_to`], expecting `dim`-d vectors and exactly `nodes` nodes (the
    /// index's rows, so nothing larger than the live gallery is ever allocated); every field and link is checked.
    pub fn read_from(r: &mut impl Read, dim: usize, nodes: usize) -> Result<Hnsw, HnswReadError> {
        let magic = read_bytes::<8>(r, "magic")?;
        if &magic != MAGIC {
            return Err(HnswReadError::Magic { found: magic });
        }
        let got_dim = read_u32(r, "dim")? as usize;
        if got_dim != dim {
            return Err(invalid("dim", format!("{got_dim}, the index holds {dim}-d vectors")));
        }
        let params = HnswParams {
            m: read_u32(r, "m")? as usize,
            ef_construction: read_u32(r, "ef_construction")? as usize,
            ef_search: read_u32(r, "ef_search")? as usize,
            seed: read_u64(r, "seed")?,
        };
        params.check().map_err(|m| invalid("params", m))?;
        let count = read_u64(r, "nodes")?;
        if count != nodes as u64 {
            return Err(invalid("nodes", format!("{count}, the index holds {nodes} rows")));
        }
        let entry = read_u32(r, "entry")?;
        let max_level = read_u32(r, "max_level")?;
        if max_level as usize > MAX_LEVEL {
            return Err(invalid("max_level", format!("{max_level}, more than {MAX_LEVEL}")));
        }
        let mut g = Hnsw::new(dim, params);
        let mut levels = Vec::with_capacity(nodes.min(CHUNK));
        let mut left = nodes;
        while left > 0 {
            let take = left.min(CHUNK);
            let mut buf = vec![0u8; take];
            r.read_exact(&mut buf).map_err(|source| HnswReadError::Io { field: "levels", source })?;
            levels.extend_from_slice(&buf);
            left -= take;
        }
        if let Some((i, &l)) = levels.iter().enumerate().find(|(_, l)| **l as usize > MAX_LEVEL) {
            return Err(invalid("levels", format!("node {i} on level {l}, more than {MAX_LEVEL}")));
        }
        let top = levels.iter().copied().max().unwrap_or(0);
        if nodes == 0 {
            if entry != NO_NODE || max_level != 0 {
                return Err(invalid("entry", "an empty graph with an entry point".into()));
            }
        } else if entry as usize >= nodes || u32::from(levels[entry as usize]) != max_level || top as u32 != max_level {
            return Err(invalid("entry", format!("node {entry} on level {max_level} is not a top node of the graph")));
        }
        let s0 = 1 + 2 * params.m;
        let total = nodes.checked_mul(s0).ok_or_else(|| invalid("nodes", format!("{nodes} nodes overflow")))?;
        let links0 = read_u32s(r, total, "layer 0")?;
        let s = 1 + params.m;
        let mut upper_at = Vec::with_capacity(nodes.min(CHUNK));
        let mut upper = Vec::new();
        for &level in &levels {
            if level > 0 {
                upper_at.push(u32::try_from(upper.len()).map_err(|_| invalid("upper layers", "over u32".into()))?);
                upper.extend(read_u32s(r, level as usize * s, "upper layers")?);
            } else {
                upper_at.push(NO_NODE);
            }
        }
        g.clean = vec![0; levels.len()];
        g.levels = levels;
        g.links0 = links0;
        g.upper_at = upper_at;
        g.upper = upper;
        g.entry = entry;
        g.max_level = max_level as u8;
        g.validate_links()?;
        Ok(g)
    }

    /// Every link count within capacity, every target a node on that layer, no self link.
    fn validate_links(&self) -> Result<(), HnswReadError> {
        let n = self.len();
        for node in 0..n {
            for l in 0..=self.levels[node] as usize {
                let (block, cap) = if l == 0 {
                    let s = 1 + self.m0();
                    (&self.links0[node * s..(node + 1) * s], self.m0())
                } else {
                    let s = 1 + self.params.m;
                    let at = self.upper_at[node] as usize + (l - 1) * s;
                    (&self.upper[at..at + s], self.params.m)
                };
                let count = block[0] as usize;
                if count > cap {
                    return Err(invalid("links", format!("node {node} layer {l}: {count} links, capacity {cap}")));
                }
                for &x in &block[1..1 + count] {
                    if x as usize >= n || x as usize == node || (self.levels[x as usize] as usize) < l {
                        return Err(invalid("links", format!("node {node} layer {l}: link to {x} is not valid")));
                    }
                }
            }
        }
        Ok(())
    }
}
