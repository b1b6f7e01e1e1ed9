//! The trainer's evaluation transform, value for value: decode to RGB, bilinear resize (`image`'s
//! `FilterType::Triangle`) to `width x height`, scale 8-bit values (`/255`), `(v - mean[c]) / std[c]`, planar
//! `[3, height, width]`; a BGR model gets its channels swapped before the mean/std step.

use super::EngineError;
use image::RgbImage;
use image::imageops::FilterType;
use std::path::Path;

/// Channel order a model expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorOrder {
    /// Red, green, blue (the models this stack exports).
    #[default]
    Rgb,
    /// Blue, green, red (some third-party models).
    Bgr,
}

/// Everything needed to turn an image into a model input.
#[derive(Clone, Debug, PartialEq)]
pub struct PreprocessConfig {
    /// Input height in pixels.
    pub height: u32,
    /// Input width in pixels.
    pub width: u32,
    /// Per-channel mean of scaled pixels, in the model's channel order.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, in the model's channel order.
    pub std: [f32; 3],
    /// Factor applied to 8-bit values before mean/std (1/255).
    pub scale: f64,
    /// Channel order of the input.
    pub color: ColorOrder,
}

/// ImageNet per-channel mean (RGB), the usual `pixel_mean`.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet per-channel standard deviation (RGB), the usual `pixel_std`.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl PreprocessConfig {
    /// `height x width`, ImageNet mean/std, `1/255`, RGB.
    pub fn imagenet(height: u32, width: u32) -> Self {
        Self { height, width, mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 1.0 / 255.0, color: ColorOrder::Rgb }
    }

    /// Values per preprocessed image (`3 x height x width`).
    pub fn plane_len(&self) -> usize {
        3 * self.height as usize * self.width as usize
    }
}

/// Decodes an image file (format guessed from its bytes) to RGB, naming the file on failure.
pub fn decode_image(path: &Path) -> Result<RgbImage, EngineError> {
    let err = |message: String| EngineError::Decode { path: path.to_owned(), message };
    let reader = image::ImageReader::open(path).map_err(|e| err(e.to_string()))?;
    let reader = reader.with_guessed_format().map_err(|e| err(e.to_string()))?;
    Ok(reader.decode().map_err(|e| err(e.to_string()))?.to_rgb8())
}

/// The normalised planar `[3, height, width]` input of `img`.
pub fn preprocess_image(img: &RgbImage, cfg: &PreprocessConfig) -> Vec<f32> {
    let resized;
    let img = if img.width() == cfg.width && img.height() == cfg.height {
        img
    } else {
        resized = image::imageops::resize(img, cfg.width, cfg.height, FilterType::Triangle);
        &resized
    };
    // Dividing by the reciprocal of the scale keeps `v / 255.0`, bit for bit, as the trainer computes it.
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

/// Decodes and preprocesses one image file.
pub fn load_image(path: &Path, cfg: &PreprocessConfig) -> Result<Vec<f32>, EngineError> {
    Ok(preprocess_image(&decode_image(path)?, cfg))
}

/// Mirrors each row of a planar `[.., h, w]` buffer (any number of planes and images).
pub fn flip_horizontal(chw: &mut [f32], w: usize) {
    for row in chw.chunks_exact_mut(w.max(1)) {
        row.reverse();
    }
}
