//! The preprocessing against its reference: the resize equals `image::imageops::resize(.., FilterType::Triangle)`
//! byte for byte, and `preprocess_image` equals (`==` on every `f32` bit pattern) the transform written the plain
//! way with `image`'s resize, across sizes, ratios and channel orders. (Moved from the GStreamer element's
//! `prep.rs`, whose fast path became the runtime's.)

use image::RgbImage;
use image::imageops::FilterType;
use reid_runtime::engine::preprocess::{
    ColorOrder, PreprocessConfig, normalize_planar, preprocess_image, resize_image, resize_triangle,
};

fn picture(w: u32, h: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |k: u32| ((x * 37 + y * 11 + seed * 53 + k * 97 + (x * y) % 17) % 256) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

/// The reference transform: `image`'s triangle resize, then scale, mean/std and channel order per pixel (the
/// runtime's `preprocess_image` before the fast path replaced it).
fn reference(img: &RgbImage, cfg: &PreprocessConfig) -> Vec<f32> {
    let resized;
    let img = if img.width() == cfg.width && img.height() == cfg.height {
        img
    } else {
        resized = image::imageops::resize(img, cfg.width, cfg.height, FilterType::Triangle);
        &resized
    };
    let divisor = (1.0 / cfg.scale) as f32;
    let channels: [usize; 3] = match cfg.color {
        ColorOrder::Rgb => [0, 1, 2],
        ColorOrder::Bgr => [2, 1, 0],
    };
    let hw = img.width() as usize * img.height() as usize;
    let mut out = vec![0.0f32; 3 * hw];
    for (i, p) in img.pixels().enumerate() {
        for (c, &src) in channels.iter().enumerate() {
            let v = f32::from(p[src]) / divisor;
            out[c * hw + i] = (v - cfg.mean[c]) / cfg.std[c];
        }
    }
    out
}

#[test]
fn resize_equals_image_crate_triangle() {
    let sizes = [(144, 360), (37, 91), (8, 16), (16, 8), (1, 1), (1, 200), (300, 1), (33, 64), (32, 70), (500, 400)];
    let targets = [(32, 64), (128, 256), (8, 16), (33, 64), (32, 65), (1, 1)];
    for (i, &(w, h)) in sizes.iter().enumerate() {
        let p = picture(w, h, i as u32);
        for &(nw, nh) in &targets {
            let want = image::imageops::resize(&p, nw, nh, FilterType::Triangle);
            let got = resize_triangle(p.as_raw(), w, h, nw, nh);
            assert!(got == want.as_raw().as_slice(), "{w}x{h} -> {nw}x{nh}");
            assert!(resize_image(&p, nw, nh) == want, "resize_image {w}x{h} -> {nw}x{nh}");
        }
    }
}

#[test]
fn preprocess_equals_the_reference_value_for_value() {
    let mut bgr = PreprocessConfig::imagenet(64, 32);
    bgr.color = ColorOrder::Bgr;
    bgr.mean = [0.1, 0.2, 0.3];
    let mut odd = PreprocessConfig::imagenet(17, 9);
    odd.scale = 1.0 / 127.5;
    for cfg in [PreprocessConfig::imagenet(64, 32), PreprocessConfig::imagenet(256, 128), bgr, odd] {
        for (i, (w, h)) in [(144, 360), (32, 64), (9, 17), (61, 23), (2, 3)].into_iter().enumerate() {
            let p = picture(w, h, 7 + i as u32);
            let want = reference(&p, &cfg);
            let got = preprocess_image(&p, &cfg);
            assert_eq!(got.len(), want.len());
            let same = got.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{w}x{h} with {cfg:?}");
        }
    }
}

#[test]
fn short_or_empty_input_gives_zeros_not_a_panic() {
    assert_eq!(resize_triangle(&[], 0, 0, 4, 2), vec![0u8; 24]);
    assert_eq!(resize_triangle(&[7; 5], 2, 2, 3, 3), vec![0u8; 27]);
    assert!(resize_triangle(&[7; 12], 2, 2, 0, 0).is_empty());
    assert_eq!(normalize_planar(&[1, 2], &PreprocessConfig::imagenet(1, 1)), Vec::<f32>::new());
}
