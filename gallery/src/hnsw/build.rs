//! Construction (deterministic batched insertion), neighbour selection, and repair after removals.

use super::search::{Scored, with_visited};
use super::{Hnsw, NO_NODE, Rows, mix, shadow};
use rayon::prelude::*;

/// How a reverse link reached a node's list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resolved {
    /// There was room: appended.
    Appended,
    /// Overflow of a clean list: [`Hnsw::reselect_clean`].
    Incremental,
    /// Overflow: the heuristic over the whole list ([`Hnsw::reselect`]).
    Full,
}

/// Largest insertion batch (nodes searched in parallel against the same graph).
const MAX_BATCH: usize = 1 << 16;
/// A batch is at most this fraction of the graph it is inserted into (1/50 = 2%).
const BATCH_DIVISOR: usize = 50;

impl Hnsw {
    /// Adds graph nodes for rows `len()..rows.len()`, in deterministic batches (see the module docs); rows with
    /// `dead(row)` are walked through but never linked to. The new nodes are inserted highest level first (as FAISS
    /// does), and within a level in an order shuffled by the seed: rows enrolled together (the views of one track)
    /// then rarely share a batch, whose members cannot link to each other directly.
    ///
    /// A bulk step over f32 rows is built on an f16 copy of them (see `shadow`).
    pub fn extend(&mut self, rows: &Rows<'_>, dead: &(dyn Fn(u32) -> bool + Sync)) {
        let copy = if is_bulk(self.len(), rows.len()) { shadow::half_copy(rows) } else { None };
        let (fast, full) = match (&copy, *rows) {
            (Some(halves), Rows::F32 { dim, simd, .. }) => {
                // The f32 rows are what queries will walk; the step itself advises the copy it reads.
                rows.prefer_huge_pages();
                tracing::debug!(rows = rows.len(), "hnsw: building on an f16 copy of the f32 rows");
                self.extend_with(&Rows::F16 { data: halves, dim, simd }, dead, true)
            }
            _ => self.extend_with(rows, dead, true),
        };
        tracing::debug!(fast, full, "hnsw: overflowing link lists chosen again incrementally / in full");
    }

    /// [`Hnsw::extend`], resolving overflowing layer-0 lists incrementally where they are known clean
    /// (`incremental`) or always by running the heuristic over the whole list (the tests compare the two).
    /// Returns how many overflows were resolved incrementally and how many by the whole heuristic.
    pub(super) fn extend_with(
        &mut self,
        rows: &Rows<'_>,
        dead: &(dyn Fn(u32) -> bool + Sync),
        incremental: bool,
    ) -> (usize, usize) {
        let start = self.len();
        let target = rows.len();
        if target <= start {
            return (0, 0);
        }
        self.links0.reserve((target - start) * (1 + self.m0()));
        for _ in start..target {
            self.push_node();
        }
        if is_bulk(start, target) {
            // Worth merging the rows and links into huge pages (smaller steps grow inside memory advised before).
            self.prefer_huge_pages(rows);
        }
        let mut order: Vec<u32> = (start as u32..target as u32).collect();
        let seed = self.params.seed;
        order.sort_by_cached_key(|&n| (std::cmp::Reverse(self.levels[n as usize]), mix(seed ^ 0x0D0E, u64::from(n))));
        let (mut done, mut counts) = (0, (0, 0));
        while done < order.len() {
            let batch = ((start + done) / BATCH_DIVISOR).clamp(1, MAX_BATCH).min(order.len() - done);
            let (fast, full) = self.insert_batch(rows, &order[done..done + batch], dead, incremental);
            counts = (counts.0 + fast, counts.1 + full);
            done += batch;
        }
        counts
    }

