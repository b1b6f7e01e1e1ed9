//! YUV -> RGB in 16.16 fixed point with a [`Colour`]'s [`YuvCoefficients`]: one sample ([`yuv_to_rgb`]) and one
//! row of a crop ([`yuv_row`]: the hot loop, vectorised by the compiler, AVX2 where the CPU has it). Chroma is
//! taken from the sample covering each pixel (no chroma interpolation), as GStreamer's `videoconvert
//! chroma-mode=none` does. Integer arithmetic, so every path and every CPU gives the same bytes.
//!
//! [`Colour`]: super::Colour

use super::colour::{COEFFICIENTS, Colour, YuvCoefficients};

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
fn chroma_terms(c: &YuvCoefficients, u: u8, v: u8) -> [i32; 3] {
    let (d, e) = (i32::from(u) - 128, i32::from(v) - 128);
    [c.r_from_v * e + HALF, HALF - c.g_from_u * d - c.g_from_v * e, c.b_from_u * d + HALF]
}

/// One pixel into `px` (3 bytes) from its luma and its chroma sample's [`chroma_terms`].
#[inline(always)]
fn put_pixel(c: &YuvCoefficients, px: &mut [u8], y: u8, t: [i32; 3]) {
    let l = (i32::from(y) - c.y_offset) * c.y_gain;
    px[0] = to_u8(l + t[0]);
    px[1] = to_u8(l + t[1]);
    px[2] = to_u8(l + t[2]);
}

/// One YUV sample to 8-bit RGB with `c` (see [`YuvCoefficients`]), rounded and clamped.
pub fn yuv_to_rgb(c: YuvCoefficients, y: u8, u: u8, v: u8) -> [u8; 3] {
    let mut px = [0u8; 3];
    put_pixel(&c, &mut px, y, chroma_terms(&c, u, v));
    px
}

/// One row of a YUV crop into packed RGB `dst`, value for value [`yuv_to_rgb`] with `colour`'s coefficients:
/// pixel `i` takes luma `luma[i]` and chroma sample `k = (i + odd) / 2`, whose U is `u[step * k]` and V
/// `v[step * k]` (NV12: `step` 2 over the interleaved plane and the plane shifted by one; I420: `step` 1). A chroma
/// sample past the end of `u`/`v` reads as neutral (128). The loop is compiled once per colour with its
/// coefficients as constants (as fast as the one BT.601 loop was: loaded coefficients cost about 45% in the
/// element bench), and on x86-64 CPUs with AVX2 runs compiled for AVX2.
pub(super) fn yuv_row(colour: Colour, luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    match colour.index() {
        0 => yuv_row_for::<0>(luma, u, v, step, odd, dst),
        1 => yuv_row_for::<1>(luma, u, v, step, odd, dst),
        2 => yuv_row_for::<2>(luma, u, v, step, odd, dst),
        3 => yuv_row_for::<3>(luma, u, v, step, odd, dst),
        4 => yuv_row_for::<4>(luma, u, v, step, odd, dst),
        _ => yuv_row_for::<5>(luma, u, v, step, odd, dst),
    }
}

/// [`yuv_row`] for the colour of index `K`.
#[inline(always)]
fn yuv_row_for<const K: usize>(luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { yuv_row_avx2::<K>(luma, u, v, step, odd, dst) };
        return;
    }
    yuv_row_body(&const { COEFFICIENTS[K] }, luma, u, v, step, odd, dst);
}

/// [`yuv_row_body`] compiled for AVX2, for the colour of index `K`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn yuv_row_avx2<const K: usize>(luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    yuv_row_body(&const { COEFFICIENTS[K] }, luma, u, v, step, odd, dst);
}

