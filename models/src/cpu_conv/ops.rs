//! The three products of a convolution step over chunks of images.

use super::{Conv2dShape, MIN_COLUMNS, columns};
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
#[derive(Clone, Copy)]
struct Operand<'a, T> {
    values: &'a [T],
    strides: [usize; 2],
}

/// `dst (m x n, row-major) = [dst +] a (m x k) . b (k x n)` on the `gemm` crate, over rayon's threads.
fn matmul<T: Real>(m: usize, n: usize, k: usize, dst: &mut [T], accumulate: bool, a: Operand<T>, b: Operand<T>) {
    matmul_into(m, n, k, dst, [n, 1], accumulate, a, b);
}

/// [`matmul`] into a destination with (row, column) strides `dst_strides`.
#[allow(clippy::too_many_arguments)]
fn matmul_into<T: Real>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    dst_strides: [usize; 2],
    accumulate: bool,
    a: Operand<T>,
    b: Operand<T>,
) {
    if m == 0 || n == 0 {
        return;
    }
    // Every product here sums over channels, taps or pixels: never an empty k.
    assert!(k > 0, "matmul: empty inner dimension");
    let last = |rows: usize, cols: usize, [rs, cs]: [usize; 2]| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(m, n, dst_strides) < dst.len(), "matmul: destination too short");
    assert!(last(m, k, a.strides) < a.values.len(), "matmul: left operand too short");
    assert!(last(k, n, b.strides) < b.values.len(), "matmul: right operand too short");
    let dst = SendPtr(dst.as_mut_ptr());
    let parts = parts(m, n, k);
    // One product per part, each on one thread (`Parallelism::None`): the parts split the larger of the rows and
    // the columns of the destination, so they write disjoint elements. gemm's own `Parallelism::Rayon` forks and
    // joins once per cache block with a fixed share per thread, which measured slower at two threads than at one
    // on this project's layer shapes (`reid bench conv`, 2026-12-05).
    let by_rows = m >= n;
    let len = if by_rows { m } else { n };
    let run = |p: usize| {
        let (lo, hi) = (len * p / parts, len * (p + 1) / parts);
        let (rows, cols) = if by_rows { (hi - lo, n) } else { (m, hi - lo) };
        let (dst_at, a_at, b_at) = if by_rows {
            (lo * dst_strides[0], lo * a.strides[0], 0)
        } else {
            (lo * dst_strides[1], 0, lo * b.strides[1])
        };
        // SAFETY: the asserts above keep every element a part reads inside `a` and `b` and every element it writes
        // inside `dst` (m x n at `dst_strides`); parts write disjoint rows (or columns) of `dst`, which does not
        // alias the operands (it came from a unique borrow).
        unsafe {
            gemm::gemm(
                rows,
                cols,
                k,
                dst.at(dst_at),
                dst_strides[1] as isize,
                dst_strides[0] as isize,
                accumulate,
                a.values.as_ptr().add(a_at),
                a.strides[1] as isize,
                a.strides[0] as isize,
                b.values.as_ptr().add(b_at),
                b.strides[1] as isize,
                b.strides[0] as isize,
                T::ONE,
                T::ONE,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
    };
    if parts == 1 {
        run(0);
    } else {
        (0..parts).into_par_iter().for_each(run);
    }
}

/// A destination pointer the parts of one product share (each writes its own rows or columns).
#[derive(Clone, Copy)]
struct SendPtr<T>(*mut T);
impl<T> SendPtr<T> {
    /// The pointer `i` elements on (a method, so closures capture the whole `Sync` wrapper).
    ///
    /// # Safety
    /// `i` must stay inside the allocation the pointer came from.
    unsafe fn at(self, i: usize) -> *mut T {
        // SAFETY: the caller keeps `i` inside the allocation.
        unsafe { self.0.add(i) }
    }
}

// SAFETY: the parts that receive it write disjoint elements (see `matmul_into`).
unsafe impl<T> Send for SendPtr<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for SendPtr<T> {}

/// Products below this many multiply-adds run on one thread (gemm's own threading threshold, 48 x 48 x 256).
const PARALLEL_WORK: usize = 48 * 48 * 256;

/// Into how many single-threaded parts an `m x n x k` product splits: one per rayon thread, none narrower than
/// 16 rows or columns, one for small products.
fn parts(m: usize, n: usize, k: usize) -> usize {
    let threads = rayon::current_num_threads();
    if threads <= 1 || m.saturating_mul(n).saturating_mul(k) < PARALLEL_WORK {
        return 1;
    }
    threads.min(m.max(n) / 16).max(1)
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

/// How the column buffer is laid out (see `columns`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    /// `k x pixels`, from NCHW rows.
    Planar,
    /// `pixels x k`, from NHWC runs of `cin`.
    Interleaved,
}

/// How the products of one op are organised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Mode {
    /// One product per image, straight from and into NCHW (planar columns): maps of [`MIN_COLUMNS`] pixels or more.
    PerImage,
    /// One product per chunk of images, through a gathered output gradient and a scattered output: small maps.
    Batched(Layout),
}

