//! Reading person crops out of raw video frames, independent of GStreamer's types so it is testable alone.
//!
//! - [`PixelLayout`]: the raw formats the elements accept (`RGB`, `RGBA`, `BGRx`, `NV12`, `I420`).
//! - [`FrameView`]: borrowed planes and strides of one frame.
//! - [`clamp_box`]: a region of interest clipped to the frame (coordinates written as negative `int`s by C code
//!   are read back as negative).
//! - [`FrameView::crop_rgb`]: the pixels of a box as an [`image::RgbImage`]; YUV formats are converted with
//!   BT.601 limited-range coefficients (the usual SD/HD camera and decoder output) in 16.16 fixed point
//!   ([`yuv_to_rgb`]), chroma taken from the sample covering each pixel (no chroma interpolation).

use image::RgbImage;
use thiserror::Error;

/// A raw video format the elements read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLayout {
    /// Packed 8-bit R, G, B.
    Rgb,
    /// Packed 8-bit R, G, B, A.
    Rgba,
    /// Packed 8-bit B, G, R, padding.
    Bgrx,
    /// Planar Y, then interleaved U/V at half resolution both ways.
    Nv12,
    /// Planar Y, U, V; U and V at half resolution both ways.
    I420,
}

impl PixelLayout {
    /// The number of planes the layout uses.
    pub fn planes(self) -> usize {
        match self {
            PixelLayout::Rgb | PixelLayout::Rgba | PixelLayout::Bgrx => 1,
            PixelLayout::Nv12 => 2,
            PixelLayout::I420 => 3,
        }
    }

    /// The GStreamer caps name of the format (`RGB`, `NV12`, ...).
    pub fn caps_name(self) -> &'static str {
        match self {
            PixelLayout::Rgb => "RGB",
            PixelLayout::Rgba => "RGBA",
            PixelLayout::Bgrx => "BGRx",
            PixelLayout::Nv12 => "NV12",
            PixelLayout::I420 => "I420",
        }
    }
}

/// Why a frame cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// A plane is shorter than its stride and the frame height require.
    #[error("{layout:?} plane {plane} holds {got} bytes; a {width}x{height} frame with stride {stride} needs {need}")]
    PlaneTooShort {
        /// The frame's layout.
        layout: PixelLayout,
        /// Plane index.
        plane: usize,
        /// Bytes present.
        got: usize,
        /// Bytes required.
        need: usize,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The plane's stride.
        stride: usize,
    },
    /// Fewer planes than the layout uses.
    #[error("{layout:?} needs {need} planes, got {got}")]
    MissingPlane {
        /// The frame's layout.
        layout: PixelLayout,
        /// Planes required.
        need: usize,
        /// Planes given.
        got: usize,
    },
}

/// One frame's planes, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct FrameView<'a> {
    /// Pixel layout.
    pub layout: PixelLayout,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Plane data (unused planes are empty).
    pub planes: [&'a [u8]; 3],
    /// Bytes per row of each plane.
    pub strides: [usize; 3],
}

/// A box in pixels, inside the frame: `x + width <= frame width`, `y + height <= frame height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PixelBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// The part of the ROI rectangle `(x, y, w, h)` inside a `width x height` frame, or `None` when nothing is left.
///
/// The ROI meta stores unsigned values, but detectors written in C sometimes store negative ints: values above
/// `i32::MAX` are read as the negative `i32` they were (a box starting at `x = -5` keeps its visible part), and a
/// width or height that is negative that way is empty.
pub fn clamp_box(rect: (u32, u32, u32, u32), width: u32, height: u32) -> Option<PixelBox> {
    let signed = |v: u32| i64::from(v as i32);
    let (x, y, w, h) = (signed(rect.0), signed(rect.1), signed(rect.2), signed(rect.3));
    if w <= 0 || h <= 0 {
        return None;
    }
    let x0 = x.clamp(0, i64::from(width));
    let y0 = y.clamp(0, i64::from(height));
    let x1 = (x + w).clamp(0, i64::from(width));
    let y1 = (y + h).clamp(0, i64::from(height));
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    // All four are clamped to `0..=u32::MAX`, so the casts are exact.
    Some(PixelBox { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 })
}

