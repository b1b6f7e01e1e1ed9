//! The colorimetry of a YUV frame as far as the conversion to RGB needs it: the matrix ([`YuvMatrix`]: BT.601,
//! BT.709, BT.2020 non-constant luminance) and the range ([`YuvRange`]: limited or full), and the 16.16
//! fixed-point coefficients of the conversion ([`YuvCoefficients`]) computed from them at compile time.
//!
//! The formula is the one GStreamer's `gst_video_color_matrix_get_Kr_Kb` documents (gst-plugins-base,
//! `gst-libs/gst/video/video-color.c`) and ITU-R BT.601-7, BT.709-6 and BT.2020-2 define. With luma and chroma
//! normalised by the range as `gst_video_color_range_offsets` does, `Y' = (Y - y0) / ys` in `0..1` and
//! `Cb = (U - 128) / cs`, `Cr = (V - 128) / cs` in `-0.5..0.5` (limited: `y0` 16, `ys` 219, `cs` 224; full: `y0` 0,
//! `ys` = `cs` = 255):
//!
//! ```text
//! R = 255 * (Y' + 2 (1 - Kr) Cr)
//! G = 255 * (Y' - 2 (1 - Kb) Kb / Kg Cb - 2 (1 - Kr) Kr / Kg Cr)      Kg = 1 - Kr - Kb
//! B = 255 * (Y' + 2 (1 - Kb) Cb)
//! ```
//!
//! rounded to nearest and clamped to `0..=255`. `Kr`, `Kb`: BT.601 0.299, 0.114; BT.709 0.2126, 0.0722; BT.2020
//! 0.2627, 0.0593 (the values GStreamer uses). Each coefficient is the real value rounded to 1/65536, as libyuv
//! and FFmpeg's swscale do; every output is within one level of the real-valued formula (see the tests).

use std::fmt;

/// The YUV -> RGB matrix of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum YuvMatrix {
    /// ITU-R BT.601 (SD video, JPEG): `Kr` 0.299, `Kb` 0.114.
    Bt601,
    /// ITU-R BT.709 (HD video): `Kr` 0.2126, `Kb` 0.0722.
    Bt709,
    /// ITU-R BT.2020 non-constant luminance (UHD video): `Kr` 0.2627, `Kb` 0.0593.
    Bt2020,
}

impl YuvMatrix {
    /// Every supported matrix.
    pub const ALL: [YuvMatrix; 3] = [YuvMatrix::Bt601, YuvMatrix::Bt709, YuvMatrix::Bt2020];

    /// The luma weights `(Kr, Kb)` of red and blue.
    pub const fn kr_kb(self) -> (f64, f64) {
        match self {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        }
    }

    /// The usual name (`BT.601`, ...).
    pub fn name(self) -> &'static str {
        match self {
            YuvMatrix::Bt601 => "BT.601",
            YuvMatrix::Bt709 => "BT.709",
            YuvMatrix::Bt2020 => "BT.2020",
        }
    }
}

/// The quantisation range of a YUV frame's 8-bit samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum YuvRange {
    /// "TV" range: `Y` in 16..=235, `U`/`V` in 16..=240 (values outside are kept and clamped after conversion).
    Limited,
    /// "PC"/JPEG range: `Y`, `U`, `V` in 0..=255.
    Full,
}

impl YuvRange {
    /// Both ranges.
    pub const ALL: [YuvRange; 2] = [YuvRange::Limited, YuvRange::Full];

    /// `(y0, ys, cs)`: luma offset, luma scale and chroma scale (see the module documentation).
    pub const fn offsets(self) -> (f64, f64, f64) {
        match self {
            YuvRange::Limited => (16.0, 219.0, 224.0),
            YuvRange::Full => (0.0, 255.0, 255.0),
        }
    }
}

/// How a YUV frame's samples map to RGB: matrix and range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Colour {
    /// The matrix.
    pub matrix: YuvMatrix,
    /// The range.
    pub range: YuvRange,
}

impl Colour {
    /// BT.601 limited range: GStreamer's default for YUV frames up to 576 lines.
    pub const BT601_LIMITED: Colour = Colour::new(YuvMatrix::Bt601, YuvRange::Limited);
    /// BT.709 limited range: GStreamer's default for YUV frames of more than 576 lines (1.22: at any height).
    pub const BT709_LIMITED: Colour = Colour::new(YuvMatrix::Bt709, YuvRange::Limited);

    /// A colour from its matrix and range.
    pub const fn new(matrix: YuvMatrix, range: YuvRange) -> Colour {
        Colour { matrix, range }
    }