    /// Inserts `nodes` (pushed already, not yet linked): searches in parallel against the graph as it was, then
    /// writes their links and the reverse links in node order.
    /// Returns the overflows resolved incrementally and in full.
    fn insert_batch(
        &mut self,
        rows: &Rows<'_>,
        nodes: &[u32],
        dead: &(dyn Fn(u32) -> bool + Sync),
        incremental: bool,
    ) -> (usize, usize) {
        let mut nodes = nodes;
        if self.entry == NO_NODE {
            // The first node: nothing to link to.
            self.entry = nodes[0];
            self.max_level = self.levels[nodes[0] as usize];
            nodes = &nodes[1..];
            if nodes.is_empty() {
                return (0, 0);
            }
        }
        let live = |n: u32| !dead(n);
        let dim = rows.dim();
        let this = &*self;
        let plans: Vec<Vec<Vec<u32>>> = nodes
            .par_iter()
            .map(|&u| {
                let mut q = vec![0.0f32; dim];
                rows.widen(u, &mut q);
                let top = (this.levels[u as usize] as usize).min(this.max_level as usize);
                let Some(start) = this.descend(rows, &q, top) else { return Vec::new() };
                let mut entry = vec![start];
                let mut per_level = vec![Vec::new(); top + 1];
                with_visited(this.len(), |visited| {
                    for l in (0..=top).rev() {
                        visited.reset(this.len());
                        let found = this.search_layer(rows, &q, &entry, this.params.ef_construction, l, &live, visited);
                        per_level[l] = this.select(rows, &found, this.cap(l));
                        if !found.is_empty() {
                            entry = found;
                        }
                    }
                });
                per_level
            })
            .collect();
        let mut reverse: Vec<(u32, u8, u32)> = Vec::new();
        for (&u, plan) in nodes.iter().zip(&plans) {
            for (l, links) in plan.iter().enumerate() {
                self.set_links(u, l, links);
                reverse.extend(links.iter().map(|&v| (v, l as u8, u)));
            }
            // The heuristic chose these links.
            self.clean[u as usize] = plan.first().map_or(0, |links| links.len() as u16);
        }
        reverse.par_sort_unstable();
        let groups: Vec<&[(u32, u8, u32)]> = reverse.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1).collect();
        let this = &*self;
        let updates: Vec<(u32, usize, Vec<u32>, Resolved)> = groups
            .par_iter()
            .map(|g| {
                let (v, l) = (g[0].0, g[0].1 as usize);
                let old = this.links(v, l);
                let fresh: Vec<u32> = g.iter().map(|e| e.2).collect();
                if old.len() + fresh.len() <= this.cap(l) {
                    // Room for all: appended as FAISS and hnswlib do (behind the clean prefix).
                    let mut list = old.to_vec();
                    list.extend(&fresh);
                    (v, l, list, Resolved::Appended)
                } else if l == 0 && incremental && this.clean[v as usize] > 0 {
                    let (clean, appended) = old.split_at(usize::from(this.clean[v as usize]).min(old.len()));
                    let rest: Vec<u32> = appended.iter().chain(&fresh).copied().collect();
                    (v, l, this.reselect_clean(rows, v, clean, &rest, l), Resolved::Incremental)
                } else {
                    let mut list = old.to_vec();
                    list.extend(&fresh);
                    (v, l, this.reselect(rows, v, &list, l), Resolved::Full)
                }
            })
            .collect();
        let mut counts = (0, 0);
        for (v, l, list, how) in updates {
            self.set_links(v, l, &list);
            match how {
                Resolved::Incremental => counts.0 += 1,
                Resolved::Full => counts.1 += 1,
                Resolved::Appended => {}
            }
            if l == 0 && how != Resolved::Appended {
                self.clean[v as usize] = list.len() as u16;
            }
        }
        for &u in nodes {
            if self.levels[u as usize] > self.max_level {
                self.entry = u;
                self.max_level = self.levels[u as usize];
            }
        }
        counts
    }

    /// The paper's neighbour-selection heuristic (Alg. 4, without keeping pruned candidates, as FAISS and hnswlib
    /// do): walking `found` best first, a candidate is kept when no already kept node is closer to it (by inner
    /// product) than the query is; at most `cap`.
    pub(super) fn select(&self, rows: &Rows<'_>, found: &[Scored], cap: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(cap);
        let mut buf = vec![0.0f32; rows.dim()];
        for c in found {
            if kept.len() >= cap {
                break;
            }
            rows.widen(c.node, &mut buf);
            if !dominated(rows, &buf, &kept, c.score) {
                kept.push(c.node);
            }
        }
        kept
    }

    /// `node`'s links on `level` chosen again from `candidates` (scored against the node, heuristic selection).
    fn reselect(&self, rows: &Rows<'_>, node: u32, candidates: &[u32], level: usize) -> Vec<u32> {
        let mut q = vec![0.0f32; rows.dim()];
        rows.widen(node, &mut q);
        let mut scored: Vec<Scored> = scores(rows, &q, candidates).collect();
        scored.sort_unstable_by(|a, b| b.cmp(a));
        self.select(rows, &scored, self.cap(level))
    }

    /// [`Hnsw::reselect`] of `old + fresh` when `old` is clean (the heuristic over `old` alone keeps all of it),
    /// with the same result: walking the candidates best first, an old candidate was already not dominated by any
    /// old node before it, so it is tested only against the fresh nodes kept so far; a fresh one against every
    /// node kept so far. About `|old| + |fresh| * cap` dot products instead of `cap^2 / 2`.
    fn reselect_clean(&self, rows: &Rows<'_>, node: u32, old: &[u32], fresh: &[u32], level: usize) -> Vec<u32> {
        let cap = self.cap(level);
        let mut q = vec![0.0f32; rows.dim()];
        rows.widen(node, &mut q);
        let all: Vec<u32> = old.iter().chain(fresh).copied().collect();
        let mut scored: Vec<(Scored, bool)> =
            scores(rows, &q, &all).enumerate().map(|(i, s)| (s, i >= old.len())).collect();
        scored.sort_unstable_by_key(|a| std::cmp::Reverse(a.0));
        let mut kept: Vec<u32> = Vec::with_capacity(cap);
        let mut kept_fresh: Vec<u32> = Vec::with_capacity(fresh.len());
        let mut buf = vec![0.0f32; rows.dim()];
        for (c, is_fresh) in scored {
            if kept.len() >= cap {
                break;
            }
            let against: &[u32] = if is_fresh { &kept } else { &kept_fresh };
            if !against.is_empty() {
                rows.widen(c.node, &mut buf);
                if dominated(rows, &buf, against, c.score) {
                    continue;
                }
            }
            kept.push(c.node);
            if is_fresh {
                kept_fresh.push(c.node);
            }
        }
        kept
    }

    /// Removes the nodes with `dead[node]` (FreshDiskANN's consolidation): every live node that links to a removed
    /// one chooses its links again from its live links and the removed nodes' live links; then the live nodes are
    /// renumbered densely in their order (node `i` becomes the number of live nodes before it), as the index
    /// compacts its rows. `rows` are the rows before compaction.
    ///
    /// # Panics
    /// When `dead` is shorter than the graph.
    pub fn repair(&mut self, rows: &Rows<'_>, dead: &[bool]) {
        assert!(dead.len() >= self.len(), "repair: dead flags shorter than the graph");
        let n = self.len();
        let this = &*self;
        let work: Vec<(u32, usize)> = (0..n as u32)
            .filter(|&p| !dead[p as usize])
            .flat_map(|p| (0..=this.levels[p as usize] as usize).map(move |l| (p, l)))
            .filter(|&(p, l)| this.links(p, l).iter().any(|&x| dead[x as usize]))
            .collect();
        let updates: Vec<(u32, usize, Vec<u32>)> = work
            .par_iter()
            .map(|&(p, l)| {
                let mut cands: Vec<u32> = Vec::new();
                for &x in this.links(p, l) {
                    if dead[x as usize] {
                        cands.extend(this.links(x, l).iter().filter(|&&y| !dead[y as usize] && y != p));
                    } else {
                        cands.push(x);
                    }
                }
                cands.sort_unstable();
                cands.dedup();
                let list = if cands.len() > this.cap(l) { this.reselect(rows, p, &cands, l) } else { cands };
                (p, l, list)
            })
            .collect();
        for (p, l, list) in updates {
            self.set_links(p, l, &list);
        }
        self.renumber(dead);
        // Repaired lists came from the heuristic or from merging; none is assumed clean (only a cost: the next
        // overflow of each list runs the whole heuristic once).
        self.clean = vec![0; self.len()];
    }

    /// Drops the dead nodes and renumbers the rest densely (links mapped; every live link points at a live node).
    fn renumber(&mut self, dead: &[bool]) {
        let n = self.len();
        let mut new_of = vec![NO_NODE; n];
        let mut next = 0u32;
        for (i, slot) in new_of.iter_mut().enumerate() {
            if !dead[i] {
                *slot = next;
                next += 1;
            }
        }
        let mut g = Hnsw::new(self.dim, self.params);
        let (s0, s) = (1 + self.m0(), 1 + self.params.m);
        for old in (0..n).filter(|&i| !dead[i]) {
            let level = self.levels[old];
            g.levels.push(level);
            g.links0.push(0);
            g.links0.extend(std::iter::repeat_n(0, s0 - 1));
            if level > 0 {
                g.upper_at.push(g.upper.len() as u32);
                g.upper.resize(g.upper.len() + level as usize * s, 0);
            } else {
                g.upper_at.push(NO_NODE);
            }
            let node = new_of[old];
            for l in 0..=level as usize {
                let mapped: Vec<u32> =
                    self.links(old as u32, l).iter().map(|&x| new_of[x as usize]).filter(|&x| x != NO_NODE).collect();
                g.set_links(node, l, &mapped);
            }
        }
        // Entry: the old one when it lives, else the first live node of the highest level.
        if self.entry != NO_NODE && !dead[self.entry as usize] {
            g.entry = new_of[self.entry as usize];
            g.max_level = self.max_level;
        } else if let Some(best) = (0..g.len()).max_by_key(|&i| (g.levels[i], std::cmp::Reverse(i))) {
            g.entry = best as u32;
            g.max_level = g.levels[best];
        }
        *self = g;
    }
}

