//! Which [`Colour`] a negotiated YUV stream has: the matrix and range of its caps' colorimetry, as
//! `gst_video::VideoInfo::from_caps` reads them.
//!
//! - `bt601`, `bt709`, `bt2020` (and `bt2020-10`, `bt2100-pq`, `bt2100-hlg`: the BT.2020 matrix), limited or full
//!   range, in any spelling GStreamer parses (`bt709`, `1:3:5:1`, ...): honoured as they are.
//! - No `colorimetry` field: `VideoInfo::from_caps` fills GStreamer's default (`set_default_colorimetry` in
//!   gst-plugins-base `video-info.c`), and the element uses it: YUV frames up to 576 lines BT.601, from 577 lines
//!   BT.709, all limited range (checked on GStreamer 1.22, which gives BT.709 at 2160 lines and more too; newer
//!   gst-plugins-base has a rule giving BT.2020 from 2160 lines, which the element then follows as well). An unparsable colorimetry,
//!   the RGB matrix or an unknown matrix on a YUV format get the same default from `from_caps` (GStreamer logs a
//!   warning of its own).
//! - Matrices GStreamer knows but this element does not convert with: SMPTE 240M is read as BT.709 (`Kr` 0.212,
//!   `Kb` 0.087 against 0.2126, 0.0722), FCC as BT.601 (0.30, 0.11 against 0.299, 0.114), with one warning per
//!   negotiation naming the matrix. A matrix that is unknown here in a hand-built `VideoInfo` gets the installed
//!   GStreamer's default for the frame height ([`default_colour`]), with the same warning.
//! - An unknown range is read as full range, as GStreamer's own conversion does (`gst_video_color_range_offsets`
//!   treats every range other than 16-235 as 0-255), with the same warning.

use crate::frame::{Colour, YuvMatrix, YuvRange};
use gst_video::{VideoColorMatrix, VideoColorRange, VideoColorimetry};

/// The colour of a stream and, when it is not exactly what the caps say, why (for one warning).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The colour the conversion uses.
    pub colour: Colour,
    /// Set when a matrix or range of the caps is not supported and a fallback was chosen: what and which.
    pub fallback: Option<String>,
}

/// GStreamer's default colour of a YUV frame `height` lines high, as the installed GStreamer gives it
/// (`gst_video_info_set_format` applies the same default as `from_caps`); BT.601 up to 576 lines and BT.709 above
/// if it gives no supported matrix. Needs `gst::init`.
pub fn default_colour(height: u32) -> Colour {
    let rule = if height > 576 { YuvMatrix::Bt709 } else { YuvMatrix::Bt601 };
    let installed = gst_video::VideoInfo::builder(gst_video::VideoFormat::Nv12, 16, height.max(1))
        .build()
        .ok()
        .and_then(|info| match info.colorimetry().matrix() {
            VideoColorMatrix::Bt601 => Some(YuvMatrix::Bt601),
            VideoColorMatrix::Bt709 => Some(YuvMatrix::Bt709),
            VideoColorMatrix::Bt2020 => Some(YuvMatrix::Bt2020),
            _ => None,
        });
    Colour::new(installed.unwrap_or(rule), YuvRange::Limited)
}

/// The colour of a YUV frame `height` lines high whose caps carry `colorimetry` (see the module documentation).
pub fn resolve(colorimetry: &VideoColorimetry, height: u32) -> Resolved {
    let mut notes = Vec::new();
    let matrix = match colorimetry.matrix() {
        VideoColorMatrix::Bt601 => YuvMatrix::Bt601,
        VideoColorMatrix::Bt709 => YuvMatrix::Bt709,
        VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
        VideoColorMatrix::Smpte240m => {
            notes.push("matrix SMPTE 240M is not supported, converting with the nearest, BT.709".to_owned());
            YuvMatrix::Bt709
        }
        VideoColorMatrix::Fcc => {
            notes.push("matrix FCC is not supported, converting with the nearest, BT.601".to_owned());
            YuvMatrix::Bt601
        }
        other => {
            let fallback = default_colour(height).matrix;
            notes.push(format!(
                "matrix {other:?} does not describe YUV samples, converting with GStreamer's default for \
                 {height} lines, {}",
                fallback.name()
            ));
            fallback
        }
    };
    let range = match colorimetry.range() {
        VideoColorRange::Range16_235 => YuvRange::Limited,
        VideoColorRange::Range0_255 => YuvRange::Full,
        other => {
            notes.push(format!(
                "range {other:?} is not known, reading full range (0-255) as GStreamer's videoconvert does"
            ));
            YuvRange::Full
        }
    };
    let fallback = (!notes.is_empty()).then(|| format!("colorimetry {colorimetry}: {}", notes.join("; ")));
    Resolved { colour: Colour::new(matrix, range), fallback }
}