    /// The six supported combinations.
    pub fn all() -> impl Iterator<Item = Colour> {
        YuvMatrix::ALL.into_iter().flat_map(|m| YuvRange::ALL.into_iter().map(move |r| Colour::new(m, r)))
    }

    /// This colour's place in [`COEFFICIENTS`] (matrix-major: BT.601 limited, BT.601 full, BT.709 limited, ...).
    pub const fn index(self) -> usize {
        let m = match self.matrix {
            YuvMatrix::Bt601 => 0,
            YuvMatrix::Bt709 => 1,
            YuvMatrix::Bt2020 => 2,
        };
        let r = match self.range {
            YuvRange::Limited => 0,
            YuvRange::Full => 1,
        };
        2 * m + r
    }

    /// The fixed-point coefficients of this colour's conversion (from [`COEFFICIENTS`], computed at compile time).
    pub fn coefficients(self) -> YuvCoefficients {
        COEFFICIENTS[self.index()]
    }

    /// The real-valued conversion of one sample (see the module documentation), before rounding: the reference
    /// the fixed-point coefficients are tested against.
    pub fn rgb_f64(self, y: u8, u: u8, v: u8) -> [f64; 3] {
        let (kr, kb) = self.matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y0, ys, cs) = self.range.offsets();
        let l = 255.0 * (f64::from(y) - y0) / ys;
        let (cb, cr) = (255.0 * (f64::from(u) - 128.0) / cs, 255.0 * (f64::from(v) - 128.0) / cs);
        [
            l + 2.0 * (1.0 - kr) * cr,
            l - 2.0 * (1.0 - kb) * kb / kg * cb - 2.0 * (1.0 - kr) * kr / kg * cr,
            l + 2.0 * (1.0 - kb) * cb,
        ]
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = match self.range {
            YuvRange::Limited => "limited",
            YuvRange::Full => "full",
        };
        write!(f, "{} {range} range", self.matrix.name())
    }
}

/// The conversion of one [`Colour`] in 16.16 fixed point: `R = (Y - y_offset) * y_gain + r_from_v * (V - 128)`,
/// `G = (Y - y_offset) * y_gain - g_from_u * (U - 128) - g_from_v * (V - 128)`,
/// `B = (Y - y_offset) * y_gain + b_from_u * (U - 128)`, each then rounded (`+ 1/2`, `>> 16`) and clamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvCoefficients {
    /// Black level of luma (16 limited, 0 full).
    pub y_offset: i32,
    /// Luma gain (`255 / ys`).
    pub y_gain: i32,
    /// `V` into R.
    pub r_from_v: i32,
    /// `U` out of G.
    pub g_from_u: i32,
    /// `V` out of G.
    pub g_from_v: i32,
    /// `U` into B.
    pub b_from_u: i32,
}

/// A positive real value in 16.16, rounded to nearest.
const fn fixed(x: f64) -> i32 {
    (x * 65536.0 + 0.5) as i32
}

impl YuvCoefficients {
    /// The coefficients of `matrix` and `range`, computed from `Kr`, `Kb` and the range's scales.
    pub const fn new(matrix: YuvMatrix, range: YuvRange) -> YuvCoefficients {
        let (kr, kb) = matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (y0, ys, cs) = range.offsets();
        let c = 255.0 / cs;
        YuvCoefficients {
            y_offset: y0 as i32,
            y_gain: fixed(255.0 / ys),
            r_from_v: fixed(c * 2.0 * (1.0 - kr)),
            g_from_u: fixed(c * 2.0 * (1.0 - kb) * kb / kg),
            g_from_v: fixed(c * 2.0 * (1.0 - kr) * kr / kg),
            b_from_u: fixed(c * 2.0 * (1.0 - kb)),
        }
    }
}

/// The coefficients of the six colours, in [`Colour::index`] order, computed at compile time (the row loop takes
/// them as constants: `yuv.rs`).
pub const COEFFICIENTS: [YuvCoefficients; 6] = [
    YuvCoefficients::new(YuvMatrix::Bt601, YuvRange::Limited),
    YuvCoefficients::new(YuvMatrix::Bt601, YuvRange::Full),
    YuvCoefficients::new(YuvMatrix::Bt709, YuvRange::Limited),
    YuvCoefficients::new(YuvMatrix::Bt709, YuvRange::Full),
    YuvCoefficients::new(YuvMatrix::Bt2020, YuvRange::Limited),
    YuvCoefficients::new(YuvMatrix::Bt2020, YuvRange::Full),
];

