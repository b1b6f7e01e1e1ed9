//! The camera's optics and sensor: Gaussian blur and noise over a region of an image.

use image::RgbImage;
use rand::Rng;
use rand_distr::StandardNormal;

use super::camera::Camera;
use super::raster::{Clip, Rect, to_u8};
use super::rng_for;

/// Applies the camera's blur and sensor noise to the pixels of `region` (clamped to the image); pixels outside
/// are untouched. The blur sigma scales with the region height ([`Camera::blur`] is for 128 pixels); the noise
/// is drawn from `seed`, so the same call gives the same pixels.
pub fn apply_sensor(camera: &Camera, image: &mut RgbImage, region: Rect, seed: u64) {
    let clip = region.clip(image.width(), image.height());
    if clip.is_empty() {
        return;
    }
    let sigma = camera.blur * region.height as f32 / 128.0;
    if sigma > 0.05 {
        blur(image, clip, sigma);
    }
    if camera.noise > 0.0 {
        let mut rng = rng_for(&[seed]);
        for y in clip.y0..clip.y1 {
            for x in clip.x0..clip.x1 {
                let pixel = image.get_pixel_mut(x, y);
                // Mostly luminance noise with a little chroma noise, as a sensor has.
                let luma: f32 = rng.sample(StandardNormal);
                for ch in 0..3 {
                    let chroma: f32 = rng.sample(StandardNormal);
                    let v = f32::from(pixel.0[ch]) / 255.0 + camera.noise * (0.8 * luma + 0.45 * chroma);
                    pixel.0[ch] = to_u8(v);
                }
            }
        }
    }
}

/// Separable Gaussian blur of the pixels inside `clip`, reading only pixels inside it (edges clamp).
fn blur(image: &mut RgbImage, clip: Clip, sigma: f32) {
    let radius = (sigma * 3.0).ceil() as i64;
    let kernel: Vec<f32> = (-radius..=radius).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let norm: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / norm).collect();
    let (w, h) = ((clip.x1 - clip.x0) as usize, (clip.y1 - clip.y0) as usize);
    let mut buf = vec![[0.0_f32; 3]; w * h];
    for y in 0..h {
        for x in 0..w {
            let p = image.get_pixel(clip.x0 + x as u32, clip.y0 + y as u32);
            buf[y * w + x] = p.0.map(|v| f32::from(v) / 255.0);
        }
    }
    let pass = |src: &[[f32; 3]], horizontal: bool| -> Vec<[f32; 3]> {
        let mut out = vec![[0.0_f32; 3]; w * h];
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0.0_f32; 3];
                for (k, weight) in kernel.iter().enumerate() {
                    let d = k as i64 - radius;
                    let (sx, sy) = if horizontal {
                        ((x as i64 + d).clamp(0, w as i64 - 1) as usize, y)
                    } else {
                        (x, (y as i64 + d).clamp(0, h as i64 - 1) as usize)
                    };
                    let s = src[sy * w + sx];
                    for ch in 0..3 {
                        acc[ch] += s[ch] * weight;
                    }
                }
                out[y * w + x] = acc;
            }
        }
        out
    };
    let horizontal = pass(&buf, true);
    let both = pass(&horizontal, false);
    for y in 0..h {
        for x in 0..w {
            let v = both[y * w + x];
            image.put_pixel(clip.x0 + x as u32, clip.y0 + y as u32, image::Rgb(v.map(to_u8)));
        }
    }
}