/// The colour of the frames `info` describes (see [`resolve`]; meaningful for YUV formats only).
pub fn resolve_info(info: &gst_video::VideoInfo) -> Resolved {
    resolve(&info.colorimetry(), info.height())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst_video::{VideoColorPrimaries, VideoTransferFunction};

    fn colorimetry(range: VideoColorRange, matrix: VideoColorMatrix) -> VideoColorimetry {
        VideoColorimetry::new(range, matrix, VideoTransferFunction::Bt709, VideoColorPrimaries::Bt709)
    }

    #[test]
    fn supported_matrices_and_ranges_are_taken_as_they_are() {
        let cases = [
            (VideoColorMatrix::Bt601, YuvMatrix::Bt601),
            (VideoColorMatrix::Bt709, YuvMatrix::Bt709),
            (VideoColorMatrix::Bt2020, YuvMatrix::Bt2020),
        ];
        for (gst_matrix, matrix) in cases {
            for (gst_range, range) in
                [(VideoColorRange::Range16_235, YuvRange::Limited), (VideoColorRange::Range0_255, YuvRange::Full)]
            {
                // A 480-line frame: the caps win over the SD default.
                let got = resolve(&colorimetry(gst_range, gst_matrix), 480);
                assert_eq!(got, Resolved { colour: Colour::new(matrix, range), fallback: None });
            }
        }
    }

    #[test]
    fn unsupported_matrices_fall_back_to_the_nearest_with_a_note() {
        gst::init().unwrap();
        let got = resolve(&colorimetry(VideoColorRange::Range16_235, VideoColorMatrix::Smpte240m), 1080);
        assert_eq!(got.colour, Colour::BT709_LIMITED);
        assert!(got.fallback.as_deref().unwrap().contains("SMPTE 240M"), "{got:?}");
        let got = resolve(&colorimetry(VideoColorRange::Range0_255, VideoColorMatrix::Fcc), 1080);
        assert_eq!(got.colour, Colour::new(YuvMatrix::Bt601, YuvRange::Full));
        assert!(got.fallback.as_deref().unwrap().contains("FCC"), "{got:?}");
        for (height, matrix) in [(480, YuvMatrix::Bt601), (720, YuvMatrix::Bt709)] {
            for odd in [VideoColorMatrix::Rgb, VideoColorMatrix::Unknown] {
                let got = resolve(&colorimetry(VideoColorRange::Range16_235, odd), height);
                assert_eq!(got.colour, Colour::new(matrix, YuvRange::Limited), "{odd:?} at {height} lines");
                assert!(got.fallback.as_deref().unwrap().contains(&format!("{odd:?}")), "{got:?}");
            }
        }
        let got = resolve(&colorimetry(VideoColorRange::Unknown, VideoColorMatrix::Bt709), 720);
        assert_eq!(got.colour, Colour::new(YuvMatrix::Bt709, YuvRange::Full));
        assert!(got.fallback.as_deref().unwrap().contains("range"), "{got:?}");
    }

    #[test]
    fn caps_without_colorimetry_get_gstreamers_default_by_height() {
        gst::init().unwrap();
        // 2160 lines: BT.709 on GStreamer 1.22 (checked); other versions may have the UHD rule (BT.2020).
        let (major, minor, ..) = gst::version();
        let uhd = if (major, minor) == (1, 22) { YuvMatrix::Bt709 } else { default_colour(2160).matrix };
        assert!(matches!(uhd, YuvMatrix::Bt709 | YuvMatrix::Bt2020), "{uhd:?}");
        let heights = [
            (480, YuvMatrix::Bt601),
            (576, YuvMatrix::Bt601),
            (578, YuvMatrix::Bt709),
            (1080, YuvMatrix::Bt709),
            (2160, uhd),
        ];
        for (height, matrix) in heights {
            assert_eq!(default_colour(height), Colour::new(matrix, YuvRange::Limited), "{height} lines");
            for format in ["NV12", "I420"] {
                let caps: gst::Caps =
                    format!("video/x-raw,format={format},width=640,height={height},framerate=30/1").parse().unwrap();
                let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
                let got = resolve_info(&info);
                assert_eq!(got, Resolved { colour: Colour::new(matrix, YuvRange::Limited), fallback: None }, "{caps}");
            }
        }
    }

    #[test]
    fn caps_strings_gstreamer_parses_are_honoured() {
        gst::init().unwrap();
        let cases = [
            ("bt601", Colour::BT601_LIMITED),
            ("bt709", Colour::BT709_LIMITED),
            ("bt2020", Colour::new(YuvMatrix::Bt2020, YuvRange::Limited)),
            ("bt2100-pq", Colour::new(YuvMatrix::Bt2020, YuvRange::Limited)),
            ("1:4:0:0", Colour::new(YuvMatrix::Bt601, YuvRange::Full)),
            ("1:3:5:1", Colour::new(YuvMatrix::Bt709, YuvRange::Full)),
            ("1:6:0:0", Colour::new(YuvMatrix::Bt2020, YuvRange::Full)),
            // The RGB matrix on a YUV format is refused by GStreamer, which puts its default (720 lines: BT.709).
            ("1:1:0:0", Colour::BT709_LIMITED),
        ];
        for (s, want) in cases {
            let caps: gst::Caps =
                format!("video/x-raw,format=NV12,width=1280,height=720,colorimetry={s}").parse().unwrap();
            let got = resolve_info(&gst_video::VideoInfo::from_caps(&caps).unwrap());
            assert_eq!(got, Resolved { colour: want, fallback: None }, "{s}");
        }
        let caps: gst::Caps = "video/x-raw,format=NV12,width=1280,height=720,colorimetry=smpte240m".parse().unwrap();
        let got = resolve_info(&gst_video::VideoInfo::from_caps(&caps).unwrap());
        assert_eq!(got.colour, Colour::BT709_LIMITED);
        assert!(got.fallback.is_some());
    }
}
