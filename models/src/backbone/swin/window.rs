//! Window bookkeeping of shifted-window attention: partition, reverse, the shift rule, and the mask that keeps
//! a shifted window from attending across the regions the cyclic shift brought together.

use burn::tensor::{Device, Tensor, TensorData};

/// Value added to the attention logits of token pairs from different regions (as timm and the original code).
pub const MASK_VALUE: f32 = -100.0;

/// The window geometry of one block on an `h x w` map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Map height.
    pub h: usize,
    /// Map width.
    pub w: usize,
    /// Height padded up to a multiple of the window.
    pub hp: usize,
    /// Width padded up to a multiple of the window.
    pub wp: usize,
    /// Window edge.
    pub ws: usize,
    /// Cyclic shift (0 for none).
    pub shift: usize,
}

impl Geometry {
    /// Geometry of block `index` (within its stage) on an `h x w` map with window `ws`.
    ///
    /// Odd blocks shift by `ws / 2`, except when the whole map fits in one window (then shifting would only
    /// mix the map with its own padding): this reproduces timm at 224x224 (the 7x7 last stage is unshifted)
    /// and the Swin detection backbone / SOLIDER-REID at ReID sizes such as 384x128, where maps are padded
    /// to a multiple of the window in every block.
    pub fn new(h: usize, w: usize, ws: usize, index: usize) -> Self {
        let fits = h <= ws && w <= ws;
        let shift = if index % 2 == 1 && !fits { ws / 2 } else { 0 };
        Geometry { h, w, hp: h.div_ceil(ws) * ws, wp: w.div_ceil(ws) * ws, ws, shift }
    }

    /// Windows per image.
    pub fn windows(&self) -> usize {
        (self.hp / self.ws) * (self.wp / self.ws)
    }

    /// The additive attention mask `[windows, ws*ws, ws*ws]` of a shifted block (None without shift).
    pub fn mask(&self, device: &Device) -> Option<Tensor<3>> {
        let data = self.mask_values()?;
        let n = self.ws * self.ws;
        Some(Tensor::from_data(TensorData::new(data, [self.windows(), n, n]), device))
    }

    /// The values of [`Geometry::mask`], row-major.
    pub fn mask_values(&self) -> Option<Vec<f32>> {
        if self.shift == 0 {
            return None;
        }
        let (ws, s) = (self.ws, self.shift);
        // Region id of every position of the padded map: three bands per axis after the shift.
        let band = |pos: usize, len: usize| -> usize {
            if pos < len - ws {
                0
            } else if pos < len - s {
                1
            } else {
                2
            }
        };
        let n = ws * ws;
        let (nh, nw) = (self.hp / ws, self.wp / ws);
        let mut data = Vec::with_capacity(nh * nw * n * n);
        let mut ids = vec![0usize; n];
        for wi in 0..nh {
            for wj in 0..nw {
                for a in 0..ws {
                    for b in 0..ws {
                        ids[a * ws + b] = band(wi * ws + a, self.hp) * 3 + band(wj * ws + b, self.wp);
                    }
                }
                for i in 0..n {
                    for j in 0..n {
                        data.push(if ids[i] == ids[j] { 0.0 } else { MASK_VALUE });
                    }
                }
            }
        }
        Some(data)
    }
}

/// `[B, Hp, Wp, C]` to `[B * windows, ws * ws, C]`, windows in row-major order.
pub fn partition(x: Tensor<4>, ws: usize) -> Tensor<3> {
    let [b, hp, wp, c] = x.dims();
    x.reshape([b, hp / ws, ws, wp / ws, ws, c]).permute([0, 1, 3, 2, 4, 5]).reshape([
        b * (hp / ws) * (wp / ws),
        ws * ws,
        c,
    ])
}

/// The inverse of [`partition`] for a `hp x wp` map.
pub fn reverse(windows: Tensor<3>, ws: usize, hp: usize, wp: usize) -> Tensor<4> {
    let [bw, _, c] = windows.dims();
    let b = bw / ((hp / ws) * (wp / ws));
    windows.reshape([b, hp / ws, wp / ws, ws, ws, c]).permute([0, 1, 3, 2, 4, 5]).reshape([b, hp, wp, c])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_rule_and_padding() {
        let g = Geometry::new(12, 4, 7, 1);
        assert_eq!((g.hp, g.wp, g.shift, g.windows()), (14, 7, 3, 2));
        assert_eq!(Geometry::new(7, 7, 7, 1).shift, 0, "a map that fits one window is not shifted");
        assert_eq!(Geometry::new(56, 56, 7, 0).shift, 0);
        assert_eq!(Geometry::new(56, 56, 7, 3).shift, 3);
    }

    #[test]
    fn mask_separates_regions() {
        let device = Device::flex();
        let g = Geometry::new(14, 7, 7, 1);
        let m: Vec<f32> = g.mask(&device).unwrap().into_data().try_to_vec().unwrap();
        let n = 49;
        // Window 0 (rows 0..7) is in band 0 for rows 0..7 and bands 0/1/2 by column: columns 0..0, 0..4, 4..7
        // (len 7 - ws = 0, len - shift = 4). Tokens (0,0) and (0,5) differ in column band: masked.
        assert_eq!(m[5], MASK_VALUE);
        // (0,0) and (0,1) share bands 0/1: not masked.
        assert_eq!(m[1], 0.0);
        // Window 1 (rows 7..14) has rows 7..11 in band 1 and 11..14 in band 2.
        let w1 = n * n;
        assert_eq!(m[w1 + 4 * 7], MASK_VALUE, "row 7 vs row 11 of window 1");
        assert_eq!(m[w1 + 3 * 7], 0.0, "row 7 vs row 10");
    }

    #[test]
    fn partition_and_reverse_are_inverse() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..2 * 14 * 7 * 3).map(|v| v as f32).collect::<Vec<_>>(), [2, 14, 7, 3]),
            &device,
        );
        let w = partition(x.clone(), 7);
        assert_eq!(w.dims(), [4, 49, 3]);
        let first: Vec<f32> = w.clone().narrow(0, 1, 1).into_data().try_to_vec().unwrap();
        // Window 1 of image 0 starts at row 7, column 0: element index (7 * 7 + 0) * 3.
        assert_eq!(first[0], (7 * 7 * 3) as f32);
        let back = reverse(w, 7, 14, 7);
        assert_eq!(back.into_data(), x.into_data());
    }
}
