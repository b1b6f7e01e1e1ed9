//! Batched distances between embedding sets on a blocked single-precision GEMM (`matrixmultiply`),
//! parallel over row tiles with rayon.

use crate::Matrix;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Rows of the left operand per parallel task.
const ROW_TILE: usize = 64;

/// How two embeddings are compared. Smaller is closer for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `|a - b|^2`, computed as `|a|^2 + |b|^2 - 2 a.b` and clamped at 0.
    #[default]
    SquaredEuclidean,
    /// `1 - a.b / (|a| |b|)`; a zero vector has cosine 0 with everything.
    Cosine,
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metric::SquaredEuclidean => "squared euclidean",
            Metric::Cosine => "cosine distance",
        })
    }
}

/// Two embedding sets that cannot be compared.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum DistanceError {
    /// The embedding dimensions differ.
    #[error("embedding dimensions differ: {left} (left) vs {right} (right)")]
    DimensionMismatch {
        /// Left dimension.
        left: usize,
        /// Right dimension.
        right: usize,
    },
}

/// Squared L2 norm of every row.
pub fn squared_norms(m: &Matrix) -> Vec<f32> {
    m.iter_rows().map(|r| dot(r, r)).collect()
}

/// Scales every row to unit L2 norm; all-zero rows stay zero.
pub fn l2_normalize_rows(m: &mut Matrix) {
    let cols = m.cols().max(1);
    m.as_mut_slice().par_chunks_mut(cols).for_each(l2_normalize);
}

/// Scales one vector to unit L2 norm; an all-zero vector stays zero.
pub fn l2_normalize(v: &mut [f32]) {
    let norm = dot(v, v).sqrt();
    if norm > 0.0 {
        let inv = 1.0 / norm;
        v.iter_mut().for_each(|x| *x *= inv);
    }
}

/// Cosine similarity of two vectors, accumulated in f64 (for comparing embeddings to 1e-6 and below); 0 when
/// either is all zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (f64::from(*x), f64::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 { 0.0 } else { ab / (aa.sqrt() * bb.sqrt()) }
}

/// Dot product, unrolled into independent accumulators so it vectorises.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0.0f32; LANES];
    let chunks = a.len() / LANES;
    for c in 0..chunks {
        let (x, y) = (&a[c * LANES..(c + 1) * LANES], &b[c * LANES..(c + 1) * LANES]);
        for l in 0..LANES {
            acc[l] = x[l].mul_add(y[l], acc[l]);
        }
    }
    let mut tail = 0.0f32;
    for i in chunks * LANES..a.len() {
        tail = a[i].mul_add(b[i], tail);
    }
    acc.iter().sum::<f32>() + tail
}

/// `out[i * ldo + j] = a_i . b_j` for `a` (`a_rows x dim`) and `b` (`b_rows x dim`), both row-major.
/// Single-threaded; callers parallelise over tiles.
///
/// # Panics
/// When a slice is shorter than its stated shape.
pub fn gemm_nt(a: &[f32], a_rows: usize, b: &[f32], b_rows: usize, dim: usize, out: &mut [f32], ldo: usize) {
    assert!(a.len() >= a_rows * dim && b.len() >= b_rows * dim, "gemm_nt: operand shorter than its shape");
    assert!(ldo >= b_rows && (a_rows == 0 || out.len() >= (a_rows - 1) * ldo + b_rows), "gemm_nt: output too short");
    if a_rows == 0 || b_rows == 0 {
        return;
    }
    if dim == 0 {
        for i in 0..a_rows {
            out[i * ldo..i * ldo + b_rows].fill(0.0);
        }
        return;
    }
    // SAFETY: the asserts above guarantee every index matrixmultiply touches is in bounds:
    // A is a_rows x dim with strides (dim, 1); B^T is dim x b_rows read from b with strides (1, dim);
    // C is a_rows x b_rows with strides (ldo, 1). `out` is exclusively borrowed, so no aliasing.
    unsafe {
        matrixmultiply::sgemm(
            a_rows,
            dim,
            b_rows,
            1.0,
            a.as_ptr(),
            dim as isize,
            1,
            b.as_ptr(),
            1,
            dim as isize,
            0.0,
            out.as_mut_ptr(),
            ldo as isize,
            1,
        );
    }
}

/// Turns a row of dot products into squared euclidean distances in place.
#[inline]
pub(crate) fn dots_to_sq_euclidean(row: &mut [f32], norm_i: f32, norms: &[f32]) {
    for (d, &nj) in row.iter_mut().zip(norms) {
        let v = norm_i + nj - 2.0 * *d;
        *d = if v > 0.0 { v } else { 0.0 };
    }
}

