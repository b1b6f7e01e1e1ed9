//! Image transforms of the TAO / strong-baseline recipe (Luo et al. 2019, `data/transforms/build.py`):
//! training = resize -> horizontal flip (`prob`) -> zero padding (`padding`) + random crop -> to `[0, 1]` ->
//! normalise (`pixel_mean`, `pixel_std`) -> random erasing (`re_prob`, Zhong et al. 2020);
//! evaluation = resize -> to `[0, 1]` -> normalise.
//!
//! Every step is a small pure function over a planar `f32` CHW buffer so that tests can check it by hand;
//! the random choices are drawn separately ([`sample_train_params`]) from a caller-seeded RNG.

use image::RgbImage;
use rand::Rng;
use reid_runtime::engine::preprocess::{ColorOrder, PreprocessConfig, preprocess_image, resize_image};

/// Transform settings (the `dataset` and `model` keys that shape an input tensor).
#[derive(Clone, Debug, PartialEq)]
pub struct AugmentConfig {
    /// Network input height (`model.input_height`).
    pub height: u32,
    /// Network input width (`model.input_width`).
    pub width: u32,
    /// Zero padding before the random crop (`dataset.padding`).
    pub padding: u32,
    /// Horizontal flip probability (`dataset.prob`).
    pub flip_prob: f64,
    /// Random erasing probability (`dataset.re_prob`).
    pub re_prob: f64,
    /// Per-channel mean of `[0, 1]` pixels (`dataset.pixel_mean`).
    pub mean: [f32; 3],
    /// Per-channel standard deviation (`dataset.pixel_std`).
    pub std: [f32; 3],
}

/// A rectangle in the network input: rows `top..top + height`, columns `left..left + width`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rect {
    /// First row.
    pub top: usize,
    /// First column.
    pub left: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// The random choices of one training transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainParams {
    /// Mirror left-right.
    pub flip: bool,
    /// Crop offset (rows) into the padded image, in `0..=2 * padding`.
    pub crop_top: u32,
    /// Crop offset (columns) into the padded image, in `0..=2 * padding`.
    pub crop_left: u32,
    /// The erased rectangle, if any.
    pub erase: Option<Rect>,
}

/// Random erasing's area range as a share of the image (`sl`, `sh`) and minimum aspect ratio (`r1`), as in
/// Zhong et al. 2020 and the strong baseline.
const ERASE_AREA: (f64, f64) = (0.02, 0.4);
const ERASE_MIN_ASPECT: f64 = 0.3;
/// Attempts at a rectangle that fits before giving up (the reference implementation's 100).
const ERASE_ATTEMPTS: usize = 100;

/// Draws the random choices of one training transform.
pub fn sample_train_params(cfg: &AugmentConfig, rng: &mut impl Rng) -> TrainParams {
    let flip = rng.random::<f64>() < cfg.flip_prob;
    let crop_top = rng.random_range(0..=2 * cfg.padding);
    let crop_left = rng.random_range(0..=2 * cfg.padding);
    let erase = if rng.random::<f64>() < cfg.re_prob {
        sample_erase_rect(cfg.height as usize, cfg.width as usize, rng)
    } else {
        None
    };
    TrainParams { flip, crop_top, crop_left, erase }
}

/// A random-erasing rectangle for an `h x w` image: area `U(0.02, 0.4)` of the image, aspect ratio
/// `U(0.3, 1/0.3)`, placed uniformly; `None` when 100 attempts found none that fits.
pub fn sample_erase_rect(h: usize, w: usize, rng: &mut impl Rng) -> Option<Rect> {
    let area = (h * w) as f64;
    for _ in 0..ERASE_ATTEMPTS {
        let target = rng.random_range(ERASE_AREA.0..ERASE_AREA.1) * area;
        let aspect = rng.random_range(ERASE_MIN_ASPECT..1.0 / ERASE_MIN_ASPECT);
        let eh = (target * aspect).sqrt().round() as usize;
        let ew = (target / aspect).sqrt().round() as usize;
        if eh > 0 && ew > 0 && eh < h && ew < w {
            let top = rng.random_range(0..=h - eh);
            let left = rng.random_range(0..=w - ew);
            return Some(Rect { top, left, height: eh, width: ew });
        }
    }
    None
}

/// Resizes to the network input (bilinear, as torchvision's default `Resize`): the runtime's resize, equal byte
/// for byte to `image`'s `FilterType::Triangle`.
pub fn resize(img: &RgbImage, cfg: &AugmentConfig) -> RgbImage {
    resize_image(img, cfg.width, cfg.height)
}

