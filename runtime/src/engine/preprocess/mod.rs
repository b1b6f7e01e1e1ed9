//! The trainer's evaluation transform, value for value, and the one preprocessing of every engine caller
//! (`reid embed`, the trainer's evaluation, the GStreamer element): decode to RGB, bilinear resize (equal byte for
//! byte to `image`'s `FilterType::Triangle`, about twice as fast: [`resize_triangle`]) to `width x height`, scale
//! 8-bit values (`/255`), `(v - mean[c]) / std[c]`, planar `[3, height, width]`; a BGR model gets its channels
//! swapped before the mean/std step ([`normalize_planar`]).

mod config;
mod normalize;
mod resize;

pub use config::{ColorOrder, IMAGENET_MEAN, IMAGENET_STD, PreprocessConfig};
pub use normalize::normalize_planar;
pub use resize::{resize_image, resize_triangle};

use super::EngineError;
use image::RgbImage;
use std::path::Path;

/// Decodes an image file (format guessed from its bytes) to RGB, naming the file on failure.
pub fn decode_image(path: &Path) -> Result<RgbImage, EngineError> {
    let err = |message: String| EngineError::Decode { path: path.to_owned(), message };
    let reader = image::ImageReader::open(path).map_err(|e| err(e.to_string()))?;
    let reader = reader.with_guessed_format().map_err(|e| err(e.to_string()))?;
    Ok(reader.decode().map_err(|e| err(e.to_string()))?.to_rgb8())
}

/// The normalised planar `[3, height, width]` input of `img`: bilinear resize to the model's size (skipped when
/// `img` already has it), then [`normalize_planar`].
pub fn preprocess_image(img: &RgbImage, cfg: &PreprocessConfig) -> Vec<f32> {
    if img.width() == cfg.width && img.height() == cfg.height {
        return normalize_planar(img.as_raw(), cfg);
    }
    normalize_planar(&resize_triangle(img.as_raw(), img.width(), img.height(), cfg.width, cfg.height), cfg)
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
