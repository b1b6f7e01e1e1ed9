//! Reading person crops out of raw video frames, independent of GStreamer's types so it is testable alone.
//!
//! - [`PixelLayout`]: the raw formats the elements accept (`RGB`, `RGBA`, `BGRx`, `NV12`, `I420`).
//! - [`FrameView`]: borrowed planes and strides of one frame, and its [`Colour`].
//! - [`clamp_box`]: a region of interest clipped to the frame (coordinates written as negative `int`s by C code
//!   are read back as negative).
//! - [`FrameView::crop_rgb`]: the pixels of a box as an [`image::RgbImage`]; YUV formats are converted with the
//!   frame's [`Colour`] (matrix BT.601, BT.709 or BT.2020; limited or full range, `colour.rs`) in 16.16 fixed
//!   point ([`yuv_to_rgb`], `yuv.rs`), chroma taken from the sample covering each pixel (no chroma
//!   interpolation). Which colour a GStreamer stream has is decided in [`crate::colorimetry`].

mod colour;
mod yuv;

pub use colour::{COEFFICIENTS, Colour, YuvCoefficients, YuvMatrix, YuvRange};
use yuv::yuv_row;
pub use yuv::yuv_to_rgb;

use image::RgbImage;
use thiserror::Error;

/// A raw video format the elements read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelLayout {
    /// Packed 8-bit R, G, B.
    Rgb,
    /// Packed 8-bit R, G, B, A.
    Rgba,
    /// Packed 8-bit B, G, R, padding.
    Bgrx,
    /// Planar Y, then interleaved U/V at half resolution both ways.
    Nv12,
    /// Planar Y, U, V; U and V at half resolution both ways.
    I420,
}

impl PixelLayout {
    /// The number of planes the layout uses.
    pub fn planes(self) -> usize {
        match self {
            PixelLayout::Rgb | PixelLayout::Rgba | PixelLayout::Bgrx => 1,
            PixelLayout::Nv12 => 2,
            PixelLayout::I420 => 3,
        }
    }

    /// The GStreamer caps name of the format (`RGB`, `NV12`, ...).
    pub fn caps_name(self) -> &'static str {
        match self {
            PixelLayout::Rgb => "RGB",
            PixelLayout::Rgba => "RGBA",
            PixelLayout::Bgrx => "BGRx",
            PixelLayout::Nv12 => "NV12",
            PixelLayout::I420 => "I420",
        }
    }
}

/// Why a frame cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    /// A plane is shorter than its stride and the frame height require.
    #[error("{layout:?} plane {plane} holds {got} bytes; a {width}x{height} frame with stride {stride} needs {need}")]
    PlaneTooShort {
        /// The frame's layout.
        layout: PixelLayout,
        /// Plane index.
        plane: usize,
        /// Bytes present.
        got: usize,
        /// Bytes required.
        need: usize,
        /// Frame width.
        width: u32,
        /// Frame height.
        height: u32,
        /// The plane's stride.
        stride: usize,
    },
    /// Fewer planes than the layout uses.
    #[error("{layout:?} needs {need} planes, got {got}")]
    MissingPlane {
        /// The frame's layout.
        layout: PixelLayout,
        /// Planes required.
        need: usize,
        /// Planes given.
        got: usize,
    },
}

/// One frame's planes, borrowed.
#[derive(Clone, Copy, Debug)]
pub struct FrameView<'a> {
    /// Pixel layout.
    pub layout: PixelLayout,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Plane data (unused planes are empty).
    pub planes: [&'a [u8]; 3],
    /// Bytes per row of each plane.
    pub strides: [usize; 3],
    /// How YUV samples map to RGB (unused for RGB layouts).
    pub colour: Colour,
}

/// A box in pixels, inside the frame: `x + width <= frame width`, `y + height <= frame height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PixelBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// The part of the ROI rectangle `(x, y, w, h)` inside a `width x height` frame, or `None` when nothing is left.
///
/// The ROI meta stores unsigned values, but detectors written in C sometimes store negative ints: values above
/// `i32::MAX` are read as the negative `i32` they were (a box starting at `x = -5` keeps its visible part), and a
/// width or height that is negative that way is empty.
pub fn clamp_box(rect: (u32, u32, u32, u32), width: u32, height: u32) -> Option<PixelBox> {
    let signed = |v: u32| i64::from(v as i32);
    let (x, y, w, h) = (signed(rect.0), signed(rect.1), signed(rect.2), signed(rect.3));
    if w <= 0 || h <= 0 {
        return None;
    }
    let x0 = x.clamp(0, i64::from(width));
    let y0 = y.clamp(0, i64::from(height));
    let x1 = (x + w).clamp(0, i64::from(width));
    let y1 = (y + h).clamp(0, i64::from(height));
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    // All four are clamped to `0..=u32::MAX`, so the casts are exact.
    Some(PixelBox { x: x0 as u32, y: y0 as u32, width: (x1 - x0) as u32, height: (y1 - y0) as u32 })
}