impl Mode {
    /// Per image for large maps; batched below, interleaved for kernels larger than 1x1.
    fn for_shape(s: &Conv2dShape, pixels: usize) -> Mode {
        if pixels >= MIN_COLUMNS {
            Mode::PerImage
        } else if s.kernel[0] * s.kernel[1] > 1 {
            Mode::Batched(Layout::Interleaved)
        } else {
            Mode::Batched(Layout::Planar)
        }
    }
}

/// The sizes every op needs, checked.
struct Plan {
    out: [usize; 2],
    k: usize,
    taps: usize,
    pixels: usize,
    chunk: usize,
    mode: Mode,
    /// A 1x1 kernel at stride 1 without padding: image `b`'s planar columns are its input itself.
    pointwise: bool,
}

impl Plan {
    fn new(s: &Conv2dShape, chunk: Option<usize>, mode: Option<Mode>) -> Result<Plan, String> {
        let out = s.out()?;
        let pixels = out[0] * out[1];
        let chunk = chunk.unwrap_or_else(|| s.chunk(pixels)).clamp(1, s.batch);
        let taps = s.kernel[0] * s.kernel[1];
        let pointwise = taps == 1 && s.stride == [1, 1] && s.padding == [0, 0];
        let mode = mode.unwrap_or(Mode::for_shape(s, pixels));
        Ok(Plan { out, k: s.k(), taps, pixels, chunk, mode, pointwise })
    }

    /// `(b0, nb, n)` per chunk: first image, images, columns.
    fn chunks(&self, batch: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..batch).step_by(self.chunk).map(move |b0| {
            let nb = self.chunk.min(batch - b0);
            (b0, nb, nb * self.pixels)
        })
    }

    /// Per image: the planar columns of images `b0..b0 + nb` (the input itself when pointwise, else filled into
    /// `col`) and the (values, row stride) image `bi`'s `k x pixels` block starts at.
    fn planar<'a, T: Real>(
        &self,
        s: &Conv2dShape,
        x: &'a [T],
        (b0, nb, n): (usize, usize, usize),
        col: &'a mut [T],
    ) -> (&'a [T], usize, usize) {
        if self.pointwise {
            let plane = s.cin * self.pixels;
            (&x[b0 * plane..(b0 + nb) * plane], plane, self.pixels)
        } else {
            columns::im2col(s, self.out, x, b0, nb, &mut col[..self.k * n]);
            (&col[..self.k * n], self.pixels, n)
        }
    }
}