/// Planar `[3, h, w]` values in `[0, 1]`.
pub fn to_chw(img: &RgbImage) -> Vec<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let mut out = vec![0.0f32; 3 * h * w];
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            out[c * h * w + i] = f32::from(p[c]) / 255.0;
        }
    }
    out
}

/// Mirrors each row of a planar `[c, h, w]` buffer (the runtime's, shared with deployment).
pub use reid_runtime::engine::preprocess::flip_horizontal;

/// Zero-pads a planar `[c, h, w]` buffer by `padding` on every side and crops `h x w` at `(top, left)` of the
/// padded image (torchvision `Pad(padding)` then `RandomCrop` at that offset).
pub fn pad_crop(chw: &[f32], h: usize, w: usize, padding: usize, top: usize, left: usize) -> Vec<f32> {
    let channels = chw.len() / (h * w);
    let mut out = vec![0.0f32; chw.len()];
    for c in 0..channels {
        for y in 0..h {
            let sy = (y + top) as isize - padding as isize;
            if sy < 0 || sy >= h as isize {
                continue;
            }
            for x in 0..w {
                let sx = (x + left) as isize - padding as isize;
                if sx >= 0 && sx < w as isize {
                    out[(c * h + y) * w + x] = chw[(c * h + sy as usize) * w + sx as usize];
                }
            }
        }
    }
    out
}

/// `(v - mean[c]) / std[c]` per channel of a planar buffer.
pub fn normalize(chw: &mut [f32], mean: &[f32; 3], std: &[f32; 3]) {
    let plane = chw.len() / 3;
    for (c, values) in chw.chunks_exact_mut(plane).enumerate() {
        for v in values {
            *v = (*v - mean[c]) / std[c];
        }
    }
}

/// Fills `rect` of every channel with that channel's `fill` value (random erasing; the strong baseline fills
/// the normalised tensor with `pixel_mean`).
pub fn erase(chw: &mut [f32], h: usize, w: usize, rect: Rect, fill: &[f32; 3]) {
    for (c, fill) in fill.iter().enumerate() {
        for y in rect.top..(rect.top + rect.height).min(h) {
            let row = &mut chw[(c * h + y) * w..(c * h + y + 1) * w];
            for v in &mut row[rect.left..(rect.left + rect.width).min(w)] {
                *v = *fill;
            }
        }
    }
}

/// The training transform with the given random choices: a normalised `[3, height, width]` buffer.
pub fn train_transform(img: &RgbImage, cfg: &AugmentConfig, params: &TrainParams) -> Vec<f32> {
    let (h, w) = (cfg.height as usize, cfg.width as usize);
    let mut chw = to_chw(&resize(img, cfg));
    if params.flip {
        flip_horizontal(&mut chw, w);
    }
    if cfg.padding > 0 {
        chw = pad_crop(&chw, h, w, cfg.padding as usize, params.crop_top as usize, params.crop_left as usize);
    }
    normalize(&mut chw, &cfg.mean, &cfg.std);
    if let Some(rect) = params.erase {
        erase(&mut chw, h, w, rect, &cfg.mean);
    }
    chw
}

/// The runtime's preprocessing with this transform's size and normalisation (RGB, pixels / 255).
pub fn preprocess_config(cfg: &AugmentConfig) -> PreprocessConfig {
    PreprocessConfig {
        height: cfg.height,
        width: cfg.width,
        mean: cfg.mean,
        std: cfg.std,
        scale: 1.0 / 255.0,
        color: ColorOrder::Rgb,
    }
}

