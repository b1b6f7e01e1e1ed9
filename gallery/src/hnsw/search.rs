//! Graph search: greedy descent through the upper layers, best-first search of width `ef` on a layer (the paper's
//! Alg. 2), with a visited set reused per thread and the next nodes' vectors prefetched before they are scored.

use super::{Hnsw, NO_NODE, Rows};
use std::cell::RefCell;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// A scored node. Ordered by score, then by the smaller node (so ties resolve the same way every time).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scored {
    /// Inner product with the query.
    pub score: f32,
    /// Node (= index row).
    pub node: u32,
}

impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score.total_cmp(&other.score).then(other.node.cmp(&self.node))
    }
}

/// Generation-stamped visited marks (no clearing between searches).
#[derive(Default)]
pub(super) struct Visited {
    marks: Vec<u8>,
    generation: u8,
}

impl Visited {
    /// Starts a new search over `n` nodes.
    pub(super) fn reset(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.marks.fill(0);
            self.generation = 1;
        }
    }

    /// Marks `node`; true when it was already marked in this search.
    #[inline]
    fn test_and_set(&mut self, node: u32) -> bool {
        let m = &mut self.marks[node as usize];
        let seen = *m == self.generation;
        *m = self.generation;
        seen
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::default());
}

/// Runs `f` with this thread's visited set, reset for `n` nodes.
pub(super) fn with_visited<R>(n: usize, f: impl FnOnce(&mut Visited) -> R) -> R {
    VISITED.with(|v| {
        let mut v = v.borrow_mut();
        v.reset(n);
        f(&mut v)
    })
}

impl Hnsw {
    /// Best-first search of width `ef` on `level` from `entry` (the paper's Alg. 2). Every reached node is
    /// walked through; only nodes with `accept(node)` enter the result. Returns at most `ef` nodes, best first.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn search_layer(
        &self,
        rows: &Rows<'_>,
        q: &[f32],
        entry: &[Scored],
        ef: usize,
        level: usize,
        accept: &dyn Fn(u32) -> bool,
        visited: &mut Visited,
    ) -> Vec<Scored> {
        let mut todo: BinaryHeap<Scored> = BinaryHeap::with_capacity(ef * 2);
        let mut best: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(ef + 1);
        for &e in entry {
            if visited.test_and_set(e.node) {
                continue;
            }
            todo.push(e);
            if accept(e.node) {
                best.push(Reverse(e));
                if best.len() > ef {
                    best.pop();
                }
            }
        }
        let mut fresh: Vec<u32> = Vec::with_capacity(self.m0());
        while let Some(c) = todo.pop() {
            if best.len() >= ef && best.peek().is_some_and(|w| c.score < w.0.score) {
                break;
            }
            fresh.clear();
            for &nb in self.links(c.node, level) {
                if !visited.test_and_set(nb) {
                    // The first four are scored first: all of their rows; of the others the first line.
                    if fresh.len() < 4 {
                        rows.prefetch_row(nb)
                    } else {
                        rows.prefetch(nb)
                    }
                    fresh.push(nb);
                }
            }
            // Score the new neighbours four at a time (independent accumulations), then offer them in order.
            let mut scores = [0.0f32; 4];
            for (i, &nb) in fresh.iter().enumerate() {
                if i % 4 == 0 {
                    // While these four are scored, the next four rows load.
                    for &next in fresh.iter().skip(i + 4).take(4) {
                        rows.prefetch_row(next);
                    }
                    scores = if i + 4 <= fresh.len() {
                        rows.dot4(q, [fresh[i], fresh[i + 1], fresh[i + 2], fresh[i + 3]])
                    } else {
                        let mut s = [0.0f32; 4];
                        for (j, &x) in fresh[i..].iter().enumerate() {
                            s[j] = rows.dot(q, x);
                        }
                        s
                    };
                }
                let s = Scored { score: scores[i % 4], node: nb };
                let full = best.len() >= ef;
                if !full || best.peek().is_some_and(|w| s > w.0) {
                    self.prefetch_links(nb, level);
                    todo.push(s);
                    if accept(nb) {
                        best.push(Reverse(s));
                        if best.len() > ef {
                            best.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<Scored> = best.into_iter().map(|r| r.0).collect();
        out.sort_unstable_by(|a, b| b.cmp(a));
        out
    }

    /// Greedy descent from the entry point through the layers above `level` (width 1): the entry for `level`.
    pub(super) fn descend(&self, rows: &Rows<'_>, q: &[f32], level: usize) -> Option<Scored> {
        if self.entry == NO_NODE {
            return None;
        }
        let mut cur = Scored { score: rows.dot(q, self.entry), node: self.entry };
        let mut l = self.max_level as usize;
        while l > level {
            // Greedy walk on layer l: move to the best neighbour while it improves.
            loop {
                let mut moved = false;
                for &nb in self.links(cur.node, l) {
                    let s = Scored { score: rows.dot(q, nb), node: nb };
                    if s > cur {
                        cur = s;
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
            l -= 1;
        }
        Some(cur)
    }

    /// The best `k` nodes for `q` with `accept(node)`, searching layer 0 with width `max(ef, k)`; best first.
    pub fn search(&self, rows: &Rows<'_>, q: &[f32], k: usize, ef: usize, accept: &dyn Fn(u32) -> bool) -> Vec<Scored> {
        if k == 0 || self.entry == NO_NODE {
            return Vec::new();
        }
        with_visited(self.len(), |visited| {
            let Some(start) = self.descend(rows, q, 0) else { return Vec::new() };
            let mut found = self.search_layer(rows, q, &[start], ef.max(k), 0, accept, visited);
            found.truncate(k);
            found
        })
    }
}
