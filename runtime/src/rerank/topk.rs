//! Fixed-capacity per-row lists of the k nearest items, ordered by `(distance, index)`.

use crate::lanes::{LANES, any_le, any_le_each};

/// `(d_a, a)` sorts before `(d_b, b)`: smaller distance first, ties by smaller index (a stable sort's order).
#[inline]
pub(crate) fn before(d_a: f32, a: u32, d_b: f32, b: u32) -> bool {
    d_a < d_b || (d_a == d_b && a < b)
}

/// The k nearest items of every row and every row's maximum distance, accumulated from tiles.
pub(crate) struct TopK {
    /// Capacity per row.
    pub k: usize,
    /// Entries held per row.
    pub len: Vec<u32>,
    /// Distances, `k` slots per row, sorted within the first `len[row]`.
    pub dist: Vec<f32>,
    /// Item indices parallel to `dist`.
    pub idx: Vec<u32>,
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
            len: vec![0; rows],
            dist: vec![f32::INFINITY; rows * k],
            idx: vec![u32::MAX; rows * k],
            threshold: vec![f32::INFINITY; rows],
            max: vec![f32::NEG_INFINITY; rows],
        }
    }

    /// Offers item `j` at distance `d` to `row`'s list.
    #[inline]
    pub fn offer(&mut self, row: usize, d: f32, j: u32) {
        let k = self.k;
        let base = row * k;
        let len = self.len[row] as usize;
        let mut pos = if len == k {
            if !before(d, j, self.dist[base + k - 1], self.idx[base + k - 1]) {
                return;
            }
            k - 1
        } else {
            self.len[row] += 1;
            len
        };
        while pos > 0 && before(d, j, self.dist[base + pos - 1], self.idx[base + pos - 1]) {
            self.dist[base + pos] = self.dist[base + pos - 1];
            self.idx[base + pos] = self.idx[base + pos - 1];
            pos -= 1;
        }
        self.dist[base + pos] = d;
        self.idx[base + pos] = j;
        if self.len[row] as usize == k {
            self.threshold[row] = self.dist[base + k - 1];
        }
    }

    /// Offers a whole row of distances `ds` to items `first..first + ds.len()` for list `row`.
    pub fn offer_row(&mut self, row: usize, ds: &[f32], first: u32) {
        let mut lane_max = [f32::NEG_INFINITY; LANES];
        let mut chunks = ds.chunks_exact(LANES);
        let mut base = first;
        for chunk in &mut chunks {
            let chunk: &[f32; LANES] = chunk.try_into().expect("exact chunk");
            for l in 0..LANES {
                lane_max[l] = if chunk[l] > lane_max[l] { chunk[l] } else { lane_max[l] };
            }
            if any_le(chunk, self.threshold[row]) {
                for (o, &d) in chunk.iter().enumerate() {
                    if d <= self.threshold[row] {
                        self.offer(row, d, base + o as u32);
                    }
                }
            }
            base += LANES as u32;
        }
        for (o, &d) in chunks.remainder().iter().enumerate() {
            lane_max[0] = lane_max[0].max(d);
            if d <= self.threshold[row] {
                self.offer(row, d, base + o as u32);
            }
        }
        let m = lane_max.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        self.max[row] = self.max[row].max(m);
    }

    /// Offers item `j` at distance `ds[c]` to the lists of rows `first_row + c`: a tile row read as a column.
    pub fn offer_column(&mut self, ds: &[f32], first_row: usize, j: u32) {
        let n = ds.len();
        let rows = first_row..first_row + n;
        for (m, &d) in self.max[rows.clone()].iter_mut().zip(ds) {
            *m = if d > *m { d } else { *m };
        }
        let mut c = 0;
        while c + LANES <= n {
            let chunk: &[f32; LANES] = ds[c..c + LANES].try_into().expect("exact chunk");
            let thr: &[f32; LANES] =
                self.threshold[first_row + c..first_row + c + LANES].try_into().expect("exact chunk");
            if any_le_each(chunk, thr) {
                for (o, &d) in chunk.iter().enumerate() {
                    if d <= self.threshold[first_row + c + o] {
                        self.offer(first_row + c + o, d, j);
                    }
                }
            }
            c += LANES;
        }
        for (o, &d) in ds[c..].iter().enumerate() {
            if d <= self.threshold[first_row + c + o] {
                self.offer(first_row + c + o, d, j);
            }
        }
    }

    /// Merges `other` (built from disjoint candidates) into `self`.
    pub fn merge(&mut self, other: &TopK) {
        let k = self.k;
        let mut d = Vec::with_capacity(k);
        let mut x = Vec::with_capacity(k);
        for row in 0..self.len.len() {
            let base = row * k;
            let (la, lb) = (self.len[row] as usize, other.len[row] as usize);
            let (mut a, mut b) = (0, 0);
            d.clear();
            x.clear();
            while d.len() < k && (a < la || b < lb) {
                let take_a = b >= lb
                    || (a < la
                        && before(self.dist[base + a], self.idx[base + a], other.dist[base + b], other.idx[base + b]));
                if take_a {
                    d.push(self.dist[base + a]);
                    x.push(self.idx[base + a]);
                    a += 1;
                } else {
                    d.push(other.dist[base + b]);
                    x.push(other.idx[base + b]);
                    b += 1;
                }
            }
            self.dist[base..base + d.len()].copy_from_slice(&d);
            self.idx[base..base + x.len()].copy_from_slice(&x);
            self.len[row] = d.len() as u32;
            self.max[row] = self.max[row].max(other.max[row]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_k_smallest_with_index_tiebreak() {
        let mut t = TopK::new(1, 3);
        for (j, d) in [0.5f32, 0.1, 0.5, 0.3, 0.1, 0.9].into_iter().enumerate() {
            t.offer(0, d, j as u32);
        }
        assert_eq!(&t.idx[..3], &[1, 4, 3]);
        assert_eq!(&t.dist[..3], &[0.1, 0.1, 0.3]);
        assert_eq!(t.threshold[0], 0.3);
    }

    #[test]
    fn row_and_column_offers_agree_with_a_sort() {
        let ds: Vec<f32> = (0..53).map(|i| ((i * 37) % 53) as f32 / 7.0).collect();
        let mut by_row = TopK::new(1, 5);
        by_row.offer_row(0, &ds, 100);
        let mut by_col = TopK::new(53, 5);
        by_col.offer_column(&ds, 0, 7);
        let mut sorted: Vec<(f32, u32)> = ds.iter().enumerate().map(|(i, &d)| (d, 100 + i as u32)).collect();
        sorted.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
        assert_eq!(&by_row.idx[..5], &sorted[..5].iter().map(|p| p.1).collect::<Vec<_>>()[..]);
        assert_eq!(by_row.max[0], 52.0 / 7.0);
        assert_eq!(by_col.len.iter().filter(|&&l| l == 1).count(), 53);
        assert_eq!(by_col.max[3], ds[3]);
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
        assert_eq!(&a.idx[..3], &[1, 0, 2]);
        assert_eq!(&a.dist[..3], &[0.1, 0.2, 0.4]);
    }
}