#[cfg(test)]
mod tests {
    use super::super::yuv::yuv_to_rgb;
    use super::*;

    #[test]
    fn bt601_limited_keeps_the_published_constants() {
        // The values the element used before colorimetry was honoured (and libyuv's BT.601 table, scaled).
        let c = Colour::BT601_LIMITED.coefficients();
        assert_eq!(
            (c.y_offset, c.y_gain, c.r_from_v, c.g_from_u, c.g_from_v, c.b_from_u),
            (16, 76_309, 104_597, 25_675, 53_279, 132_201)
        );
        // BT.709 limited: 1.164383, 1.792741, 0.213249, 0.532909, 2.112402 (ITU-R BT.709 inverted, as published).
        let c = Colour::BT709_LIMITED.coefficients();
        let want = [1.164383, 1.792741, 0.213249, 0.532909, 2.112402];
        for (got, want) in [c.y_gain, c.r_from_v, c.g_from_u, c.g_from_v, c.b_from_u].iter().zip(want) {
            assert!((f64::from(*got) / 65536.0 - want).abs() < 1e-5, "{got} vs {want}");
        }
        // Full range BT.601 is JPEG's: 1, 1.402, 0.344136, 0.714136, 1.772.
        let c = Colour::new(YuvMatrix::Bt601, YuvRange::Full).coefficients();
        let want = [1.0, 1.402, 0.344136, 0.714136, 1.772];
        for (got, want) in [c.y_gain, c.r_from_v, c.g_from_u, c.g_from_v, c.b_from_u].iter().zip(want) {
            assert!((f64::from(*got) / 65536.0 - want).abs() < 1e-5, "{got} vs {want}");
        }
        assert_eq!(c.y_offset, 0);
    }

    #[test]
    fn the_table_is_in_index_order() {
        for colour in Colour::all() {
            assert_eq!(COEFFICIENTS[colour.index()], YuvCoefficients::new(colour.matrix, colour.range), "{colour}");
        }
    }

    #[test]
    fn the_six_colours_differ() {
        let all: Vec<YuvCoefficients> = Colour::all().map(Colour::coefficients).collect();
        assert_eq!(all.len(), 6);
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn grey_black_and_white_for_every_colour() {
        for colour in Colour::all() {
            let (black, white) = match colour.range {
                YuvRange::Limited => (16, 235),
                YuvRange::Full => (0, 255),
            };
            let c = colour.coefficients();
            assert_eq!(yuv_to_rgb(c, black, 128, 128), [0, 0, 0], "{colour}");
            assert_eq!(yuv_to_rgb(c, white, 128, 128), [255, 255, 255], "{colour}");
            let grey = yuv_to_rgb(c, 126, 128, 128);
            assert!(grey[0] == grey[1] && grey[1] == grey[2] && grey[0] > 100 && grey[0] < 160, "{colour}: {grey:?}");
        }
    }

    /// Checks every `(y, u, v)` against [`Colour::rgb_f64`]; returns the share of channel values off by one.
    fn off_by_one_share(colour: Colour) -> f64 {
        let c = colour.coefficients();
        let (mut off, mut n) = (0usize, 0usize);
        for y in 0..=255u8 {
            for u in 0..=255u8 {
                for v in 0..=255u8 {
                    let want = colour.rgb_f64(y, u, v).map(|x| x.round().clamp(0.0, 255.0) as i32);
                    let got = yuv_to_rgb(c, y, u, v);
                    for ch in 0..3 {
                        let diff = (i32::from(got[ch]) - want[ch]).abs();
                        assert!(diff <= 1, "{colour}: y {y} u {u} v {v} channel {ch}: {} vs {}", got[ch], want[ch]);
                        off += diff as usize;
                    }
                    n += 3;
                }
            }
        }
        off as f64 / n as f64
    }

    #[test]
    fn fixed_point_is_within_one_level_of_the_real_formula() {
        // The whole cube, for all six. Off by one only where the real value lies within about 0.004 of a rounding
        // boundary.
        for colour in Colour::all() {
            let share = off_by_one_share(colour);
            assert!(share < 0.005, "{colour}: {:.4}% of channel values off by one", 100.0 * share);
        }
    }

    #[test]
    fn display_names_matrix_and_range() {
        assert_eq!(Colour::BT709_LIMITED.to_string(), "BT.709 limited range");
        assert_eq!(Colour::new(YuvMatrix::Bt2020, YuvRange::Full).to_string(), "BT.2020 full range");
    }
}