/// All distances between the rows of `a` (queries) and the rows of `b` (gallery): an `a.rows() x b.rows()` matrix.
pub fn distance_matrix(a: &Matrix, b: &Matrix, metric: Metric) -> Result<Matrix, DistanceError> {
    if a.cols() != b.cols() && a.rows() > 0 && b.rows() > 0 {
        return Err(DistanceError::DimensionMismatch { left: a.cols(), right: b.cols() });
    }
    let (n_a, n_b, dim) = (a.rows(), b.rows(), a.cols());
    let mut out = Matrix::zeros(n_a, n_b);
    if n_a == 0 || n_b == 0 {
        return Ok(out);
    }
    let (a_n, b_n);
    let (a_ref, b_ref) = match metric {
        Metric::SquaredEuclidean => (a, b),
        Metric::Cosine => {
            let mut x = a.clone();
            let mut y = b.clone();
            l2_normalize_rows(&mut x);
            l2_normalize_rows(&mut y);
            a_n = x;
            b_n = y;
            (&a_n, &b_n)
        }
    };
    let norms_a = squared_norms(a_ref);
    let norms_b = squared_norms(b_ref);
    out.as_mut_slice().par_chunks_mut(ROW_TILE * n_b).enumerate().for_each(|(t, chunk)| {
        let r0 = t * ROW_TILE;
        let rows = chunk.len() / n_b;
        gemm_nt(&a_ref.as_slice()[r0 * dim..(r0 + rows) * dim], rows, b_ref.as_slice(), n_b, dim, chunk, n_b);
        for (i, row) in chunk.chunks_exact_mut(n_b).enumerate() {
            match metric {
                Metric::SquaredEuclidean => dots_to_sq_euclidean(row, norms_a[r0 + i], &norms_b),
                Metric::Cosine => row.iter_mut().for_each(|d| *d = 1.0 - *d),
            }
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cosine_of_known_vectors() {
        use super::cosine;
        assert!((cosine(&[1.0, 0.0], &[0.0, 2.0])).abs() < 1e-12);
        assert!((cosine(&[1.0, 1.0], &[2.0, 2.0]) - 1.0).abs() < 1e-12);
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }

    use super::*;

    fn naive(a: &Matrix, b: &Matrix, metric: Metric) -> Matrix {
        let mut out = Matrix::zeros(a.rows(), b.rows());
        for i in 0..a.rows() {
            for j in 0..b.rows() {
                let (x, y) = (a.row(i), b.row(j));
                let v = match metric {
                    Metric::SquaredEuclidean => x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum::<f32>(),
                    Metric::Cosine => {
                        let (nx, ny) = (dot(x, x).sqrt(), dot(y, y).sqrt());
                        1.0 - dot(x, y) / (nx * ny)
                    }
                };
                out.as_mut_slice()[i * b.rows() + j] = v;
            }
        }
        out
    }

    fn pseudo_random(rows: usize, cols: usize, seed: u32) -> Matrix {
        let mut s = seed;
        let data = (0..rows * cols)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        Matrix::from_vec(rows, cols, data).unwrap()
    }

    #[test]
    fn matches_naive_on_odd_shapes() {
        // 131 rows spans three row tiles with a ragged last one; 37 columns is not a SIMD multiple.
        let a = pseudo_random(131, 37, 1);
        let b = pseudo_random(29, 37, 2);
        for metric in [Metric::SquaredEuclidean, Metric::Cosine] {
            let fast = distance_matrix(&a, &b, metric).unwrap();
            let slow = naive(&a, &b, metric);
            let max = fast.as_slice().iter().zip(slow.as_slice()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
            assert!(max < 1e-5, "{metric}: max diff {max}");
        }
    }

    #[test]
    fn identical_rows_are_at_zero_and_dims_checked() {
        let a = pseudo_random(3, 8, 7);
        let d = distance_matrix(&a, &a, Metric::SquaredEuclidean).unwrap();
        for i in 0..3 {
            assert!(d.get(i, i).abs() < 1e-6);
        }
        let b = pseudo_random(3, 9, 7);
        assert_eq!(
            distance_matrix(&a, &b, Metric::Cosine),
            Err(DistanceError::DimensionMismatch { left: 8, right: 9 })
        );
    }

    #[test]
    fn normalisation_gives_unit_rows_and_keeps_zero_rows() {
        let mut m = Matrix::from_rows(&[vec![3.0f32, 4.0], vec![0.0, 0.0]]).unwrap();
        l2_normalize_rows(&mut m);
        assert_eq!(m.row(0), &[0.6, 0.8]);
        assert_eq!(m.row(1), &[0.0, 0.0]);
    }
}
