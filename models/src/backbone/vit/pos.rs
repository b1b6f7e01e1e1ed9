//! Resizing a pretrained position embedding to the ReID patch grid, as TransReID's `resize_pos_embed`: the
//! class token's row is kept, the square `g x g` grid (14 x 14 for the 224 x 224 ImageNet checkpoints) is
//! interpolated bilinearly to `num_y x num_x` with PyTorch's `F.interpolate(mode='bilinear',
//! align_corners=False)` sampling (half-pixel centres, edge-clamped, no antialiasing when shrinking).

use crate::error::ModelError;

/// For each output index along one axis: the two source indices and their weights (PyTorch's
/// `area_pixel_compute_source_index` with `align_corners=False` and scale `input / output`).
pub fn bilinear_taps(input: usize, output: usize) -> Vec<(usize, usize, f32, f32)> {
    let scale = input as f32 / output as f32;
    (0..output)
        .map(|i| {
            let src = (scale * (i as f32 + 0.5) - 0.5).max(0.0);
            let i0 = (src as usize).min(input - 1);
            let i1 = if i0 < input - 1 { i0 + 1 } else { i0 };
            let l1 = src - i0 as f32;
            (i0, i1, 1.0 - l1, l1)
        })
        .collect()
}

/// `posemb` `[1, 1 + g*g, dim]` (row-major values, `tokens = 1 + g*g`) resized to `[1, 1 + gy*gx, dim]`.
/// `origin` names where the tensor came from, for the error.
pub fn resize_pos_embed(
    posemb: &[f32],
    tokens: usize,
    dim: usize,
    grid: [usize; 2],
    origin: &str,
) -> Result<Vec<f32>, ModelError> {
    let err =
        |reason: String| ModelError::PosEmbed { origin: origin.to_owned(), shape: vec![1, tokens, dim], grid, reason };
    if posemb.len() != tokens * dim {
        return Err(err(format!("{} values for {tokens} x {dim}", posemb.len())));
    }
    if tokens < 2 || dim == 0 || grid[0] == 0 || grid[1] == 0 {
        return Err(err("no grid tokens besides the class token".into()));
    }
    let cells = tokens - 1;
    let g = (cells as f64).sqrt().round() as usize;
    if g * g != cells {
        return Err(err(format!("{cells} grid tokens are not a square grid (TransReID resizes square grids only)")));
    }
    let (rows, cols) = (bilinear_taps(g, grid[0]), bilinear_taps(g, grid[1]));
    let mut out = Vec::with_capacity((1 + grid[0] * grid[1]) * dim);
    out.extend_from_slice(&posemb[..dim]);
    let at = |r: usize, c: usize, d: usize| posemb[(1 + r * g + c) * dim + d];
    for &(r0, r1, wr0, wr1) in &rows {
        for &(c0, c1, wc0, wc1) in &cols {
            for d in 0..dim {
                let top = wc0 * at(r0, c0, d) + wc1 * at(r0, c1, d);
                let bottom = wc0 * at(r1, c0, d) + wc1 * at(r1, c1, d);
                out.push(wr0 * top + wr1 * bottom);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taps_match_pytorch_half_pixel_rule() {
        // 2 -> 4: src = 0.5 i - 0.25, clamped: 0, 0.25, 0.75, 1.25 (-> index 1, upper tap clamped).
        let t = bilinear_taps(2, 4);
        assert_eq!((t[0].0, t[0].1, t[0].3), (0, 1, 0.0));
        assert_eq!((t[1].0, t[1].1, t[1].3), (0, 1, 0.25));
        assert_eq!((t[2].0, t[2].1, t[2].3), (0, 1, 0.75));
        assert_eq!((t[3].0, t[3].1), (1, 1));
        // Same size is the identity.
        assert!(bilinear_taps(5, 5).iter().enumerate().all(|(i, t)| t.0 == i && t.3 == 0.0));
    }

    #[test]
    fn keeps_the_class_token_and_rejects_non_square_grids() {
        // 2x2 grid of dim 1: values 1..4 row-major, class token 9.
        let out = resize_pos_embed(&[9.0, 1.0, 2.0, 3.0, 4.0], 5, 1, [1, 1], "t").unwrap();
        assert_eq!(out, vec![9.0, 2.5]);
        let e = resize_pos_embed(&[0.0; 7], 7, 1, [2, 2], "ckpt.pth").unwrap_err().to_string();
        assert!(e.contains("ckpt.pth") && e.contains("6 grid tokens"), "{e}");
    }
}