/// BT.601 coefficients in 16.16 fixed point: `Y` gain 255/219, `V` to R, `U` and `V` to G, `U` to B (the
/// real-valued matrix rounded to 1/65536, as libyuv and FFmpeg's swscale do; each output is within one level of
/// the real-valued formula, see the tests).
const Y_GAIN: i32 = 76_309;
const R_FROM_V: i32 = 104_597;
const G_FROM_U: i32 = 25_675;
const G_FROM_V: i32 = 53_279;
const B_FROM_U: i32 = 132_201;
/// One half in 16.16, added before the shift so it rounds to nearest.
const HALF: i32 = 1 << 15;

/// A 16.16 value to 8 bits, clamped.
#[inline(always)]
fn to_u8(x: i32) -> u8 {
    (x >> 16).clamp(0, 255) as u8
}

/// The chroma terms of one `(U, V)` sample, rounding offset included: added to a pixel's scaled luma they give
/// its R, G and B in 16.16.
#[inline(always)]
fn chroma_terms(u: u8, v: u8) -> [i32; 3] {
    let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
    [R_FROM_V * e + HALF, HALF - G_FROM_U * d - G_FROM_V * e, B_FROM_U * d + HALF]
}

/// One pixel into `px` (3 bytes) from its luma and its chroma sample's [`chroma_terms`].
#[inline(always)]
fn put_pixel(px: &mut [u8], y: u8, c: [i32; 3]) {
    let l = (i32::from(y) - 16) * Y_GAIN;
    px[0] = to_u8(l + c[0]);
    px[1] = to_u8(l + c[1]);
    px[2] = to_u8(l + c[2]);
}

/// BT.601 limited range (`Y` in 16..235, `U`/`V` in 16..240) to 8-bit RGB, rounded and clamped, in 16.16 fixed
/// point (integer arithmetic, so every path and every CPU gives the same bytes).
pub fn yuv_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let mut px = [0u8; 3];
    put_pixel(&mut px, y, chroma_terms(u, v));
    px
}

/// One row of a YUV crop into packed RGB `dst`, value for value [`yuv_to_rgb`]: pixel `i` takes luma `luma[i]`
/// and chroma sample `k = (i + odd) / 2`, whose U is `u[step * k]` and V `v[step * k]` (NV12: `step` 2 over the
/// interleaved plane and the plane shifted by one; I420: `step` 1). A chroma sample past the end of `u`/`v`
/// reads as neutral (128). On x86-64 CPUs with AVX2 the same code runs compiled for AVX2.
fn yuv_row(luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { yuv_row_avx2(luma, u, v, step, odd, dst) };
        return;
    }
    yuv_row_body(luma, u, v, step, odd, dst);
}

/// [`yuv_row_body`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn yuv_row_avx2(luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    yuv_row_body(luma, u, v, step, odd, dst);
}

