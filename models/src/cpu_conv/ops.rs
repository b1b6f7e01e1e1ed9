//! The three products of a convolution step over chunks of images.

use super::{Conv2dShape, columns};
use rayon::prelude::*;

/// The float types the products run in (f32 for training, f64 for the parity runs).
pub trait Real: Copy + Send + Sync + 'static + std::ops::Add<Output = Self> + std::ops::AddAssign {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
}

impl Real for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
}

impl Real for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
}

/// A matrix operand: its values and (row, column) strides.
struct Operand<'a, T> {
    values: &'a [T],
    strides: [usize; 2],
}

/// `dst (m x n, row-major) = [dst +] a (m x k) . b (k x n)` on the `gemm` crate, over rayon's threads.
fn matmul<T: Real>(m: usize, n: usize, k: usize, dst: &mut [T], accumulate: bool, a: Operand<T>, b: Operand<T>) {
    assert!(dst.len() >= m * n, "matmul: destination too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::ZERO);
        }
        return;
    }
    let last = |rows: usize, cols: usize, [rs, cs]: [usize; 2]| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(m, k, a.strides) < a.values.len(), "matmul: left operand too short");
    assert!(last(k, n, b.strides) < b.values.len(), "matmul: right operand too short");
    let parallelism = match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        threads => gemm::Parallelism::Rayon(threads),
    };
    // SAFETY: the asserts above keep every element the product reads inside `a` and `b` and every element it
    // writes inside `dst` (row-major, m x n); `dst` does not alias the operands (a unique borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.values.as_ptr(),
            a.strides[1] as isize,
            a.strides[0] as isize,
            b.values.as_ptr(),
            b.strides[1] as isize,
            b.strides[0] as isize,
            T::ONE,
            T::ONE,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// An error unless `len == expected`, naming the operand.
fn check_len(what: &str, len: usize, expected: usize) -> Result<(), String> {
    if len == expected { Ok(()) } else { Err(format!("convolution {what}: {len} values, expected {expected}")) }
}

/// The output gradient of images `b0..b0 + nb` as a `cout x (nb * pixels)` matrix (from NCHW).
fn gather_channels<T: Real>(s: &Conv2dShape, pixels: usize, dy: &[T], b0: usize, nb: usize, out: &mut [T]) {
    let n = nb * pixels;
    out[..s.cout * n].par_chunks_mut(n).enumerate().for_each(|(co, row)| {
        for bi in 0..nb {
            row[bi * pixels..][..pixels].copy_from_slice(&dy[((b0 + bi) * s.cout + co) * pixels..][..pixels]);
        }
    });
}

/// The convolution of `x` (NCHW) with `weight` (`[cout, cin, kh, kw]`) plus `bias` (`cout`): NCHW output.
pub fn forward<T: Real>(s: &Conv2dShape, x: &[T], weight: &[T], bias: Option<&[T]>) -> Result<Vec<T>, String> {
    forward_chunked(s, x, weight, bias, None)
}

/// [`forward`] with `chunk` images per product (None: as many as [`super::COLUMN_LIMIT`] allows).
pub(super) fn forward_chunked<T: Real>(
    s: &Conv2dShape,
    x: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    chunk: Option<usize>,
) -> Result<Vec<T>, String> {
    let [oh, ow] = s.out()?;
    let (k, pixels) = (s.k(), oh * ow);
    check_len("input", x.len(), s.batch * s.cin * s.h * s.w)?;
    check_len("weight", weight.len(), s.cout * k)?;
    if let Some(b) = bias {
        check_len("bias", b.len(), s.cout)?;
    }
    let chunk = chunk.unwrap_or_else(|| s.chunk(pixels)).clamp(1, s.batch);
    let mut out = vec![T::ZERO; s.batch * s.cout * pixels];
    let mut col = vec![T::ZERO; k * chunk * pixels];
    let mut y = vec![T::ZERO; s.cout * chunk * pixels];
    for b0 in (0..s.batch).step_by(chunk) {
        let nb = chunk.min(s.batch - b0);
        let n = nb * pixels;
        columns::im2col(s, [oh, ow], x, b0, nb, &mut col[..k * n]);
        let (w, c) = (Operand { values: weight, strides: [k, 1] }, Operand { values: &col[..k * n], strides: [n, 1] });
        matmul(s.cout, n, k, &mut y, false, w, c);
        let block = &mut out[b0 * s.cout * pixels..(b0 + nb) * s.cout * pixels];
        block.par_chunks_mut(pixels).enumerate().for_each(|(t, o)| {
            let (bi, co) = (t / s.cout, t % s.cout);
            let src = &y[co * n + bi * pixels..][..pixels];
            match bias {
                Some(b) => o.iter_mut().zip(src).for_each(|(d, &v)| *d = v + b[co]),
                None => o.copy_from_slice(src),
            }
        });
    }
    Ok(out)
}