/// `out` block of images `b0..b0 + nb` from `y` (`cout x nb * pixels`), plus the bias.
fn scatter_output<T: Real>(
    s: &Conv2dShape,
    pixels: usize,
    y: &[T],
    b0: usize,
    nb: usize,
    out: &mut [T],
    bias: Option<&[T]>,
) {
    let n = nb * pixels;
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

/// The convolution of `x` (NCHW) with `weight` (`[cout, cin, kh, kw]`) plus `bias` (`cout`): NCHW output.
pub fn forward<T: Real>(s: &Conv2dShape, x: &[T], weight: &[T], bias: Option<&[T]>) -> Result<Vec<T>, String> {
    forward_with(s, x, weight, bias, None, None)
}

/// [`forward`] with `chunk` images per column buffer and the mode (None: chosen by the shape).
pub(super) fn forward_with<T: Real>(
    s: &Conv2dShape,
    x: &[T],
    weight: &[T],
    bias: Option<&[T]>,
    chunk: Option<usize>,
    mode: Option<Mode>,
) -> Result<Vec<T>, String> {
    let plan = Plan::new(s, chunk, mode)?;
    let (k, pixels, taps) = (plan.k, plan.pixels, plan.taps);
    check_len("input", x.len(), s.batch * s.cin * s.h * s.w)?;
    check_len("weight", weight.len(), s.cout * k)?;
    if let Some(b) = bias {
        check_len("bias", b.len(), s.cout)?;
    }
    let mut out = vec![T::ZERO; s.batch * s.cout * pixels];
    let mut col =
        if plan.pointwise && plan.mode == Mode::PerImage { Vec::new() } else { vec![T::ZERO; k * plan.chunk * pixels] };
    let mut y = if plan.mode == Mode::PerImage { Vec::new() } else { vec![T::ZERO; s.cout * plan.chunk * pixels] };
    let mut xh = Vec::new();
    let w = |rs| Operand { values: weight, strides: rs };
    for part in plan.chunks(s.batch) {
        let (b0, nb, n) = part;
        match plan.mode {
            Mode::PerImage => {
                let (cols, step, rs) = plan.planar(s, x, part, &mut col);
                for bi in 0..nb {
                    let dst = &mut out[(b0 + bi) * s.cout * pixels..][..s.cout * pixels];
                    let c = Operand { values: &cols[bi * step..], strides: [rs, 1] };
                    matmul_into(s.cout, pixels, k, dst, [pixels, 1], false, w([k, 1]), c);
                    if let Some(b) = bias {
                        dst.par_chunks_mut(pixels).zip(b).for_each(|(o, &v)| o.iter_mut().for_each(|d| *d += v));
                    }
                }
            }
            Mode::Batched(Layout::Planar) => {
                columns::im2col(s, plan.out, x, b0, nb, &mut col[..k * n]);
                matmul(s.cout, n, k, &mut y, false, w([k, 1]), Operand { values: &col[..k * n], strides: [n, 1] });
                scatter_output(s, pixels, &y, b0, nb, &mut out, bias);
            }
            Mode::Batched(Layout::Interleaved) => {
                xh.resize(nb * s.h * s.w * s.cin, T::ZERO);
                columns::to_nhwc(s, x, b0, nb, &mut xh);
                columns::im2col_nhwc(s, plan.out, &xh, nb, &mut col[..k * n]);
                // One product per kernel tap, accumulated: tap t's weights are every taps-th value from t, its
                // columns entries t*cin.. of each buffer row.
                for t in 0..taps {
                    let wt = Operand { values: &weight[t..], strides: [s.cin * taps, taps] };
                    let ct = Operand { values: &col[t * s.cin..k * n], strides: [1, k] };
                    matmul_into(s.cout, n, s.cin, &mut y, [n, 1], t > 0, wt, ct);
                }
                scatter_output(s, pixels, &y, b0, nb, &mut out, bias);
            }
        }
    }
    Ok(out)
}

/// The gradient with respect to the input (NCHW) of the convolution with `weight`, given the output's `dy`.
pub fn input_grad<T: Real>(s: &Conv2dShape, weight: &[T], dy: &[T]) -> Result<Vec<T>, String> {
    input_grad_with(s, weight, dy, None, None)
}

/// [`input_grad`] with `chunk` images per column buffer and the mode.
pub(super) fn input_grad_with<T: Real>(
    s: &Conv2dShape,
    weight: &[T],
    dy: &[T],
    chunk: Option<usize>,
    mode: Option<Mode>,
) -> Result<Vec<T>, String> {
    let plan = Plan::new(s, chunk, mode)?;
    let (k, pixels, taps) = (plan.k, plan.pixels, plan.taps);
    check_len("weight", weight.len(), s.cout * k)?;
    check_len("output gradient", dy.len(), s.batch * s.cout * pixels)?;
    let plane = s.cin * s.h * s.w;
    let mut dx = vec![T::ZERO; s.batch * plane];
    let batched = plan.mode != Mode::PerImage;
    let mut dyc = if batched { vec![T::ZERO; s.cout * plan.chunk * pixels] } else { Vec::new() };
    let direct = plan.pointwise && !batched;
    let mut dcol = if direct { Vec::new() } else { vec![T::ZERO; k * plan.chunk * pixels] };
    let mut dxh = Vec::new();
    // W^T: element (tap, co) of the weight read column-wise.
    let wt = Operand { values: weight, strides: [1, k] };
    for (b0, nb, n) in plan.chunks(s.batch) {
        match plan.mode {
            Mode::PerImage => {
                for bi in 0..nb {
                    let g =
                        Operand { values: &dy[(b0 + bi) * s.cout * pixels..][..s.cout * pixels], strides: [pixels, 1] };
                    let wt = Operand { ..wt };
                    if direct {
                        matmul_into(
                            s.cin,
                            pixels,
                            s.cout,
                            &mut dx[(b0 + bi) * plane..][..plane],
                            [pixels, 1],
                            false,
                            wt,
                            g,
                        );
                    } else {
                        matmul_into(k, pixels, s.cout, &mut dcol[bi * pixels..k * n], [n, 1], false, wt, g);
                    }
                }
                if !direct {
                    columns::col2im(s, plan.out, &dcol[..k * n], b0, nb, &mut dx);
                }
            }
            Mode::Batched(Layout::Planar) => {
                gather_channels(s, pixels, dy, b0, nb, &mut dyc);
                let g = Operand { values: &dyc[..s.cout * n], strides: [n, 1] };
                matmul(k, n, s.cout, &mut dcol, false, Operand { ..wt }, g);
                columns::col2im(s, plan.out, &dcol[..k * n], b0, nb, &mut dx);
            }
            Mode::Batched(Layout::Interleaved) => {
                gather_channels(s, pixels, dy, b0, nb, &mut dyc);
                // dcol (n x k), tap by tap: dY^T . W[:, :, t] into entries t*cin.. of each row.
                for t in 0..taps {
                    let gt = Operand { values: &dyc[..s.cout * n], strides: [1, n] };
                    let w = Operand { values: &weight[t..], strides: [s.cin * taps, taps] };
                    matmul_into(n, s.cin, s.cout, &mut dcol[t * s.cin..k * n], [k, 1], false, gt, w);
                }
                dxh.clear();
                dxh.resize(nb * s.h * s.w * s.cin, T::ZERO);
                columns::col2im_nhwc(s, plan.out, &dcol[..k * n], nb, &mut dxh);
                columns::from_nhwc(s, &dxh, b0, nb, &mut dx);
            }
        }
    }
    Ok(dx)
}

/// The gradient with respect to the weight (`[cout, cin, kh, kw]`) of the convolution of `x`, given `dy`.
pub fn weight_grad<T: Real>(s: &Conv2dShape, x: &[T], dy: &[T]) -> Result<Vec<T>, String> {
    weight_grad_with(s, x, dy, None, None)
}

/// [`weight_grad`] with `chunk` images per column buffer and the mode.
pub(super) fn weight_grad_with<T: Real>(
    s: &Conv2dShape,
    x: &[T],
    dy: &[T],
    chunk: Option<usize>,
    mode: Option<Mode>,
) -> Result<Vec<T>, String> {
    let plan = Plan::new(s, chunk, mode)?;
    let (k, pixels, taps) = (plan.k, plan.pixels, plan.taps);
    check_len("input", x.len(), s.batch * s.cin * s.h * s.w)?;
    check_len("output gradient", dy.len(), s.batch * s.cout * pixels)?;
    let mut dw = vec![T::ZERO; s.cout * k];
    let batched = plan.mode != Mode::PerImage;
    let mut dyc = if batched { vec![T::ZERO; s.cout * plan.chunk * pixels] } else { Vec::new() };
    let mut col = if plan.pointwise && !batched { Vec::new() } else { vec![T::ZERO; k * plan.chunk * pixels] };
    let mut xh = Vec::new();
    for part in plan.chunks(s.batch) {
        let (b0, nb, n) = part;
        match plan.mode {
            Mode::PerImage => {
                let (cols, step, rs) = plan.planar(s, x, part, &mut col);
                for bi in 0..nb {
                    let g =
                        Operand { values: &dy[(b0 + bi) * s.cout * pixels..][..s.cout * pixels], strides: [pixels, 1] };
                    // dW += dY_b . col_b^T: the columns read transposed.
                    let ct = Operand { values: &cols[bi * step..], strides: [1, rs] };
                    matmul(s.cout, k, pixels, &mut dw, b0 + bi > 0, g, ct);
                }
            }
            Mode::Batched(Layout::Planar) => {
                columns::im2col(s, plan.out, x, b0, nb, &mut col[..k * n]);
                gather_channels(s, pixels, dy, b0, nb, &mut dyc);
                let g = Operand { values: &dyc[..s.cout * n], strides: [n, 1] };
                matmul(s.cout, k, n, &mut dw, b0 > 0, g, Operand { values: &col[..k * n], strides: [1, n] });
            }
            Mode::Batched(Layout::Interleaved) => {
                xh.resize(nb * s.h * s.w * s.cin, T::ZERO);
                columns::to_nhwc(s, x, b0, nb, &mut xh);
                columns::im2col_nhwc(s, plan.out, &xh, nb, &mut col[..k * n]);
                gather_channels(s, pixels, dy, b0, nb, &mut dyc);
                // One product per kernel tap, written straight into the [cout, cin, kh, kw] order.
                for t in 0..taps {
                    let g = Operand { values: &dyc[..s.cout * n], strides: [n, 1] };
                    let ct = Operand { values: &col[t * s.cin..k * n], strides: [k, 1] };
                    matmul_into(s.cout, s.cin, n, &mut dw[t..], [s.cin * taps, taps], b0 > 0, g, ct);
                }
            }
        }
    }
    Ok(dw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `dst[i, j] (+)= sum_l a[i, l] b[l, j]` by definition, at the given strides.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        m: usize,
        n: usize,
        k: usize,
        dst: &mut [f64],
        ds: [usize; 2],
        acc: bool,
        a: Operand<f64>,
        b: Operand<f64>,
    ) {
        for i in 0..m {
            for j in 0..n {
                let sum: f64 = (0..k)
                    .map(|l| {
                        a.values[i * a.strides[0] + l * a.strides[1]] * b.values[l * b.strides[0] + j * b.strides[1]]
                    })
                    .sum();
                let d = &mut dst[i * ds[0] + j * ds[1]];
                *d = if acc { *d + sum } else { sum };
            }
        }
    }

    #[test]
    fn split_products_equal_the_definition_by_rows_and_by_columns() {
        let value = |i: usize| ((i * 7919 % 1013) as f64 / 1013.0) - 0.5;
        // Tall (split by rows), wide (by columns) and one under the threading threshold; the wide one reads `a`
        // transposed and writes a strided destination (every other column), as the per-tap products do.
        for (m, n, k, transposed, spread) in [(300, 40, 70, false, 1), (24, 500, 60, true, 2), (10, 10, 10, false, 1)] {
            let a: Vec<f64> = (0..m * k).map(value).collect();
            let b: Vec<f64> = (0..k * n).map(|i| value(i + 17)).collect();
            let oa = Operand { values: &a, strides: if transposed { [1, m] } else { [k, 1] } };
            let ob = Operand { values: &b, strides: [n, 1] };
            let ds = [n * spread, spread];
            let init: Vec<f64> = (0..m * n * spread).map(|i| value(i + 5)).collect();
            for threads in [2, 3] {
                for acc in [false, true] {
                    let (mut got, mut want) = (init.clone(), init.clone());
                    naive(m, n, k, &mut want, ds, acc, oa, ob);
                    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                    pool.install(|| {
                        assert_eq!(parts(m, n, k), if m * n * k < PARALLEL_WORK { 1 } else { threads });
                        matmul_into(m, n, k, &mut got, ds, acc, oa, ob);
                    });
                    let worst = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
                    assert!(worst < 1e-12, "{m}x{n}x{k} threads {threads} accumulate {acc}: off by {worst}");
                }
            }
        }
    }
}
