//! Fixed-capacity per-row lists of the k nearest items, ordered by `(distance, index)`.
//!
//! An entry is one `u64`: the distance's bits above the item index. For non-negative distances (always
//! `+0.0` or more here) the bit pattern orders like the value, so a single integer comparison orders by
//! distance and breaks ties by index, as a stable sort would.

use crate::lanes::{LANES, any_le, any_le_each};

/// The sort key of item `j` at distance `d >= +0.0`.
#[inline]
pub(crate) fn key(d: f32, j: u32) -> u64 {
    (u64::from(d.to_bits()) << 32) | u64::from(j)
}

/// The distance of a key.
#[inline]
pub(crate) fn key_dist(k: u64) -> f32 {
    f32::from_bits((k >> 32) as u32)
}

/// The item index of a key.
#[inline]
pub(crate) fn key_index(k: u64) -> u32 {
    k as u32
}

/// The k nearest items of every row and every row's maximum distance, accumulated from tiles.
pub(crate) struct TopK {
    /// Capacity per row.
    pub k: usize,
    /// Keys, `k` slots per row, ascending; empty slots hold `u64::MAX` (which sorts last).
    pub keys: Vec<u64>,
    /// Admission threshold per row: the worst held distance once full, `+inf` before.
    pub threshold: Vec<f32>,
    /// Largest distance seen per row.
    pub max: Vec<f32>,
}

impl TopK {
    /// Empty lists for `rows` rows of capacity `k >= 1`.
    pub fn new(rows: usize, k: usize) -> Self {
        let k = k.max(1);
        Self {
            k,
            keys: vec![u64::MAX; rows * k],
            threshold: vec![f32::INFINITY; rows],
            max: vec![f32::NEG_INFINITY; rows],
        }
    }

    /// Offers item `j` at distance `d` to `row`'s list.
    #[inline]
    pub fn offer(&mut self, row: usize, d: f32, j: u32) {
        let k = self.k;
        let key = key(d, j);
        let list = &mut self.keys[row * k..(row + 1) * k];
        // Empty slots are u64::MAX, so one insertion from the end serves full and filling lists alike.
        if key >= list[k - 1] {
            return;
        }
        let mut pos = k - 1;
        while pos > 0 && key < list[pos - 1] {
            list[pos] = list[pos - 1];
            pos -= 1;
        }
        list[pos] = key;
        if list[k - 1] != u64::MAX {
            self.threshold[row] = key_dist(list[k - 1]);
        }
    }

    /// Turns one tile row of dot products into squared euclidean distances (in place) and offers them:
    /// item `c0 + c` to the list of `row` for every `c`, and item `row` to the list of `c0 + c` for
    /// `c >= col_from` (the part of the tile row below the diagonal's mirror). One pass, vectorised.
    ///
    /// `col_from` must be a multiple of [`LANES`] or at least `dots.len()`.
    pub fn scan(&mut self, row: usize, dots: &mut [f32], norm: f32, norms: &[f32], c0: usize, col_from: usize) {
        debug_assert!(col_from.is_multiple_of(LANES) || col_from >= dots.len());
        let n = dots.len();
        let mut lane_max = [f32::NEG_INFINITY; LANES];
        let mut c = 0;
        while c + LANES <= n {
            let chunk: &mut [f32; LANES] = (&mut dots[c..c + LANES]).try_into().expect("exact chunk");
            let nj: &[f32; LANES] = norms[c..c + LANES].try_into().expect("exact chunk");
            for l in 0..LANES {
                let d = norm + nj[l] - 2.0 * chunk[l];
                // `+0.0` for negatives (and never `-0.0`), so the key's bit order is the value order.
                chunk[l] = if d > 0.0 { d } else { 0.0 };
                lane_max[l] = if chunk[l] > lane_max[l] { chunk[l] } else { lane_max[l] };
            }
            let chunk = *chunk;
            if any_le(&chunk, self.threshold[row]) {
                for (o, &d) in chunk.iter().enumerate() {
                    if d <= self.threshold[row] {
                        self.offer(row, d, (c0 + c + o) as u32);
                    }
                }
            }
            if c >= col_from {
                let rows = c0 + c..c0 + c + LANES;
                let maxes: &mut [f32; LANES] = (&mut self.max[rows.clone()]).try_into().expect("exact chunk");
                for l in 0..LANES {
                    maxes[l] = if chunk[l] > maxes[l] { chunk[l] } else { maxes[l] };
                }
                let thr: &[f32; LANES] = self.threshold[rows].try_into().expect("exact chunk");
                if any_le_each(&chunk, thr) {
                    for (o, &d) in chunk.iter().enumerate() {
                        if d <= self.threshold[c0 + c + o] {
                            self.offer(c0 + c + o, d, row as u32);
                        }
                    }
                }
            }
            c += LANES;
        }
        let mut row_max = lane_max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for (o, slot) in dots[c..].iter_mut().enumerate() {
            let d = norm + norms[c + o] - 2.0 * *slot;
            let d = if d > 0.0 { d } else { 0.0 };
            *slot = d;
            row_max = row_max.max(d);
            let j = c0 + c + o;
            if d <= self.threshold[row] {
                self.offer(row, d, j as u32);
            }
            if c + o >= col_from {
                self.max[j] = self.max[j].max(d);
                if d <= self.threshold[j] {
                    self.offer(j, d, row as u32);
                }
            }
        }
        self.max[row] = self.max[row].max(row_max);
    }