impl<'a> FrameView<'a> {
    /// Checks that every plane the layout uses is long enough for the frame size and stride.
    pub fn validate(&self) -> Result<(), FrameError> {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // (rows, bytes used per row) of each plane.
        let needs: &[(usize, usize)] = match self.layout {
            PixelLayout::Rgb => &[(h, 3 * w)],
            PixelLayout::Rgba | PixelLayout::Bgrx => &[(h, 4 * w)],
            PixelLayout::Nv12 => &[(h, w), (ch, 2 * cw)],
            PixelLayout::I420 => &[(h, w), (ch, cw), (ch, cw)],
        };
        for (plane, &(rows, row_bytes)) in needs.iter().enumerate() {
            let stride = self.strides[plane];
            let need = if rows == 0 { 0 } else { (rows - 1) * stride + row_bytes };
            let got = self.planes[plane].len();
            if stride < row_bytes || got < need {
                return Err(FrameError::PlaneTooShort {
                    layout: self.layout,
                    plane,
                    got,
                    need: need.max(rows * row_bytes),
                    width: self.width,
                    height: self.height,
                    stride,
                });
            }
        }
        Ok(())
    }

    /// The pixels of `area` (inside the frame, see [`clamp_box`]) as RGB. The frame must have passed
    /// [`FrameView::validate`]; a box sticking out of the frame is clamped again, so this never reads outside.
    pub fn crop_rgb(&self, area: PixelBox) -> RgbImage {
        let Some(area) = clamp_box((area.x, area.y, area.width, area.height), self.width, self.height) else {
            return RgbImage::new(0, 0);
        };
        let mut out = RgbImage::new(area.width, area.height);
        let (x0, y0) = (area.x as usize, area.y as usize);
        let w = area.width as usize;
        let [p0, p1, p2] = self.planes;
        let [s0, s1, s2] = self.strides;
        for (row, dst) in out.chunks_exact_mut(3 * w).enumerate() {
            let y = y0 + row;
            match self.layout {
                PixelLayout::Rgb => {
                    let start = y * s0 + 3 * x0;
                    dst.copy_from_slice(&p0[start..start + 3 * w]);
                }
                PixelLayout::Rgba | PixelLayout::Bgrx => {
                    let start = y * s0 + 4 * x0;
                    let src = &p0[start..start + 4 * w];
                    let bgr = self.layout == PixelLayout::Bgrx;
                    for (d, s) in dst.chunks_exact_mut(3).zip(src.chunks_exact(4)) {
                        if bgr {
                            d.copy_from_slice(&[s[2], s[1], s[0]]);
                        } else {
                            d.copy_from_slice(&s[..3]);
                        }
                    }
                }
                PixelLayout::Nv12 => {
                    let luma = &p0[y * s0 + x0..y * s0 + x0 + w];
                    // Chroma pairs (U, V) covering columns x0 & !1 .. x0 + w.
                    let c0 = (y / 2) * s1 + 2 * (x0 / 2);
                    let chroma = &p1[c0..c0 + 2 * ((x0 + w).div_ceil(2) - x0 / 2)];
                    yuv_row(self.colour, luma, chroma, &chroma[1..], 2, x0 % 2, dst);
                }
                PixelLayout::I420 => {
                    let luma = &p0[y * s0 + x0..y * s0 + x0 + w];
                    let (c0, cn) = ((y / 2) * s1 + x0 / 2, (x0 + w).div_ceil(2) - x0 / 2);
                    let u = &p1[c0..c0 + cn];
                    let c0 = (y / 2) * s2 + x0 / 2;
                    let v = &p2[c0..c0 + cn];
                    yuv_row(self.colour, luma, u, v, 1, x0 % 2, dst);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamp_keeps_the_visible_part() {
        assert_eq!(clamp_box((10, 20, 30, 40), 100, 100), Some(PixelBox { x: 10, y: 20, width: 30, height: 40 }));
        assert_eq!(clamp_box((90, 90, 30, 40), 100, 100), Some(PixelBox { x: 90, y: 90, width: 10, height: 10 }));
        assert_eq!(
            clamp_box((-5i32 as u32, 0, 20, 10), 100, 100),
            Some(PixelBox { x: 0, y: 0, width: 15, height: 10 })
        );
        assert_eq!(clamp_box((0, 0, 0, 10), 100, 100), None);
        assert_eq!(clamp_box((0, 0, -3i32 as u32, 10), 100, 100), None);
        assert_eq!(clamp_box((100, 0, 10, 10), 100, 100), None);
        assert_eq!(clamp_box((u32::MAX, u32::MAX, u32::MAX, u32::MAX), 100, 100), None);
        assert_eq!(clamp_box((i32::MAX as u32, 0, i32::MAX as u32, 5), 100, 100), None);
    }

    #[test]
    fn odd_offsets_take_the_covering_chroma_sample() {
        // 6x2 NV12 with distinct chroma per pair: every crop start (odd or even) must pick its pixel's pair, with
        // the view's colour.
        let y = vec![128u8; 12];
        let uv: Vec<u8> = vec![60, 200, 90, 180, 120, 40];
        let (u, v): (Vec<u8>, Vec<u8>) = uv.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
        for colour in Colour::all() {
            let c = colour.coefficients();
            let nv12 = FrameView {
                layout: PixelLayout::Nv12,
                width: 6,
                height: 2,
                planes: [&y, &uv, &[]],
                strides: [6, 6, 0],
                colour,
            };
            let i420 = FrameView { layout: PixelLayout::I420, planes: [&y, &u, &v], strides: [6, 3, 3], ..nv12 };
            for x0 in 0..6u32 {
                for w in 1..=6 - x0 {
                    let want: Vec<u8> = (x0..x0 + w)
                        .flat_map(|x| yuv_to_rgb(c, 128, uv[2 * (x as usize / 2)], uv[2 * (x as usize / 2) + 1]))
                        .collect();
                    let area = PixelBox { x: x0, y: 1, width: w, height: 1 };
                    assert_eq!(nv12.crop_rgb(area).as_raw(), &want, "{colour}: NV12 x0 {x0} w {w}");
                    assert_eq!(i420.crop_rgb(area).as_raw(), &want, "{colour}: I420 x0 {x0} w {w}");
                }
            }
        }
    }

    #[test]
    fn the_crop_follows_the_views_colour() {
        // Saturated chroma: every matrix and range gives other bytes, so a view that ignored its colour fails.
        let (y, uv) = (vec![90u8, 200, 90, 200], vec![40u8, 220]);
        let crops: Vec<Vec<u8>> = Colour::all()
            .map(|colour| {
                let view = FrameView {
                    layout: PixelLayout::Nv12,
                    width: 2,
                    height: 2,
                    planes: [&y, &uv, &[]],
                    strides: [2, 2, 0],
                    colour,
                };
                view.crop_rgb(PixelBox { x: 0, y: 0, width: 2, height: 2 }).into_raw()
            })
            .collect();
        for (i, a) in crops.iter().enumerate() {
            for b in &crops[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn crops_packed_and_planar() {
        // 4x2 RGB with a padded stride of 16.
        let mut rgb = vec![0u8; 16 * 2];
        for y in 0..2 {
            for x in 0..4 {
                rgb[y * 16 + 3 * x..y * 16 + 3 * x + 3].copy_from_slice(&[x as u8, y as u8, 7]);
            }
        }
        let view = FrameView {
            layout: PixelLayout::Rgb,
            width: 4,
            height: 2,
            planes: [&rgb, &[], &[]],
            strides: [16, 0, 0],
            colour: Colour::BT601_LIMITED,
        };
        view.validate().unwrap();
        let crop = view.crop_rgb(PixelBox { x: 1, y: 1, width: 2, height: 1 });
        assert_eq!(crop.as_raw(), &[1, 1, 7, 2, 1, 7]);

        let (y, uv) = (vec![235u8; 4 * 2], vec![128u8; 4]);
        let nv12 = FrameView { layout: PixelLayout::Nv12, planes: [&y, &uv, &[]], strides: [4, 4, 0], ..view };
        nv12.validate().unwrap();
        assert!(nv12.crop_rgb(PixelBox { x: 3, y: 1, width: 1, height: 1 }).as_raw().iter().all(|&v| v == 255));
        let short = FrameView { planes: [&y, &uv[..2], &[]], ..nv12 };
        assert!(short.validate().is_err());
    }
}
