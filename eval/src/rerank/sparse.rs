//! Compressed sparse rows: the k-reciprocal weight vectors, whose size grows with N * k, not N^2.

/// Rows of `(column, value)` pairs, columns ascending within a row.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SparseRows {
    /// Row `r` spans `offsets[r]..offsets[r + 1]`.
    pub offsets: Vec<usize>,
    /// Column of each entry.
    pub cols: Vec<u32>,
    /// Value of each entry.
    pub vals: Vec<f32>,
}

impl SparseRows {
    /// Builds from per-row entry lists (each already sorted by column).
    pub fn from_rows(rows: Vec<Vec<(u32, f32)>>) -> Self {
        let total = rows.iter().map(Vec::len).sum();
        let mut out = SparseRows {
            offsets: Vec::with_capacity(rows.len() + 1),
            cols: Vec::with_capacity(total),
            vals: Vec::with_capacity(total),
        };
        out.offsets.push(0);
        for row in rows {
            for (c, v) in row {
                out.cols.push(c);
                out.vals.push(v);
            }
            out.offsets.push(out.cols.len());
        }
        out
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Columns and values of row `r`.
    pub fn row(&self, r: usize) -> (&[u32], &[f32]) {
        let span = self.offsets[r]..self.offsets[r + 1];
        (&self.cols[span.clone()], &self.vals[span])
    }

    /// Stored entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// The transpose restricted to rows `first_row..`: for each column, the `(row - first_row, value)` pairs with
    /// rows ascending. `cols` is the number of columns.
    pub fn transpose_from(&self, first_row: usize, cols: usize) -> SparseRows {
        let mut counts = vec![0usize; cols + 1];
        for r in first_row..self.rows() {
            for &c in self.row(r).0 {
                counts[c as usize + 1] += 1;
            }
        }
        for c in 0..cols {
            counts[c + 1] += counts[c];
        }
        let nnz = counts[cols];
        let mut fill = counts.clone();
        let mut out_cols = vec![0u32; nnz];
        let mut out_vals = vec![0f32; nnz];
        for r in first_row..self.rows() {
            let (cs, vs) = self.row(r);
            for (&c, &v) in cs.iter().zip(vs) {
                let at = &mut fill[c as usize];
                out_cols[*at] = (r - first_row) as u32;
                out_vals[*at] = v;
                *at += 1;
            }
        }
        SparseRows { offsets: counts, cols: out_cols, vals: out_vals }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_keeps_rows_ascending_and_skips_leading_rows() {
        let m = SparseRows::from_rows(vec![vec![(0, 1.0)], vec![(1, 2.0), (2, 3.0)], vec![(0, 4.0), (2, 5.0)]]);
        assert_eq!(m.nnz(), 5);
        let t = m.transpose_from(1, 3);
        assert_eq!(t.row(0), (&[1u32][..], &[4.0f32][..]));
        assert_eq!(t.row(1), (&[0u32][..], &[2.0f32][..]));
        assert_eq!(t.row(2), (&[0u32, 1][..], &[3.0f32, 5.0][..]));
    }
}
