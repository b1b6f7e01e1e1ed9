//! The three products against a direct (six-loop) convolution in f64, in f64 and f32, chunked and whole, in every
//! mode (per image, batched with planar or interleaved columns).

use super::ops::{Layout, Mode, forward_with, input_grad_with, weight_grad_with};
use super::*;

/// A deterministic pseudo-random value in [-1, 1) (an LCG: no test dependency).
fn values(n: usize, seed: u64) -> Vec<f64> {
    let mut z = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    (0..n)
        .map(|_| {
            z = z.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((z >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// The input pixel of output `(oy, ox)` at tap `(ki, kj)`, None in the padding.
fn tap(s: &Conv2dShape, oy: usize, ox: usize, ki: usize, kj: usize) -> Option<(usize, usize)> {
    let iy = (oy * s.stride[0] + ki * s.dilation[0]).checked_sub(s.padding[0]).filter(|&v| v < s.h)?;
    let ix = (ox * s.stride[1] + kj * s.dilation[1]).checked_sub(s.padding[1]).filter(|&v| v < s.w)?;
    Some((iy, ix))
}

/// Forward, input gradient and weight gradient by their definitions.
fn direct(s: &Conv2dShape, x: &[f64], w: &[f64], bias: &[f64], dy: &[f64]) -> [Vec<f64>; 3] {
    let [oh, ow] = s.out().unwrap();
    let [kh, kw] = s.kernel;
    let mut y = vec![0.0; s.batch * s.cout * oh * ow];
    let mut dx = vec![0.0; x.len()];
    let mut dw = vec![0.0; w.len()];
    for b in 0..s.batch {
        for (co, &b0) in bias.iter().enumerate() {
            for oy in 0..oh {
                for ox in 0..ow {
                    let o = ((b * s.cout + co) * oh + oy) * ow + ox;
                    let mut acc = b0;
                    for ci in 0..s.cin {
                        for ki in 0..kh {
                            for kj in 0..kw {
                                if let Some((iy, ix)) = tap(s, oy, ox, ki, kj) {
                                    let xi = ((b * s.cin + ci) * s.h + iy) * s.w + ix;
                                    let wi = ((co * s.cin + ci) * kh + ki) * kw + kj;
                                    acc += x[xi] * w[wi];
                                    dx[xi] += dy[o] * w[wi];
                                    dw[wi] += dy[o] * x[xi];
                                }
                            }
                        }
                    }
                    y[o] = acc;
                }
            }
        }
    }
    [y, dx, dw]
}

/// Largest `|a - b|` over the largest `|b|`.
fn relative(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn shape(
    batch: usize,
    cin: usize,
    hw: [usize; 2],
    cout: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
) -> Conv2dShape {
    Conv2dShape {
        batch,
        cin,
        h: hw[0],
        w: hw[1],
        cout,
        kernel: [kernel; 2],
        stride: [stride; 2],
        padding: [pad; 2],
        dilation: [1, 1],
    }
}

fn check(s: Conv2dShape, seed: u64) {
    let [oh, ow] = s.out().unwrap();
    let x = values(s.batch * s.cin * s.h * s.w, seed);
    let w = values(s.cout * s.cin * s.kernel[0] * s.kernel[1], seed + 1);
    let bias = values(s.cout, seed + 2);
    let dy = values(s.batch * s.cout * oh * ow, seed + 3);
    let [y, dx, dw] = direct(&s, &x, &w, &bias, &dy);
    let modes = [Mode::PerImage, Mode::Batched(Layout::Planar), Mode::Batched(Layout::Interleaved)];
    for (chunk, mode) in [None, Some(2)].into_iter().flat_map(|c| modes.map(|m| (c, m))) {
        let at = format!("{s:?} chunk {chunk:?} {mode:?}");
        let l = Some(mode);
        let got = forward_with(&s, &x, &w, Some(&bias), chunk, l).unwrap();
        assert!(relative(&got, &y) < 1e-12, "{at}: forward off by {}", relative(&got, &y));
        let got = input_grad_with(&s, &w, &dy, chunk, l).unwrap();
        assert!(relative(&got, &dx) < 1e-12, "{at}: input gradient off by {}", relative(&got, &dx));
        let got = weight_grad_with(&s, &x, &dy, chunk, l).unwrap();
        assert!(relative(&got, &dw) < 1e-12, "{at}: weight gradient off by {}", relative(&got, &dw));
        // f32: the same up to its rounding.
        let f = |v: &[f64]| v.iter().map(|&a| a as f32).collect::<Vec<f32>>();
        let up = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<f64>>();
        let got = up(forward_with(&s, &f(&x), &f(&w), Some(&f(&bias)), chunk, l).unwrap());
        assert!(relative(&got, &y) < 1e-5, "{at}: f32 forward off by {}", relative(&got, &y));
        let got = up(input_grad_with(&s, &f(&w), &f(&dy), chunk, l).unwrap());
        assert!(relative(&got, &dx) < 1e-5, "{at}: f32 input gradient off by {}", relative(&got, &dx));
        let got = up(weight_grad_with(&s, &f(&x), &f(&dy), chunk, l).unwrap());
        assert!(relative(&got, &dw) < 1e-5, "{at}: f32 weight gradient off by {}", relative(&got, &dw));
    }
}

#[test]
fn products_equal_the_direct_convolution() {
    // 3x3 /1 pad 1 (a basic block), 7x7 /2 pad 3 (the stem), 1x1 /2 (a downsample), 3x3 /2 on an odd size,
    // a tiny input where most taps fall in the padding, and a dilated, unevenly strided and padded one; batch 5 so the chunks
    // of 2 leave one image over.
    check(shape(5, 3, [9, 6], 4, 3, 1, 1), 1);
    check(shape(5, 3, [13, 10], 4, 7, 2, 3), 2);
    check(shape(5, 6, [8, 5], 7, 1, 2, 0), 3);
    // 1x1 /1 without padding: per image, the columns are the input itself (no unfolding).
    check(shape(5, 6, [5, 4], 7, 1, 1, 0), 7);
    check(shape(5, 4, [7, 7], 3, 3, 2, 1), 4);
    check(shape(5, 2, [3, 2], 3, 3, 1, 1), 5);
    let odd = Conv2dShape {
        dilation: [2, 1],
        stride: [1, 2],
        padding: [2, 0],
        kernel: [3, 2],
        ..shape(5, 3, [6, 7], 2, 3, 1, 0)
    };
    check(odd, 6);
}

#[test]
fn bad_shapes_and_lengths_are_errors_naming_the_field() {
    let s = shape(2, 3, [4, 4], 5, 3, 1, 0);
    assert!(forward::<f32>(&Conv2dShape { stride: [0, 1], ..s }, &[], &[], None).unwrap_err().contains("stride rows"));
    let big = Conv2dShape { kernel: [5, 5], ..s };
    assert!(forward::<f32>(&big, &[], &[], None).unwrap_err().contains("larger than the input"));
    let x = vec![0.0f32; 2 * 3 * 16];
    let w = vec![0.0f32; 5 * 27];
    assert!(forward(&s, &x[1..], &w, None).unwrap_err().contains("input"));
    assert!(forward(&s, &x, &w[1..], None).unwrap_err().contains("weight"));
    assert!(forward(&s, &x, &w, Some(&[0.0; 4])).unwrap_err().contains("bias"));
    assert!(input_grad(&s, &w, &[0.0; 3]).unwrap_err().contains("output gradient"));
    assert!(weight_grad(&s, &x, &[0.0; 3]).unwrap_err().contains("output gradient"));
}