/// The portable body of [`yuv_row`]: an odd start pixel alone, then pixel pairs sharing one chroma sample
/// (written so the compiler vectorises them; the coefficients are loop invariants), then the samples past the
/// chroma planes' end.
#[inline(always)]
fn yuv_row_body(c: &YuvCoefficients, luma: &[u8], u: &[u8], v: &[u8], step: usize, odd: usize, dst: &mut [u8]) {
    let w = luma.len().min(dst.len() / 3);
    let sample =
        |k: usize| chroma_terms(c, u.get(step * k).copied().unwrap_or(128), v.get(step * k).copied().unwrap_or(128));
    let mut i = 0;
    if odd == 1 && w > 0 {
        put_pixel(c, &mut dst[..3], luma[0], sample(0));
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
        let t = chroma_terms(c, cu, cv);
        put_pixel(c, &mut px[..3], ys[0], t);
        put_pixel(c, &mut px[3..], ys[1], t);
    }
    for j in i + 2 * pairs..w {
        put_pixel(c, &mut dst[3 * j..3 * j + 3], luma[j], sample((j + odd) / 2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuv_grey_and_primaries() {
        let c = Colour::BT601_LIMITED.coefficients();
        assert_eq!(yuv_to_rgb(c, 16, 128, 128), [0, 0, 0]);
        assert_eq!(yuv_to_rgb(c, 235, 128, 128), [255, 255, 255]);
        let red = yuv_to_rgb(c, 81, 90, 240);
        assert!(red[0] > 250 && red[1] < 5 && red[2] < 5, "{red:?}");
        // BT.709 red (Y 63, U 102, V 240) is red under BT.709 and visibly not under BT.601.
        let red709 = yuv_to_rgb(Colour::BT709_LIMITED.coefficients(), 63, 102, 240);
        assert!(red709[0] > 250 && red709[1] < 5 && red709[2] < 5, "{red709:?}");
        let as601 = yuv_to_rgb(c, 63, 102, 240);
        assert!(as601[0] < 240, "{as601:?}");
    }

    /// The row conversion against [`yuv_to_rgb`] for every `(y, u, v)` at both parities with `colour`.
    fn row_equals_the_formula(colour: Colour) {
        // One row per (y, u): 512 pixels, pixel pair i/2 taking v = i/2 (I420 layout, step 1).
        let c = colour.coefficients();
        let mut dst = vec![0u8; 3 * 512];
        let vs: Vec<u8> = (0..=255u8).collect();
        for y in 0..=255u8 {
            let luma = vec![y; 512];
            for u in 0..=255u8 {
                let us = vec![u; 256];
                yuv_row(colour, &luma, &us, &vs, 1, 0, &mut dst);
                for (i, px) in dst.chunks_exact(3).enumerate() {
                    assert_eq!(px, yuv_to_rgb(c, y, u, (i / 2) as u8), "{colour}: y {y} u {u} v {}", i / 2);
                }
                yuv_row(colour, &luma[..511], &us, &vs, 1, 1, &mut dst);
                for (i, px) in dst[..3 * 511].chunks_exact(3).enumerate() {
                    let v = i.div_ceil(2) as u8;
                    assert_eq!(px, yuv_to_rgb(c, y, u, v), "{colour} odd: y {y} u {u} v {v}");
                }
            }
        }
    }

    #[test]
    fn row_conversion_equals_the_formula_for_every_yuv_triple() {
        for colour in Colour::all() {
            row_equals_the_formula(colour);
        }
    }

    #[test]
    fn chroma_past_the_plane_end_reads_as_neutral() {
        let c = Colour::BT709_LIMITED.coefficients();
        let mut dst = vec![0u8; 3 * 5];
        yuv_row(Colour::BT709_LIMITED, &[100; 5], &[60], &[200], 1, 0, &mut dst);
        for (i, px) in dst.chunks_exact(3).enumerate() {
            let want = if i < 2 { yuv_to_rgb(c, 100, 60, 200) } else { yuv_to_rgb(c, 100, 128, 128) };
            assert_eq!(px, want, "pixel {i}");
        }
    }
}
