//! A dense row-major `f32` matrix: the shape embeddings and distance matrices travel in.

use thiserror::Error;

/// A shape that does not fit the data it was given.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("matrix shape {rows}x{cols} needs {} values, got {len}", rows * cols)]
pub struct ShapeError {
    /// Requested rows.
    pub rows: usize,
    /// Requested columns.
    pub cols: usize,
    /// Values supplied.
    pub len: usize,
}

/// A dense row-major matrix of `f32`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f32>,
}

impl Matrix {
    /// A `rows x cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self { rows, cols, data: vec![0.0; rows * cols] }
    }

    /// Wraps row-major `data` as a `rows x cols` matrix.
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, ShapeError> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(ShapeError { rows, cols, len: data.len() });
        }
        Ok(Self { rows, cols, data })
    }

    /// Builds a matrix from equally long rows (`cols` is taken from the first row; zero rows give 0 x 0).
    pub fn from_rows<R: AsRef<[f32]>>(rows: &[R]) -> Result<Self, ShapeError> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for r in rows {
            let r = r.as_ref();
            if r.len() != cols {
                return Err(ShapeError { rows: rows.len(), cols, len: data.len() + r.len() });
            }
            data.extend_from_slice(r);
        }
        Ok(Self { rows: rows.len(), cols, data })
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Row `i` as a mutable slice.
    pub fn row_mut(&mut self, i: usize) -> &mut [f32] {
        &mut self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Element `(i, j)`.
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.data[i * self.cols + j]
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    /// All values, row-major, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes the matrix, returning its row-major values.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Iterates over rows.
    pub fn iter_rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        // `max(1)` keeps `chunks_exact` valid for zero-width matrices (which then have no data).
        self.data.chunks_exact(self.cols.max(1)).take(self.rows)
    }

    /// Stacks `self` on top of `other` (same column count).
    pub fn vstack(&self, other: &Matrix) -> Result<Matrix, ShapeError> {
        if self.cols != other.cols && self.rows > 0 && other.rows > 0 {
            return Err(ShapeError {
                rows: self.rows + other.rows,
                cols: self.cols,
                len: self.data.len() + other.data.len(),
            });
        }
        let cols = if self.rows > 0 { self.cols } else { other.cols };
        let mut data = Vec::with_capacity(self.data.len() + other.data.len());
        data.extend_from_slice(&self.data);
        data.extend_from_slice(&other.data);
        Ok(Matrix { rows: self.rows + other.rows, cols, data })
    }

    /// Index and value of the first non-finite entry, if any.
    pub fn first_non_finite(&self) -> Option<(usize, usize, f32)> {
        let pos = self.data.iter().position(|v| !v.is_finite())?;
        Some((pos / self.cols.max(1), pos % self.cols.max(1), self.data[pos]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_is_checked() {
        assert!(Matrix::from_vec(2, 3, vec![0.0; 5]).is_err());
        let m = Matrix::from_vec(2, 3, (0..6).map(|v| v as f32).collect()).unwrap();
        assert_eq!(m.row(1), &[3.0, 4.0, 5.0]);
        assert_eq!(m.get(0, 2), 2.0);
        assert_eq!(m.iter_rows().count(), 2);
        assert!(Matrix::from_rows(&[vec![1.0, 2.0], vec![3.0]]).is_err());
    }

    #[test]
    fn vstack_and_non_finite() {
        let a = Matrix::from_rows(&[[1.0f32, 2.0]]).unwrap();
        let b = Matrix::from_rows(&[[3.0f32, f32::NAN]]).unwrap();
        let c = a.vstack(&b).unwrap();
        assert_eq!(c.rows(), 2);
        assert_eq!(c.first_non_finite().map(|(i, j, _)| (i, j)), Some((1, 1)));
        assert!(a.vstack(&Matrix::from_rows(&[[1.0f32]]).unwrap()).is_err());
    }
}
