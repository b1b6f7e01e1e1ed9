//! Where an int8 index reads the exact vectors it re-scores its candidates with: not memory it holds.
//!
//! An int8 index keeps only codes and scales (`dim + 4` bytes per row). The best `k * rescore` rows of its code
//! scan are then re-scored against their exact f32 vectors, read from a [`VectorSource`]: in a gallery the durable
//! store itself ([`crate::store::Store`], which holds every vector already), so no second f32 copy is resident.
//! [`MemoryVectors`] is an in-memory source for tests and benchmarks that have no store (it saves no memory).

use std::collections::HashMap;
use std::sync::RwLock;

/// Exact f32 vectors by id, for re-scoring int8 candidates (and for whatever needs a row's full vector).
pub trait VectorSource: Send + Sync + std::fmt::Debug {
    /// Writes the vector of `ids[i]` into `out[i * dim..(i + 1) * dim]` and sets `found[i]` (false for an id the
    /// source does not hold, e.g. one being forgotten; its slot is left as it was). `out` is `ids.len() * dim`
    /// long, `found` `ids.len()`. An error (I/O, a corrupt record) names what failed.
    fn fetch(&self, ids: &[u64], out: &mut [f32], found: &mut [bool]) -> Result<(), String>;
}

/// Vectors held in memory by id (tests, benchmarks without a store). Thread-safe; fill it beside the index.
#[derive(Debug, Default)]
pub struct MemoryVectors {
    dim: usize,
    rows: RwLock<HashMap<u64, Box<[f32]>>>,
}

impl MemoryVectors {
    /// An empty source of `dim`-d vectors.
    pub fn new(dim: usize) -> MemoryVectors {
        MemoryVectors { dim, rows: RwLock::new(HashMap::new()) }
    }

    /// A source holding `data` (`rows x dim`) as ids `first_id..`.
    pub fn from_rows(dim: usize, data: &[f32], first_id: u64) -> MemoryVectors {
        let rows = data.chunks_exact(dim).enumerate().map(|(r, v)| (first_id + r as u64, v.into())).collect();
        MemoryVectors { dim, rows: RwLock::new(rows) }
    }

    /// Adds (or replaces) the vector of `id`.
    ///
    /// # Panics
    /// When `vector` is not `dim` long.
    pub fn insert(&self, id: u64, vector: &[f32]) {
        assert_eq!(vector.len(), self.dim, "MemoryVectors::insert: wrong dimension");
        self.rows.write().unwrap_or_else(|p| p.into_inner()).insert(id, vector.into());
    }

    /// Drops the vector of `id`.
    pub fn remove(&self, id: u64) {
        self.rows.write().unwrap_or_else(|p| p.into_inner()).remove(&id);
    }
}

impl VectorSource for MemoryVectors {
    fn fetch(&self, ids: &[u64], out: &mut [f32], found: &mut [bool]) -> Result<(), String> {
        let rows = self.rows.read().unwrap_or_else(|p| p.into_inner());
        for ((id, slot), f) in ids.iter().zip(out.chunks_exact_mut(self.dim)).zip(found.iter_mut()) {
            *f = match rows.get(id) {
                Some(v) => {
                    slot.copy_from_slice(v);
                    true
                }
                None => false,
            };
        }
        Ok(())
    }
}