    /// The filled part of `row`'s list.
    pub fn list(&self, row: usize) -> &[u64] {
        let all = &self.keys[row * self.k..(row + 1) * self.k];
        &all[..all.partition_point(|&key| key != u64::MAX)]
    }

    /// Merges `other` (built from disjoint candidates) into `self`.
    pub fn merge(&mut self, other: &TopK) {
        let k = self.k;
        let mut merged = Vec::with_capacity(k);
        for row in 0..self.max.len() {
            let (a, b) = (self.list(row), other.list(row));
            let (mut i, mut j) = (0, 0);
            merged.clear();
            while merged.len() < k && (i < a.len() || j < b.len()) {
                if j >= b.len() || (i < a.len() && a[i] < b[j]) {
                    merged.push(a[i]);
                    i += 1;
                } else {
                    merged.push(b[j]);
                    j += 1;
                }
            }
            self.keys[row * k..row * k + merged.len()].copy_from_slice(&merged);
            self.max[row] = self.max[row].max(other.max[row]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indices(t: &TopK, row: usize) -> Vec<u32> {
        t.list(row).iter().map(|&k| key_index(k)).collect()
    }

    #[test]
    fn keeps_k_smallest_with_index_tiebreak() {
        let mut t = TopK::new(1, 3);
        for (j, d) in [0.5f32, 0.1, 0.5, 0.3, 0.1, 0.9].into_iter().enumerate() {
            t.offer(0, d, j as u32);
        }
        assert_eq!(indices(&t, 0), vec![1, 4, 3]);
        assert_eq!(key_dist(t.keys[0]), 0.1);
        assert_eq!(t.threshold[0], 0.3);
    }

    #[test]
    fn key_order_is_distance_then_index() {
        assert!(key(0.0, 5) < key(1e-30, 0));
        assert!(key(0.25, 1) < key(0.25, 2));
        assert!(key(2.0, 0) < key(3.0, 0));
        assert_eq!(key_index(key(7.5, 42)), 42);
    }

    #[test]
    fn scan_matches_a_sort_in_both_directions() {
        // Dot products of a made-up row; norms 1, own norm 1: distances 2 - 2 dot, some clamped to 0.
        let n = 53;
        let dots: Vec<f32> = (0..n).map(|i| ((i * 37) % 53) as f32 / 53.0 - (if i == 9 { 1.0 } else { 0.0 })).collect();
        let norms = vec![1.0f32; n];
        let expect: Vec<f32> = dots.iter().map(|&x| (2.0 - 2.0 * x).max(0.0)).collect();
        let mut state = TopK::new(400, 5);
        let mut row = dots.clone();
        // Row 300 against items 100..153, mirrored onto the lists of items 132.. (col_from 32).
        state.scan(300, &mut row, 1.0, &norms, 100, 32);
        assert_eq!(row, expect);
        let mut sorted: Vec<(f32, u32)> = expect.iter().enumerate().map(|(i, &d)| (d, 100 + i as u32)).collect();
        sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
        assert_eq!(indices(&state, 300), sorted[..5].iter().map(|p| p.1).collect::<Vec<_>>());
        assert_eq!(state.max[300], expect.iter().copied().fold(0.0, f32::max));
        for (c, &d) in expect.iter().enumerate() {
            let listed = indices(&state, 100 + c);
            if c >= 32 {
                assert_eq!(listed, vec![300], "item {}", 100 + c);
                assert_eq!(state.max[100 + c], d);
            } else {
                assert!(listed.is_empty(), "item {} must not be offered", 100 + c);
            }
        }
    }

    #[test]
    fn merge_interleaves() {
        let mut a = TopK::new(1, 3);
        let mut b = TopK::new(1, 3);
        for (j, d) in [(0u32, 0.2f32), (2, 0.4), (4, 0.6)] {
            a.offer(0, d, j);
        }
        for (j, d) in [(1u32, 0.1f32), (3, 0.4), (5, 0.9)] {
            b.offer(0, d, j);
        }
        a.merge(&b);
        assert_eq!(indices(&a, 0), vec![1, 0, 2]);
    }
}
