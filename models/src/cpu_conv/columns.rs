//! The column buffer: `col[(ci, ki, kj), (b, oy, ox)]` = the input pixel that kernel tap `(ki, kj)` of input
//! channel `ci` meets at output pixel `(oy, ox)` of image `b` (zero in the padding), and its adjoint.

use super::Conv2dShape;
use super::ops::Real;
use rayon::prelude::*;

/// The input row that output row `o` meets at kernel tap `t` along one axis (None in the padding).
#[inline]
fn source(o: usize, t: usize, stride: usize, dilation: usize, padding: usize, len: usize) -> Option<usize> {
    (o * stride + t * dilation).checked_sub(padding).filter(|&i| i < len)
}

/// The outputs `lo..hi` (of `out`) whose input at tap `t` lies inside `0..len` along one axis (an empty range when
/// none does); the input of output `lo + j` is then `first + j * stride`. Returns `(lo, hi, first)`.
fn inside(out: usize, t: usize, stride: usize, dilation: usize, padding: usize, len: usize) -> (usize, usize, usize) {
    let offset = t * dilation;
    // Input i = o * stride + offset - padding: i >= 0 from lo on, i < len up to hi.
    let lo = padding.saturating_sub(offset).div_ceil(stride).min(out);
    let hi = if len + padding > offset { ((len + padding - offset - 1) / stride + 1).min(out) } else { 0 };
    if hi <= lo { (0, 0, 0) } else { (lo, hi, lo * stride + offset - padding) }
}

/// Fills `col` (`k x nb * oh * ow`, row-major) from images `b0..b0 + nb` of `x` (NCHW).
pub(super) fn im2col<T: Real>(s: &Conv2dShape, [oh, ow]: [usize; 2], x: &[T], b0: usize, nb: usize, col: &mut [T]) {
    let (pixels, plane) = (oh * ow, s.h * s.w);
    let [kh, kw] = s.kernel;
    let sx = s.stride[1];
    col.par_chunks_mut(nb * pixels).enumerate().for_each(|(row, out)| {
        let (ci, ki, kj) = (row / (kh * kw), (row / kw) % kh, row % kw);
        let (lo, hi, first) = inside(ow, kj, sx, s.dilation[1], s.padding[1], s.w);
        for bi in 0..nb {
            let img = &x[((b0 + bi) * s.cin + ci) * plane..][..plane];
            for oy in 0..oh {
                let dst = &mut out[bi * pixels + oy * ow..][..ow];
                let Some(iy) = source(oy, ki, s.stride[0], s.dilation[0], s.padding[0], s.h) else {
                    dst.fill(T::ZERO);
                    continue;
                };
                let line = &img[iy * s.w..][..s.w];
                dst[..lo].fill(T::ZERO);
                dst[hi.max(lo)..].fill(T::ZERO);
                if sx == 1 {
                    dst[lo..hi].copy_from_slice(&line[first..first + (hi - lo)]);
                } else {
                    for (j, d) in dst[lo..hi].iter_mut().enumerate() {
                        *d = line[first + j * sx];
                    }
                }
            }
        }
    });
}

/// Adds each entry of `col` (as [`im2col`] lays it out, images `b0..b0 + nb`) to the input pixel it came from, in
/// `dx` (NCHW, the whole batch): the adjoint of [`im2col`].
pub(super) fn col2im<T: Real>(s: &Conv2dShape, [oh, ow]: [usize; 2], col: &[T], b0: usize, nb: usize, dx: &mut [T]) {
    let (pixels, plane) = (oh * ow, s.h * s.w);
    let [kh, kw] = s.kernel;
    let sx = s.stride[1];
    let n = nb * pixels;
    let planes = &mut dx[b0 * s.cin * plane..(b0 + nb) * s.cin * plane];
    planes.par_chunks_mut(plane).enumerate().for_each(|(t, img)| {
        let (bi, ci) = (t / s.cin, t % s.cin);
        for ki in 0..kh {
            for kj in 0..kw {
                let (lo, hi, first) = inside(ow, kj, sx, s.dilation[1], s.padding[1], s.w);
                let src = &col[(ci * kh * kw + ki * kw + kj) * n + bi * pixels..][..pixels];
                for oy in 0..oh {
                    let Some(iy) = source(oy, ki, s.stride[0], s.dilation[0], s.padding[0], s.h) else { continue };
                    let line = &mut img[iy * s.w..][..s.w];
                    let values = &src[oy * ow + lo..oy * ow + hi];
                    if sx == 1 {
                        for (d, &v) in line[first..first + values.len()].iter_mut().zip(values) {
                            *d += v;
                        }
                    } else {
                        for (j, &v) in values.iter().enumerate() {
                            line[first + j * sx] += v;
                        }
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_inside_range_is_where_the_source_exists() {
        for (out, stride, dilation, padding, len) in
            [(8, 1, 1, 1, 8), (4, 2, 1, 3, 8), (3, 1, 2, 2, 3), (2, 3, 1, 0, 6), (5, 1, 1, 4, 1)]
        {
            for t in 0..5 {
                let (lo, hi, first) = inside(out, t, stride, dilation, padding, len);
                for o in 0..out {
                    let want = source(o, t, stride, dilation, padding, len);
                    let got = (lo..hi).contains(&o).then(|| first + (o - lo) * stride);
                    assert_eq!(got, want, "output {o} tap {t} of {:?}", (out, stride, dilation, padding, len));
                }
            }
        }
    }
}
