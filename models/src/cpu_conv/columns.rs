//! The column buffer and its adjoint, in two layouts:
//! - planar: `col[(ci, ki, kj), (b, oy, ox)]` = the input pixel that kernel tap `(ki, kj)` of input channel `ci` meets
//!   at output pixel `(oy, ox)` of image `b` (zero in the padding), filled from NCHW rows `ow` values long;
//! - interleaved: `col[(b, oy, ox), (ki, kj, ci)]`, filled from an NHWC copy of the input in runs of `cin` values (far
//!   fewer, longer copies when the maps are small and the channels many, as in a ResNet's later stages).

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

/// Images `b0..b0 + nb` of `x` (NCHW) as NHWC in `xh`: each pixel's channels side by side.
pub(super) fn to_nhwc<T: Real>(s: &Conv2dShape, x: &[T], b0: usize, nb: usize, xh: &mut [T]) {
    let plane = s.h * s.w;
    xh[..nb * plane * s.cin].par_chunks_mut(plane * s.cin).enumerate().for_each(|(bi, out)| {
        let img = &x[(b0 + bi) * s.cin * plane..][..s.cin * plane];
        for (ci, channel) in img.chunks_exact(plane).enumerate() {
            for (p, &v) in channel.iter().enumerate() {
                out[p * s.cin + ci] = v;
            }
        }
    });
}

/// The column buffer of the interleaved layout: `col[(b, oy, ox), (ki, kj, ci)]` (`nb * oh * ow x k`,
/// row-major) from `xh`, images `0..nb` in NHWC: each entry run is one input pixel's `cin` channels.
pub(super) fn im2col_nhwc<T: Real>(s: &Conv2dShape, [oh, ow]: [usize; 2], xh: &[T], nb: usize, col: &mut [T]) {
    let (pixels, plane) = (oh * ow, s.h * s.w);
    let [kh, kw] = s.kernel;
    let (cin, k) = (s.cin, s.k());
    col[..nb * pixels * k].par_chunks_mut(k).with_min_len(16).enumerate().for_each(|(n, row)| {
        let (bi, oy, ox) = (n / pixels, (n % pixels) / ow, n % ow);
        let img = &xh[bi * plane * cin..][..plane * cin];
        for ki in 0..kh {
            let dst = &mut row[ki * kw * cin..][..kw * cin];
            let Some(iy) = source(oy, ki, s.stride[0], s.dilation[0], s.padding[0], s.h) else {
                dst.fill(T::ZERO);
                continue;
            };
            for (kj, d) in dst.chunks_exact_mut(cin).enumerate() {
                match source(ox, kj, s.stride[1], s.dilation[1], s.padding[1], s.w) {
                    Some(ix) => d.copy_from_slice(&img[(iy * s.w + ix) * cin..][..cin]),
                    None => d.fill(T::ZERO),
                }
            }
        }
    });
}

/// The adjoint of [`im2col_nhwc`]: adds each entry of `col` to its input pixel in `dxh` (NHWC, images `0..nb`,
/// zeroed by the caller).
pub(super) fn col2im_nhwc<T: Real>(s: &Conv2dShape, [oh, ow]: [usize; 2], col: &[T], nb: usize, dxh: &mut [T]) {
    let (pixels, plane) = (oh * ow, s.h * s.w);
    let [kh, kw] = s.kernel;
    let (cin, k) = (s.cin, s.k());
    dxh[..nb * plane * cin].par_chunks_mut(plane * cin).enumerate().for_each(|(bi, img)| {
        for oy in 0..oh {
            for ox in 0..ow {
                let row = &col[(bi * pixels + oy * ow + ox) * k..][..k];
                for ki in 0..kh {
                    let Some(iy) = source(oy, ki, s.stride[0], s.dilation[0], s.padding[0], s.h) else { continue };
                    for kj in 0..kw {
                        let Some(ix) = source(ox, kj, s.stride[1], s.dilation[1], s.padding[1], s.w) else { continue };
                        let d = &mut img[(iy * s.w + ix) * cin..][..cin];
                        for (a, &v) in d.iter_mut().zip(&row[(ki * kw + kj) * cin..][..cin]) {
                            *a += v;
                        }
                    }
                }
            }
        }
    });
}

/// Images `0..nb` of `xh` (NHWC) written as images `b0..b0 + nb` of `x` (NCHW).
pub(super) fn from_nhwc<T: Real>(s: &Conv2dShape, xh: &[T], b0: usize, nb: usize, x: &mut [T]) {
    let plane = s.h * s.w;
    x[b0 * s.cin * plane..(b0 + nb) * s.cin * plane].par_chunks_mut(plane).enumerate().for_each(|(t, channel)| {
        let (bi, ci) = (t / s.cin, t % s.cin);
        let img = &xh[bi * plane * s.cin..][..plane * s.cin];
        for (p, v) in channel.iter_mut().enumerate() {
            *v = img[p * s.cin + ci];
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