/// The evaluation transform: a normalised `[3, height, width]` buffer. It is the runtime's preprocessing, so a
/// network is validated on exactly the inputs the deployed engines give it.
pub fn eval_transform(img: &RgbImage, cfg: &AugmentConfig) -> Vec<f32> {
    preprocess_image(img, &preprocess_config(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn cfg(h: u32, w: u32) -> AugmentConfig {
        AugmentConfig {
            height: h,
            width: w,
            padding: 1,
            flip_prob: 0.5,
            re_prob: 0.5,
            mean: [0.5, 0.25, 0.0],
            std: [0.5, 0.25, 1.0],
        }
    }

    #[test]
    fn flip_mirrors_rows_of_every_channel() {
        // 2 channels of 2x3.
        let mut v = vec![1., 2., 3., 4., 5., 6., 7., 8., 9., 10., 11., 12.];
        flip_horizontal(&mut v, 3);
        assert_eq!(v, vec![3., 2., 1., 6., 5., 4., 9., 8., 7., 12., 11., 10.]);
    }

    #[test]
    fn pad_crop_shifts_in_zeros() {
        // One channel 2x3: [[1,2,3],[4,5,6]], padding 1.
        let v = vec![1., 2., 3., 4., 5., 6.];
        assert_eq!(pad_crop(&v, 2, 3, 1, 1, 1), v, "offset (p, p) is the identity");
        assert_eq!(pad_crop(&v, 2, 3, 1, 0, 0), vec![0., 0., 0., 0., 1., 2.]);
        assert_eq!(pad_crop(&v, 2, 3, 1, 2, 2), vec![5., 6., 0., 0., 0., 0.]);
        assert_eq!(pad_crop(&v, 2, 3, 1, 1, 2), vec![2., 3., 0., 5., 6., 0.]);
    }

    #[test]
    fn normalize_and_erase_per_channel() {
        let mut v = vec![1.0; 3 * 4];
        normalize(&mut v, &[0.5, 0.25, 0.0], &[0.5, 0.25, 1.0]);
        assert_eq!(&v[..4], &[1.0; 4]);
        assert_eq!(&v[4..8], &[3.0; 4]);
        assert_eq!(&v[8..], &[1.0; 4]);
        erase(&mut v, 2, 2, Rect { top: 1, left: 0, height: 1, width: 2 }, &[-1., -2., -3.]);
        assert_eq!(v, vec![1., 1., -1., -1., 3., 3., -2., -2., 1., 1., -3., -3.]);
    }

    #[test]
    fn to_chw_scales_and_plans() {
        let img = RgbImage::from_raw(2, 1, vec![255, 0, 51, 0, 102, 255]).unwrap();
        assert_eq!(to_chw(&img), vec![1.0, 0.0, 0.0, 0.4, 0.2, 1.0]);
    }

    #[test]
    fn erase_rects_fit_and_cover_the_stated_area() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut seen = 0;
        for _ in 0..500 {
            if let Some(r) = sample_erase_rect(128, 64, &mut rng) {
                seen += 1;
                assert!(r.top + r.height <= 128 && r.left + r.width <= 64);
                let share = (r.height * r.width) as f64 / (128.0 * 64.0);
                // Rounding of the sides widens the band slightly.
                assert!((0.015..0.45).contains(&share), "{share}");
                let aspect = r.height as f64 / r.width as f64;
                assert!((0.25..3.6).contains(&aspect), "{aspect}");
            }
        }
        assert!(seen > 450, "a 128x64 image nearly always fits a rectangle ({seen})");
    }

    #[test]
    fn probabilities_zero_and_one_are_respected() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut c = cfg(8, 4);
        c.flip_prob = 0.0;
        c.re_prob = 0.0;
        c.padding = 0;
        for _ in 0..50 {
            let p = sample_train_params(&c, &mut rng);
            assert_eq!(p, TrainParams { flip: false, crop_top: 0, crop_left: 0, erase: None });
        }
        c.flip_prob = 1.0;
        assert!((0..50).all(|_| sample_train_params(&c, &mut rng).flip));
    }

    #[test]
    fn train_transform_composes_the_steps_in_order() {
        // A 3x2 image whose red channel counts pixels; padding 1, flip, offset (1, 0) => shift right by one.
        let raw: Vec<u8> = (0..6u8).flat_map(|i| [i * 51, 0, 255]).collect();
        let img = RgbImage::from_raw(2, 3, raw).unwrap();
        let c = cfg(3, 2);
        let params = TrainParams { flip: true, crop_top: 1, crop_left: 0, erase: None };
        let out = train_transform(&img, &c, &params);
        // Red after flip: rows [1,0],[3,2],[5,4] (x 0.2); crop from left 0 shifts right: [pad, 1], [pad, 3], [pad, 5].
        let red: Vec<f32> = out[..6].iter().map(|v| v * 0.5 + 0.5).collect();
        let expect = [0.0, 0.2, 0.0, 0.6, 0.0, 1.0];
        for (a, b) in red.iter().zip(expect) {
            assert!((a - b).abs() < 1e-6, "{red:?}");
        }
        // Blue is 1.0 where an image pixel landed and 0 (padding) elsewhere; std 1 mean 0 keeps values.
        assert_eq!(&out[12..], &[0.0, 1.0, 0.0, 1.0, 0.0, 1.0]);
        assert_eq!(eval_transform(&img, &c)[12..], [1.0; 6]);
    }
}