/// The gradient with respect to the input (NCHW) of the convolution with `weight`, given the output's `dy`.
pub fn input_grad<T: Real>(s: &Conv2dShape, weight: &[T], dy: &[T]) -> Result<Vec<T>, String> {
    input_grad_chunked(s, weight, dy, None)
}

/// [`input_grad`] with `chunk` images per product.
pub(super) fn input_grad_chunked<T: Real>(
    s: &Conv2dShape,
    weight: &[T],
    dy: &[T],
    chunk: Option<usize>,
) -> Result<Vec<T>, String> {
    let [oh, ow] = s.out()?;
    let (k, pixels) = (s.k(), oh * ow);
    check_len("weight", weight.len(), s.cout * k)?;
    check_len("output gradient", dy.len(), s.batch * s.cout * pixels)?;
    let chunk = chunk.unwrap_or_else(|| s.chunk(pixels)).clamp(1, s.batch);
    let mut dx = vec![T::ZERO; s.batch * s.cin * s.h * s.w];
    let mut dyc = vec![T::ZERO; s.cout * chunk * pixels];
    let mut dcol = vec![T::ZERO; k * chunk * pixels];
    for b0 in (0..s.batch).step_by(chunk) {
        let nb = chunk.min(s.batch - b0);
        let n = nb * pixels;
        gather_channels(s, pixels, dy, b0, nb, &mut dyc);
        // W^T: element (tap, co) of the weight read column-wise.
        let wt = Operand { values: weight, strides: [1, k] };
        matmul(k, n, s.cout, &mut dcol, false, wt, Operand { values: &dyc[..s.cout * n], strides: [n, 1] });
        columns::col2im(s, [oh, ow], &dcol[..k * n], b0, nb, &mut dx);
    }
    Ok(dx)
}

/// The gradient with respect to the weight (`[cout, cin, kh, kw]`) of the convolution of `x`, given `dy`.
pub fn weight_grad<T: Real>(s: &Conv2dShape, x: &[T], dy: &[T]) -> Result<Vec<T>, String> {
    weight_grad_chunked(s, x, dy, None)
}

/// [`weight_grad`] with `chunk` images per product.
pub(super) fn weight_grad_chunked<T: Real>(
    s: &Conv2dShape,
    x: &[T],
    dy: &[T],
    chunk: Option<usize>,
) -> Result<Vec<T>, String> {
    let [oh, ow] = s.out()?;
    let (k, pixels) = (s.k(), oh * ow);
    check_len("input", x.len(), s.batch * s.cin * s.h * s.w)?;
    check_len("output gradient", dy.len(), s.batch * s.cout * pixels)?;
    let chunk = chunk.unwrap_or_else(|| s.chunk(pixels)).clamp(1, s.batch);
    let mut dw = vec![T::ZERO; s.cout * k];
    let mut dyc = vec![T::ZERO; s.cout * chunk * pixels];
    let mut col = vec![T::ZERO; k * chunk * pixels];
    for b0 in (0..s.batch).step_by(chunk) {
        let nb = chunk.min(s.batch - b0);
        let n = nb * pixels;
        columns::im2col(s, [oh, ow], x, b0, nb, &mut col[..k * n]);
        gather_channels(s, pixels, dy, b0, nb, &mut dyc);
        // col^T: element (pixel, tap) of the column buffer read column-wise.
        let (g, ct) = (
            Operand { values: &dyc[..s.cout * n], strides: [n, 1] },
            Operand { values: &col[..k * n], strides: [1, n] },
        );
        matmul(s.cout, k, n, &mut dw, b0 > 0, g, ct);
    }
    Ok(dw)
}
