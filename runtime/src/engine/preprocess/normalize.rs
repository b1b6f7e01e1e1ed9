//! Scale, mean/std and channel order of 8-bit RGB pixels into a planar `[3, height, width]` model input.

use super::PreprocessConfig;

/// Each 8-bit value's normalised value, per model channel: `(v / (1 / scale) - mean[c]) / std[c]`. Dividing by
/// the reciprocal of the scale keeps `v / 255.0`, bit for bit, as the trainer computes it.
fn table(cfg: &PreprocessConfig) -> [[f32; 256]; 3] {
    let divisor = (1.0 / cfg.scale) as f32;
    std::array::from_fn(|c| std::array::from_fn(|v| (f32::from(v as u8) / divisor - cfg.mean[c]) / cfg.std[c]))
}

/// The normalised planar `[3, n]` values of the first `n = pixels.len() / 3` packed RGB pixels, channels in the
/// model's order ([`PreprocessConfig::color`]).
pub fn normalize_planar(pixels: &[u8], cfg: &PreprocessConfig) -> Vec<f32> {
    let lut = table(cfg);
    let channels = cfg.color.source_channels();
    let n = pixels.len() / 3;
    let mut out = vec![0.0f32; 3 * n];
    let (r, rest) = out.split_at_mut(n);
    let (g, b) = rest.split_at_mut(n);
    for (i, p) in pixels.chunks_exact(3).enumerate() {
        r[i] = lut[0][usize::from(p[channels[0]])];
        g[i] = lut[1][usize::from(p[channels[1]])];
        b[i] = lut[2][usize::from(p[channels[2]])];
    }
    out
}
