//! Bilinear resize of packed RGB bytes, equal byte for byte to `image::imageops::resize(.., FilterType::Triangle)`.
//!
//! `image` resamples in two passes: a vertical pass into `f32` pixels, then a horizontal pass rounded to 8 bits.
//! [`resize_triangle`] performs the very same floating-point operations in the same order per output value (same
//! weights, same accumulation order, same rounding), but on three channels instead of four and a whole row at a
//! time, so the compiler vectorises the vertical pass; the horizontal pass walks each row in memory order.
//! `fast_image_resize`'s bilinear filter is about 5x faster still but not equal (fixed point: off by 1 in 16-25%
//! of the bytes), so it is not used: `reid bench preprocess` prints the three side by side.

use image::RgbImage;

/// `image`'s triangle kernel (`imageops::sample::triangle_kernel`).
fn triangle(x: f32) -> f32 {
    if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
}

/// The first input index and normalised weights of each output index when resampling `src` values to `dst`, as
/// `image`'s `vertical_sample` / `horizontal_sample` compute them for the triangle filter (support 1).
fn weights(src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
    let ratio = src as f32 / dst as f32;
    let sratio = if ratio < 1.0 { 1.0 } else { ratio };
    let support = sratio;
    (0..dst)
        .map(|out| {
            let input = (out as f32 + 0.5) * ratio;
            let left = ((input - support).floor() as i64).clamp(0, i64::from(src) - 1);
            let right = ((input + support).ceil() as i64).clamp(left + 1, i64::from(src));
            let input = input - 0.5;
            let mut ws: Vec<f32> = (left..right).map(|i| triangle((i as f32 - input) / sratio)).collect();
            let sum = ws.iter().fold(0.0f32, |s, w| s + w);
            for w in &mut ws {
                *w /= sum;
            }
            (left as usize, ws)
        })
        .collect()
}

/// Resizes a tightly packed RGB picture (`width x height`) to `new_width x new_height` exactly as
/// `image::imageops::resize(.., FilterType::Triangle)` does; returns the packed RGB bytes (all zero when `rgb` is
/// empty or shorter than `3 x width x height`; none for an empty target).
pub fn resize_triangle(rgb: &[u8], width: u32, height: u32, new_width: u32, new_height: u32) -> Vec<u8> {
    let (w, h, nw, nh) = (width as usize, height as usize, new_width as usize, new_height as usize);
    let mut out = vec![0u8; 3 * nw * nh];
    if w == 0 || h == 0 || nw == 0 || nh == 0 || rgb.len() < 3 * w * h {
        return out;
    }
    if (w, h) == (nw, nh) {
        out.copy_from_slice(&rgb[..3 * w * h]);
        return out;
    }
    // Vertical pass: new_height rows of `width` f32 pixels; each value accumulates its taps in order.
    let mut mid = vec![0.0f32; 3 * w * nh];
    for ((left, ws), row) in weights(height, new_height).iter().zip(mid.chunks_exact_mut(3 * w)) {
        for (k, &weight) in ws.iter().enumerate() {
            let src = &rgb[(left + k) * 3 * w..(left + k + 1) * 3 * w];
            for (acc, &s) in row.iter_mut().zip(src) {
                *acc += f32::from(s) * weight;
            }
        }
    }
    // Horizontal pass, rounded to 8 bits as `image` does (clamp to 0..255, round half away from zero).
    let columns = weights(width, new_width);
    for (row, out_row) in mid.chunks_exact(3 * w).zip(out.chunks_exact_mut(3 * nw)) {
        for ((left, ws), o) in columns.iter().zip(out_row.chunks_exact_mut(3)) {
            let mut t = [0.0f32; 3];
            for (p, &weight) in row[3 * left..].chunks_exact(3).zip(ws) {
                t[0] += p[0] * weight;
                t[1] += p[1] * weight;
                t[2] += p[2] * weight;
            }
            for (o, t) in o.iter_mut().zip(t) {
                *o = t.clamp(0.0, 255.0).round() as u8;
            }
        }
    }
    out
}

/// `img` resized to `width x height` with [`resize_triangle`] (a copy when it already has that size).
pub fn resize_image(img: &RgbImage, width: u32, height: u32) -> RgbImage {
    if img.dimensions() == (width, height) {
        return img.clone();
    }
    let bytes = resize_triangle(img.as_raw(), img.width(), img.height(), width, height);
    RgbImage::from_raw(width, height, bytes).expect("resize_triangle returns 3 x width x height bytes")
}