/// The portable body of [`yuv_row`]: an odd start pixel alone, then pixel pairs sharing one chroma sample
/// (written so the compiler vectorises them), then the samples past the chroma planes' end.
#[inline(always)]
fn yuv_row_body(luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    let w = luma.len().min(dst.len() / 3);
    let sample =
        |k: usize| chroma_terms(u.get(step * k).copied().unwrap_or(128), v.get(step * k).copied().unwrap_or(128));
    let mut i = 0;
    if odd == 1 && w > 0 {
        put_pixel(&mut dst[..3], luma[0], sample(0));
        i = 1;
    }
    // Pixels `i..` pair up on chroma samples `first..`.
    let first = (i + odd) / 2;
    let pairs = ((w - i) / 2)
        .min(u.len().saturating_sub(step * first).div_ceil(step))
        .min(v.len().saturating_sub(step * first).div_ceil(step));
    let (us, vs) = (&u[(step * first).min(u.len())..], &v[(step * first).min(v.len())..]);
    for (((ys, px), &cu), &cv) in luma[i..i + 2 * pairs]
        .chunks_exact(2)
        .zip(dst[3 * i..3 * (i + 2 * pairs)].chunks_exact_mut(6))
        .zip(us.iter().step_by(step))
        .zip(vs.iter().step_by(step))
    {
        let c = chroma_terms(cu, cv);
        put_pixel(&mut px[..3], ys[0], c);
        put_pixel(&mut px[3..], ys[1], c);
    }
    for j in i + 2 * pairs..w {
        put_pixel(&mut dst[3 * j..3 * j + 3], luma[j], sample((j + odd) / 2));
    }
}

