//! Bounded top-k selection by score (highest first), ties broken by the smaller id so results are deterministic.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// One search result: a gallery id and its inner-product (cosine) score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// Gallery id.
    pub id: u64,
    /// Inner product of the normalised query and gallery vectors (cosine similarity).
    pub score: f32,
}

/// The ranking order: higher score first, then smaller id.
#[inline]
pub fn rank_order(a: &Hit, b: &Hit) -> Ordering {
    b.score.total_cmp(&a.score).then(a.id.cmp(&b.id))
}

/// Heap entry ordered so the heap's top is the worst kept hit.
#[derive(Clone, Copy, Debug)]
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        rank_order(&self.0, &other.0)
    }
}

/// The best `k` hits seen so far.
#[derive(Clone, Debug)]
pub struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    /// An empty selection of at most `k` hits.
    pub fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    /// A score below which nothing can enter: the worst kept score once full, else negative infinity.
    /// A score equal to it may still enter on a smaller id.
    #[inline]
    pub fn floor(&self) -> f32 {
        if self.heap.len() < self.k {
            f32::NEG_INFINITY
        } else {
            self.heap.peek().map_or(f32::NEG_INFINITY, |w| w.0.score)
        }
    }

    /// Offers a hit; keeps it when it ranks among the best `k`.
    #[inline]
    pub fn push(&mut self, hit: Hit) {
        if self.k == 0 {
            return;
        }
        if self.heap.len() < self.k {
            self.heap.push(Worst(hit));
        } else if let Some(mut top) = self.heap.peek_mut()
            && rank_order(&hit, &top.0) == Ordering::Less
        {
            *top = Worst(hit);
        }
    }

    /// Adds every hit of `other`.
    pub fn merge(&mut self, other: TopK) {
        for w in other.heap {
            self.push(w.0);
        }
    }

    /// Hits kept so far.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// The kept hits, best first.
    pub fn into_sorted(self) -> Vec<Hit> {
        let mut v: Vec<Hit> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_by(rank_order);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_best_with_id_tie_break() {
        let mut t = TopK::new(3);
        for (id, score) in [(5, 0.5), (1, 0.9), (7, 0.5), (3, 0.5), (2, 0.1), (9, 0.95)] {
            t.push(Hit { id, score });
        }
        let ids: Vec<u64> = t.into_sorted().iter().map(|h| h.id).collect();
        // 0.95 (9), 0.9 (1), then the 0.5 tie goes to the smallest id, 3.
        assert_eq!(ids, vec![9, 1, 3]);
    }

    #[test]
    fn merge_equals_single_pass_and_k_zero_keeps_nothing() {
        let hits: Vec<Hit> = (0..50).map(|i| Hit { id: i, score: ((i * 37) % 11) as f32 }).collect();
        let mut all = TopK::new(7);
        hits.iter().for_each(|&h| all.push(h));
        let (mut a, mut b) = (TopK::new(7), TopK::new(7));
        hits[..20].iter().for_each(|&h| a.push(h));
        hits[20..].iter().for_each(|&h| b.push(h));
        a.merge(b);
        assert_eq!(a.into_sorted(), all.into_sorted());
        let mut z = TopK::new(0);
        z.push(hits[0]);
        assert!(z.is_empty());
    }
}
