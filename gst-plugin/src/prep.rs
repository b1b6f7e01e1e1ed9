//! The model input of a crop, bit for bit what `reid_runtime::engine::preprocess::preprocess_image` computes
//! (the trainer's evaluation transform), only faster: [`preprocess`].
//!
//! `preprocess_image` resizes with `image`'s `FilterType::Triangle` (a vertical pass into `f32`, then a horizontal
//! pass rounded to 8 bits), then scales and normalises each channel. [`resize_triangle`] performs the very same
//! floating-point operations in the same order per output value (same weights, same accumulation order, same
//! rounding), but on three channels instead of four and row by row, so the compiler vectorises the vertical pass.
//! The normalisation is a 256-entry table per channel holding the values `preprocess_image` computes. The tests
//! check equality with `preprocess_image` (`==` on every `f32`) across sizes, ratios and channel orders.

use image::RgbImage;
use reid_runtime::engine::{ColorOrder, PreprocessConfig};

/// `image`'s triangle kernel (`imageops::sample::triangle_kernel`).
fn triangle(x: f32) -> f32 {
    if x.abs() < 1.0 { 1.0 - x.abs() } else { 0.0 }
}

/// The input window and normalised weights of each output index when resampling `src` values to `dst`, as
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
/// `image::imageops::resize(.., FilterType::Triangle)` does; returns the packed RGB bytes.
pub fn resize_triangle(rgb: &[u8], width: u32, height: u32, new_width: u32, new_height: u32) -> Vec<u8> {
    let (w, h, nw, nh) = (width as usize, height as usize, new_width as usize, new_height as usize);
    let mut out = vec![0u8; 3 * nw * nh];
    if w == 0 || h == 0 || rgb.len() < 3 * w * h {
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
    for (ox, (left, ws)) in weights(width, new_width).iter().enumerate() {
        for (y, row) in mid.chunks_exact(3 * w).enumerate() {
            let mut t = [0.0f32; 3];
            for (k, &weight) in ws.iter().enumerate() {
                let p = &row[3 * (left + k)..3 * (left + k) + 3];
                t[0] += p[0] * weight;
                t[1] += p[1] * weight;
                t[2] += p[2] * weight;
            }
            let o = 3 * (y * nw + ox);
            for c in 0..3 {
                out[o + c] = t[c].clamp(0.0, 255.0).round() as u8;
            }
        }
    }
    out
}

/// The normalised planar `[3, height, width]` model input of `crop`: equal, value for value, to
/// `reid_runtime::engine::preprocess::preprocess_image(crop, cfg)`.
pub fn preprocess(crop: &RgbImage, cfg: &PreprocessConfig) -> Vec<f32> {
    let (w, h) = (cfg.width, cfg.height);
    let resized;
    let pixels: &[u8] = if crop.width() == w && crop.height() == h {
        crop.as_raw()
    } else {
        resized = resize_triangle(crop.as_raw(), crop.width(), crop.height(), w, h);
        &resized
    };
    let divisor = (1.0 / cfg.scale) as f32;
    let channels: [usize; 3] = match cfg.color {
        ColorOrder::Rgb => [0, 1, 2],
        ColorOrder::Bgr => [2, 1, 0],
    };
    // Every 8-bit value's normalised value, per model channel: the expression of `preprocess_image`.
    let lut: [[f32; 256]; 3] =
        std::array::from_fn(|c| std::array::from_fn(|v| (f32::from(v as u8) / divisor - cfg.mean[c]) / cfg.std[c]));
    let hw = w as usize * h as usize;
    let mut out = vec![0.0f32; 3 * hw];
    let (r, rest) = out.split_at_mut(hw);
    let (g, b) = rest.split_at_mut(hw);
    for (i, p) in pixels.chunks_exact(3).take(hw).enumerate() {
        r[i] = lut[0][usize::from(p[channels[0]])];
        g[i] = lut[1][usize::from(p[channels[1]])];
        b[i] = lut[2][usize::from(p[channels[2]])];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reid_runtime::engine::preprocess::preprocess_image;

    fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = |k: u32| ((x * 37 + y * 11 + seed * 53 + k * 97 + (x * y) % 17) % 256) as u8;
            image::Rgb([v(0), v(1), v(2)])
        })
    }

    #[test]
    fn resize_equals_image_crate_triangle() {
        let sizes =
            [(144, 360), (37, 91), (8, 16), (16, 8), (1, 1), (1, 200), (300, 1), (33, 64), (32, 70), (500, 400)];
        let targets = [(32, 64), (128, 256), (8, 16), (33, 64), (32, 65), (1, 1)];
        for (i, &(w, h)) in sizes.iter().enumerate() {
            let p = picture(w, h, i as u32);
            for &(nw, nh) in &targets {
                let want = image::imageops::resize(&p, nw, nh, image::imageops::FilterType::Triangle);
                let got = resize_triangle(p.as_raw(), w, h, nw, nh);
                assert!(got == want.as_raw().as_slice(), "{w}x{h} -> {nw}x{nh}");
            }
        }
    }

    #[test]
    fn preprocess_equals_the_runtime_value_for_value() {
        let mut bgr = PreprocessConfig::imagenet(64, 32);
        bgr.color = ColorOrder::Bgr;
        bgr.mean = [0.1, 0.2, 0.3];
        let mut odd = PreprocessConfig::imagenet(17, 9);
        odd.scale = 1.0 / 127.5;
        for cfg in [PreprocessConfig::imagenet(64, 32), PreprocessConfig::imagenet(256, 128), bgr, odd] {
            for (i, (w, h)) in [(144, 360), (32, 64), (9, 17), (61, 23), (2, 3)].into_iter().enumerate() {
                let p = picture(w, h, 7 + i as u32);
                let want = preprocess_image(&p, &cfg);
                let got = preprocess(&p, &cfg);
                assert_eq!(got.len(), want.len());
                let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{w}x{h} with {cfg:?}");
            }
        }
    }
}