impl<'a> FrameView<'a> {
    /// Checks that every plane the layout uses is long enough for the frame size and stride.
    pub fn validate(&self) -> Result<(), FrameError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // (rows, bytes used per row) of each plane.
        let needs: &[(usize, usize)] = match self.layout {
            PixelLayout::Rgb => &[(h, 3 * w)],
            PixelLayout::Rgba | PixelLayout::Bgrx => &[(h, 4 * w)],
            PixelLayout::Nv12 => &[(h, w), (ch, 2 * cw)],
            PixelLayout::I420 => &[(h, w), (ch, cw), (ch, cw)],
        };
        for (plane, &(rows, row_bytes)) in needs.iter().enumerate() {
            let stride = self.strides[plane];
            let need = if rows == 0 { 0 } else { (rows - 1) * stride + row_bytes };
            let got = self.planes[plane].len();
            if stride < row_bytes || got < need {
                return Err(FrameError::PlaneTooShort {
                    layout: self.layout,
                    plane,
                    got,
                    need: need.max(rows * row_bytes),
                    width: self.width,
                    height: self.height,
                    stride,
                });
            }
        }
        Ok(())
    }

    /// The pixels of `area` (inside the frame, see [`clamp_box`]) as RGB. The frame must have passed
    /// [`FrameView::validate`]; a box sticking out of the frame is clamped again, so this never reads outside.
    pub fn crop_rgb(&self, area: PixelBox) -> RgbImage {
        let Some(area) = clamp_box((area.x, area.y, area.width, area.height), self.width, self.height) else {
            return RgbImage::new(0, 0);
        };
        let mut out = RgbImage::new(area.width, area.height);
        let (x0, y0) = (area.x as usize, area.y as usize);
        let w = area.width as usize;
        let [p0, p1, p2] = self.planes;
        let [s0, s1, s2] = self.strides;
        for (row, dst) in out.chunks_exact_mut(3 * w).enumerate() {
            let y = y0 + row;
            match self.layout {
                PixelLayout::Rgb => {
                    let start = y * s0 + 3 * x0;
                    dst.copy_from_slice(&p0[start..start + 3 * w]);
                }
                PixelLayout::Rgba | PixelLayout::Bgrx => {
                    let start = y * s0 + 4 * x0;
                    let src = &p0[start..start + 4 * w];
                    let bgr = self.layout == PixelLayout::Bgrx;
                    for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                        if bgr {
                            d.copy_from_slice(&[s[2], s[1], s[0]]);
                        } else {
                            d.copy_from_slice(&s[..3]);
                        }
                    }
                }
                PixelLayout::Nv12 => {
                    let luma = &p0[y * s0 + x0..y * s0 + x0 + w];
                    // Chroma pairs (U, V) covering columns x0 & !1 .. x0 + w.
                    let c0 = (y / 2) * s1 + 2 * (x0 / 2);
                    let chroma = &p1[c0..c0 + 2 * ((x0 + w).div_ceil(2) - x0 / 2)];
                    yuv_row(luma, chroma, &chroma[1..], 2, x0 % 2, dst);
                }
                PixelLayout::I420 => {
                    let luma = &p0[y * s0 + x0..y * s0 + x0 + w];
                    let (c0, cn) = ((y / 2) * s1 + x0 / 2, (x0 + w).div_ceil(2) - x0 / 2);
                    let u = &p1[c0..c0 + cn];
                    let c0 = (y / 2) * s2 + x0 / 2;
                    let v = &p2[c0..c0 + cn];
                    yuv_row(luma, u, v, 1, x0 % 2, dst);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_keeps_the_visible_part() {
        assert_eq!(clamp_box((10, 20, 30, 40), 100, 100), Some(PixelBox { x: 10, y: 20, width: 30, height: 40 }));
        assert_eq!(clamp_box((90, 90, 30, 40), 100, 100), Some(PixelBox { x: 90, y: 90, width: 10, height: 10 }));
        assert_eq!(
            clamp_box((-5i32 as u32, 0, 20, 10), 100, 100),
            Some(PixelBox { x: 0, y: 0, width: 15, height: 10 })
        );
        assert_eq!(clamp_box((0, 0, 0, 10), 100, 100), None);
        assert_eq!(clamp_box((0, 0, -3i32 as u32, 10), 100, 100), None);
        assert_eq!(clamp_box((100, 0, 10, 10), 100, 100), None);
        assert_eq!(clamp_box((u32::MAX, u32::MAX, u32::MAX, u32::MAX), 100, 100), None);
        assert_eq!(clamp_box((i32::MAX as u32, 0, i32::MAX as u32, 5), 100, 100), None);
    }

    #[test]
    fn yuv_grey_and_primaries() {
        assert_eq!(yuv_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(235, 128, 128), [255, 255, 255]);
        let red = yuv_to_rgb(81, 90, 240);
        assert!(red[0] > 250 && red[1] < 5 && red[2] < 5, "{red:?}");
    }

    #[test]
    fn row_conversion_equals_the_formula_for_every_yuv_triple() {
        // One row per (y, u): 512 pixels, pixel pair i/2 taking v = i/2 (I420 layout, step 1), at both parities.
        let mut dst = vec![0u8; 3 * 512];
        let vs: Vec<u8> = (0..=255u8).collect();
        for y in 0..=255u8 {
            let luma = vec![y; 512];
            for u in 0..=255u8 {
                let us = vec![u; 256];
                yuv_row(&luma, &us, &vs, 1, 0, &mut dst);
                for (i, px) in dst.chunks_exact(3).enumerate() {
                    assert_eq!(px, yuv_to_rgb(y, u, (i / 2) as u8), "y {y} u {u} v {}", i / 2);
                }
                yuv_row(&luma[..511], &us, &vs, 1, 1, &mut dst);
                for (i, px) in dst[..3 * 511].chunks_exact(3).enumerate() {
                    assert_eq!(px, yuv_to_rgb(y, u, (i.div_ceil(2)) as u8), "odd: y {y} u {u} v {}", i.div_ceil(2));
                }
            }
        }
    }

    #[test]
    fn fixed_point_is_within_one_level_of_the_real_formula() {
        // The real-valued BT.601 limited-range matrix in f64, rounded half away from zero and clamped.
        let mut off = 0usize;
        for y in 0..=255u8 {
            for u in 0..=255u8 {
                for v in 0..=255u8 {
                    let c = 255.0 / 219.0 * (f64::from(y) - 16.0);
                    let (d, e) = (f64::from(u) - 128.0, f64::from(v) - 128.0);
                    let (kr, kb) = (0.299, 0.114);
                    let kg = 1.0 - kr - kb;
                    let r = c + 255.0 / 112.0 * (1.0 - kr) * e;
                    let b = c + 255.0 / 112.0 * (1.0 - kb) * d;
                    let g = c - 255.0 / 112.0 * ((1.0 - kb) * kb / kg * d + (1.0 - kr) * kr / kg * e);
                    let want = [r, g, b].map(|x| x.round().clamp(0.0, 255.0) as i32);
                    let got = yuv_to_rgb(y, u, v);
                    for ch in 0..3 {
                        let diff = (i32::from(got[ch]) - want[ch]).abs();
                        assert!(diff <= 1, "y {y} u {u} v {v} channel {ch}: {} vs {}", got[ch], want[ch]);
                        off += diff as usize;
                    }
                }
            }
        }
        // Off by one only where the real value lies within about 0.002 of a rounding boundary.
        let share = off as f64 / (3.0 * 16_777_216.0);
        assert!(share < 0.005, "{:.4}% of channel values off by one", 100.0 * share);
    }

    #[test]
    fn chroma_past_the_plane_end_reads_as_neutral() {
        let mut dst = vec![0u8; 3 * 5];
        yuv_row(&[100; 5], &[60], &[200], 1, 0, &mut dst);
        for (i, px) in dst.chunks_exact(3).enumerate() {
            let want = if i < 2 { yuv_to_rgb(100, 60, 200) } else { yuv_to_rgb(100, 128, 128) };
            assert_eq!(px, want, "pixel {i}");
        }
    }

    #[test]
    fn odd_offsets_take_the_covering_chroma_sample() {
        // 6x2 NV12 with distinct chroma per pair: every crop start (odd or even) must pick its pixel's pair.
        let y = vec![128u8; 12];
        let uv: Vec<u8> = vec![60, 200, 90, 180, 120, 40];
        let nv12 =
            FrameView { layout: PixelLayout::Nv12, width: 6, height: 2, planes: [&y, &uv, &[]], strides: [6, 6, 0] };
        let (u, v): (Vec<u8>, Vec<u8>) = uv.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
        let i420 =
            FrameView { layout: PixelLayout::I420, width: 6, height: 2, planes: [&y, &u, &v], strides: [6, 3, 3] };
        for x0 in 0..6u32 {
            for w in 1..=6 - x0 {
                let want: Vec<u8> = (x0..x0 + w)
                    .flat_map(|x| yuv_to_rgb(128, uv[2 * (x as usize / 2)], uv[2 * (x as usize / 2) + 1]))
                    .collect();
                let area = PixelBox { x: x0, y: 1, width: w, height: 1 };
                assert_eq!(nv12.crop_rgb(area).as_raw(), &want, "NV12 x0 {x0} w {w}");
                assert_eq!(i420.crop_rgb(area).as_raw(), &want, "I420 x0 {x0} w {w}");
            }
        }
    }

    #[test]
    fn crops_packed_and_planar() {
        // 4x2 RGB with a padded stride of 16.
        let mut rgb = vec![0u8; 16 * 2];
        for y in 0..2 {
            for x in 0..4 {
                rgb[y * 16 + 3 * x..y * 16 + 3 * x + 3].copy_from_slice(&[x as u8, y as u8, 7]);
            }
        }
        let view =
            FrameView { layout: PixelLayout::Rgb, width: 4, height: 2, planes: [&rgb, &[], &[]], strides: [16, 0, 0] };
        view.validate().unwrap();
        let crop = view.crop_rgb(PixelBox { x: 1, y: 1, width: 2, height: 1 });
        assert_eq!(crop.as_raw(), &[1, 1, 7, 2, 1, 7]);

        let (y, uv) = (vec![235u8; 4 * 2], vec![128u8; 4]);
        let nv12 =
            FrameView { layout: PixelLayout::Nv12, width: 4, height: 2, planes: [&y, &uv, &[]], strides: [4, 4, 0] };
        nv12.validate().unwrap();
        assert!(nv12.crop_rgb(PixelBox { x: 3, y: 1, width: 1, height: 1 }).as_raw().iter().all(|&v| v == 255));
        let short = FrameView { planes: [&y, &uv[..2], &[]], ..nv12 };
        assert!(short.validate().is_err());
    }
}