/// Whether growing a graph of `start` nodes to `target` is a bulk step: a first build, or growth by 1/16 or more.
fn is_bulk(start: usize, target: usize) -> bool {
    target > start && (target - start) * 16 >= target
}

/// Whether some node of `kept` is closer to `v` (by inner product) than `score`, the query's: four dot products at
/// a time (independent accumulations), stopping at the first group that holds one.
fn dominated(rows: &Rows<'_>, v: &[f32], kept: &[u32], score: f32) -> bool {
    let mut groups = kept.chunks_exact(4);
    for g in &mut groups {
        if rows.dot4(v, [g[0], g[1], g[2], g[3]]).iter().any(|&s| s > score) {
            return true;
        }
    }
    groups.remainder().iter().any(|&s| rows.dot(v, s) > score)
}

/// `q . row(n)` for each of `nodes`, four at a time (the same values, bit for bit, as one at a time).
fn scores<'a>(rows: &'a Rows<'_>, q: &'a [f32], nodes: &'a [u32]) -> impl Iterator<Item = Scored> + 'a {
    for &n in nodes.iter().take(4) {
        rows.prefetch_row(n);
    }
    nodes.chunks(4).enumerate().flat_map(move |(i, g)| {
        // While these four are scored, the next four rows load.
        for &n in nodes.iter().skip(4 * i + 4).take(4) {
            rows.prefetch_row(n);
        }
        let s = match *g {
            [a, b, c, d] => rows.dot4(q, [a, b, c, d]),
            _ => {
                let mut s = [0.0; 4];
                for (o, &n) in s.iter_mut().zip(g) {
                    *o = rows.dot(q, n);
                }
                s
            }
        };
        g.iter().zip(s).map(|(&node, score)| Scored { score, node })
    })
}
