//! Colour against GStreamer itself: for BT.601, BT.709 and BT.2020, limited and full range, the element's YUV ->
//! RGB conversion of NV12 (and I420) frames against `videoconvert`'s RGB output of the same frames, on
//! videotestsrc patterns (smpte, snow, ball, colors, gradient) and random frames; embeddings of NV12 frames against
//! embeddings of the same frames converted to RGB by `videoconvert`; caps without colorimetry against GStreamer's
//! default.
//!
//! `videoconvert` runs as `videoconvert dither=none chroma-mode=none`: `dither=none` so no Bayer pattern is added
//! to its 8-bit output, `chroma-mode=none` so it does no chroma resampling (each pixel takes the chroma sample
//! covering it, whatever the chroma siting), which is what the element does. The other settings are the
//! defaults: `matrix-mode=full` (the input's matrix and range), `primaries-mode=none` and `gamma-mode=none` (no
//! primaries or transfer conversion; the element does none either). Colorimetries are built with
//! `VideoColorimetry::new` from the matrix and range, so full range is as easy to ask for as limited.
//!
//! One level of `videoconvert` on every pixel is not reachable by a correct conversion: `videoconvert` itself is
//! up to 6 levels off the real-valued formula in limited range and up to 3 in full range (GStreamer 1.22). Its
//! 8-bit YUV -> RGB runs `video_orc_convert_AYUV_ARGB` (gst-plugins-base `video-converter.c`, `video-orc.orc`):
//! coefficients rounded to 1/256, samples centred on 128 and widened by `splatbw` (x 257), products truncated by
//! `mulhsw` (`>> 16`), and no luma offset, so limited-range output sits about 2.4 levels below the formula
//! (`255/219 * 112 - 128`). [`videoconvert_model`] is that arithmetic; the tests assert that it reproduces
//! `videoconvert` byte for byte, that the element is within one level of the real-valued formula (with `Kr`,
//! `Kb` from GStreamer's `gst_video_color_matrix_get_Kr_Kb`), and that the element is no farther from
//! `videoconvert` than the correctly rounded formula is, plus that one level.

use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoFormat;
use gst_video::prelude::*;
use gst_video::{VideoColorMatrix, VideoColorPrimaries, VideoColorRange, VideoColorimetry, VideoTransferFunction};
use gstreid::frame::{Colour, PixelBox, YuvMatrix, YuvRange};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The GStreamer colorimetry of `colour` (transfer and primaries of the matrix's standard; they do not matter to
/// the matrix conversion).
fn colorimetry(colour: Colour) -> VideoColorimetry {
    let range = match colour.range {
        YuvRange::Limited => VideoColorRange::Range16_235,
        YuvRange::Full => VideoColorRange::Range0_255,
    };
    let (matrix, primaries) = match colour.matrix {
        YuvMatrix::Bt601 => (VideoColorMatrix::Bt601, VideoColorPrimaries::Smpte170m),
        YuvMatrix::Bt709 => (VideoColorMatrix::Bt709, VideoColorPrimaries::Bt709),
        YuvMatrix::Bt2020 => (VideoColorMatrix::Bt2020, VideoColorPrimaries::Bt2020),
    };
    VideoColorimetry::new(range, matrix, VideoTransferFunction::Bt709, primaries)
}

/// `(Kr, Kb)` of `colour`'s matrix as GStreamer gives them, and `(y0, ys, cs)` of its range as
/// `gst_video_color_range_offsets` does (luma offset, luma scale, chroma scale).
fn gst_constants(colour: Colour) -> ((f64, f64), (f64, f64, f64)) {
    let c = colorimetry(colour);
    let k = c.matrix().kr_kb().unwrap();
    let range = match c.range() {
        VideoColorRange::Range16_235 => (16.0, 219.0, 224.0),
        _ => (0.0, 255.0, 255.0),
    };
    (k, range)
}

/// The real-valued conversion of one sample with GStreamer's constants, rounded to nearest and clamped.
fn exact(colour: Colour, y: u8, u: u8, v: u8) -> [u8; 3] {
    let ((kr, kb), (y0, ys, cs)) = gst_constants(colour);
    let kg = 1.0 - kr - kb;
    let l = 255.0 * (f64::from(y) - y0) / ys;
    let (cb, cr) = (255.0 * (f64::from(u) - 128.0) / cs, 255.0 * (f64::from(v) - 128.0) / cs);
    let rgb = [
        l + 2.0 * (1.0 - kr) * cr,
        l - 2.0 * (1.0 - kb) * kb / kg * cb - 2.0 * (1.0 - kr) * kr / kg * cr,
        l + 2.0 * (1.0 - kb) * cb,
    ];
    rgb.map(|x| x.round().clamp(0.0, 255.0) as u8)
}

/// `videoconvert`'s 8-bit YUV -> RGB as `video_orc_convert_AYUV_ARGB` computes it (see the module
/// documentation): coefficients `rint(256 * c)`, samples `s - 128` widened to 16 bits by repeating the byte,
/// `(a * p) >> 16` products, sums saturated to `-128..=127`, `+ 128`; the range's luma offset is not applied.
fn videoconvert_model(colour: Colour, y: u8, u: u8, v: u8) -> [u8; 3] {
    let ((kr, kb), (_, ys, cs)) = gst_constants(colour);
    let kg = 1.0 - kr - kb;
    let c = 255.0 / cs;
    let p = |x: f64| (256.0 * x).round() as i32;
    let (p1, p2, p3) = (p(255.0 / ys), p(c * 2.0 * (1.0 - kr)), p(c * 2.0 * (1.0 - kb)));
    let (p4, p5) = (p(-c * 2.0 * (1.0 - kb) * kb / kg), p(-c * 2.0 * (1.0 - kr) * kr / kg));
    let splat = |s: u8| {
        let b = u16::from(s.wrapping_sub(128));
        i32::from(((b << 8) | b) as i16)
    };
    let mulhsw = |a: i32, p: i32| (a * p) >> 16;
    let out = |w: i32| (w.clamp(-128, 127) + 128) as u8;
    let wy = mulhsw(splat(y), p1);
    let (wu, wv) = (splat(u), splat(v));
    [out(wy + mulhsw(wv, p2)), out(wy + mulhsw(wu, p4) + mulhsw(wv, p5)), out(wy + mulhsw(wu, p3))]
}

/// Each pixel's `(Y, U, V)` of a whole frame, in raster order (chroma: the sample covering the pixel).
fn samples(frame: &gst::Buffer, info: &gst_video::VideoInfo) -> Vec<[u8; 3]> {
    let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(frame.as_ref(), info).unwrap();
    let (w, h) = (info.width() as usize, info.height() as usize);
    let stride = |p: u32| mapped.plane_stride()[p as usize] as usize;
    let plane = |p: u32| mapped.plane_data(p).unwrap();
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        for x in 0..w {
            let luma = plane(0)[y * stride(0) + x];
            let (u, v) = match info.format() {
                VideoFormat::Nv12 => {
                    let c = (y / 2) * stride(1) + 2 * (x / 2);
                    (plane(1)[c], plane(1)[c + 1])
                }
                VideoFormat::I420 => (plane(1)[(y / 2) * stride(1) + x / 2], plane(2)[(y / 2) * stride(2) + x / 2]),
                other => panic!("not a YUV format of the tests: {other:?}"),
            };
            out.push([luma, u, v]);
        }
    }
    out
}

/// The video info of a `w x h` frame of `format` with `colour`.
fn yuv_info(format: gst_video::VideoFormat, w: u32, h: u32, colour: Colour) -> gst_video::VideoInfo {
    gst_video::VideoInfo::builder(format, w, h).colorimetry(&colorimetry(colour)).fps(30).build().unwrap()
}

/// One frame of videotestsrc `pattern` in the format, size and colorimetry of `info`.
fn test_pattern(pattern: &str, info: &gst_video::VideoInfo) -> gst::Buffer {
    let mut h = Harness::new_parse(&format!("videotestsrc pattern={pattern} num-buffers=1"));
    h.set_sink_caps(info.to_caps().unwrap());
    h.play();
    h.pull().unwrap_or_else(|e| panic!("videotestsrc pattern={pattern} with {:?}: {e}", info.to_caps()))
}

/// A frame of uniformly random bytes (out-of-range values included: both conversions clamp) laid out by `info`.
fn random_frame(info: &gst_video::VideoInfo, seed: u64) -> gst::Buffer {
    let mut data = vec![0u8; info.size()];
    StdRng::seed_from_u64(seed).fill(&mut data[..]);
    gst::Buffer::from_mut_slice(data)
}

/// `videoconvert`'s RGB of `frame` (laid out by `info`), as tightly packed rows.
fn videoconvert_rgb(frame: &gst::Buffer, info: &gst_video::VideoInfo) -> Vec<u8> {
    let mut h = Harness::new_parse("videoconvert dither=none chroma-mode=none");
    h.set_src_caps(info.to_caps().unwrap());
    let (w, hgt) = (info.width(), info.height());
    h.set_sink_caps_str(&format!("video/x-raw,format=RGB,width={w},height={hgt},framerate=30/1"));
    let out = h.push_and_pull(frame.clone()).unwrap();
    let out_info = gst_video::VideoInfo::from_caps(&h.sinkpad().unwrap().current_caps().unwrap()).unwrap();
    assert_eq!(out_info.format(), VideoFormat::Rgb);
    let stride = out_info.stride()[0] as usize;
    let bytes = bytes(&out);
    bytes.chunks(stride).take(hgt as usize).flat_map(|row| row[..3 * w as usize].to_vec()).collect()
}

/// The element's RGB of the whole `frame`: the view `reidembed` builds for these caps, cropped to the frame.
fn our_rgb(frame: &gst::Buffer, info: &gst_video::VideoInfo, colour: Option<Colour>) -> Vec<u8> {
    let layout = gstreid::reidembed::layout_of(info.format()).unwrap();
    let mapped = gst_video::VideoFrameRef::from_buffer_ref_readable(frame.as_ref(), info).unwrap();
    // The colour `set_caps` resolves for these caps, unless the test forces another.
    let colour = colour.unwrap_or(gstreid::colorimetry::resolve_info(info).colour);
    let view = gstreid::reidembed::frame_view(&mapped, layout, colour).unwrap();
    view.crop_rgb(PixelBox { x: 0, y: 0, width: info.width(), height: info.height() }).into_raw()
}

/// `(largest difference, channel values that differ)` between two RGB images.
fn difference(a: &[u8], b: &[u8]) -> (u8, usize) {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold((0, 0), |(max, n), (x, y)| (max.max(x.abs_diff(*y)), n + usize::from(x != y)))
}

/// The frames every colour is checked on: five videotestsrc patterns at 320x240 and random frames at odd sizes.
fn frames(colour: Colour) -> Vec<(String, gst_video::VideoInfo, gst::Buffer)> {
    let mut frames = Vec::new();
    for pattern in ["smpte", "snow", "ball", "colors", "gradient"] {
        let info = yuv_info(VideoFormat::Nv12, 320, 240, colour);
        frames.push((format!("NV12 {pattern}"), info.clone(), test_pattern(pattern, &info)));
    }
    for (seed, (w, h)) in [(75u32, 51u32), (128, 96)].into_iter().enumerate() {
        for format in [VideoFormat::Nv12, VideoFormat::I420] {
            let info = yuv_info(format, w, h, colour);
            let frame = random_frame(&info, seed as u64);
            frames.push((format!("{format:?} random {w}x{h}"), info, frame));
        }
    }
    frames
}

#[test]
fn rgb_against_videoconvert_for_every_colorimetry() {
    init();
    for colour in Colour::all() {
        let mut report = Vec::new();
        for (what, info, frame) in frames(colour) {
            let theirs = videoconvert_rgb(&frame, &info);
            let ours = our_rgb(&frame, &info, None);
            let yuv = samples(&frame, &info);
            let model: Vec<u8> = yuv.iter().flat_map(|s| videoconvert_model(colour, s[0], s[1], s[2])).collect();
            let formula: Vec<u8> = yuv.iter().flat_map(|s| exact(colour, s[0], s[1], s[2])).collect();
            // videoconvert is exactly its fast path's arithmetic...
            let (max, n) = difference(&model, &theirs);
            assert_eq!((max, n), (0, 0), "{colour}, {what}: videoconvert is not the modelled arithmetic");
            // ...the element is the real-valued formula within one level...
            let (max, _) = difference(&ours, &formula);
            assert!(max <= 1, "{colour}, {what}: our RGB is {max} levels from the real-valued formula");
            // ...so it is as far from videoconvert as the formula is, give or take that level.
            let (ours_max, ours_n) = difference(&ours, &theirs);
            let (formula_max, _) = difference(&formula, &theirs);
            assert!(ours_max <= formula_max + 1, "{colour}, {what}: {ours_max} levels from videoconvert");
            report.push(format!(
                "{what}: ours vs videoconvert max {ours_max} ({:.1}% of values differ), formula vs videoconvert max \
                 {formula_max}",
                100.0 * ours_n as f64 / ours.len() as f64
            ));
        }
        println!("{colour}:\n  {}", report.join("\n  "));
    }
}

#[test]
fn the_comparison_with_videoconvert_is_sharp() {
    // Converting with another matrix or the other range is at least 12 levels off videoconvert on the SMPTE bars
    // (the closest pair, BT.2020 full read as BT.709 full, measured 13), while the right colour stays within the
    // formula's distance plus one (at most 7): the test above would fail an element that ignored the caps.
    init();
    for colour in Colour::all() {
        let info = yuv_info(VideoFormat::Nv12, 320, 240, colour);
        let frame = test_pattern("smpte", &info);
        let theirs = videoconvert_rgb(&frame, &info);
        let (right, _) = difference(&our_rgb(&frame, &info, None), &theirs);
        assert!(right <= 7, "{colour}: {right} levels off videoconvert");
        for other in Colour::all().filter(|o| *o != colour) {
            let (max, _) = difference(&our_rgb(&frame, &info, Some(other)), &theirs);
            assert!(max >= 12, "{colour} frames read as {other} are only {max} levels off videoconvert");
        }
    }
}

#[test]
fn caps_without_colorimetry_convert_as_gstreamer_defaults_them() {
    // SD frames default to BT.601, HD to BT.709 (limited range): the element converts with GStreamer's default,
    // videoconvert too, and the two defaults are not the same conversion.
    init();
    for (w, h, want) in [(320, 240, Colour::BT601_LIMITED), (1280, 720, Colour::BT709_LIMITED)] {
        let caps: gst::Caps = caps("NV12", w, h).parse().unwrap();
        let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
        assert_eq!(gstreid::colorimetry::resolve_info(&info).colour, want, "{caps}");
        let frame = random_frame(&info, 7);
        let yuv = samples(&frame, &info);
        let model: Vec<u8> = yuv.iter().flat_map(|s| videoconvert_model(want, s[0], s[1], s[2])).collect();
        assert_eq!(difference(&model, &videoconvert_rgb(&frame, &info)), (0, 0), "{w}x{h}: videoconvert's default");
        let formula: Vec<u8> = yuv.iter().flat_map(|s| exact(want, s[0], s[1], s[2])).collect();
        let (max, _) = difference(&our_rgb(&frame, &info, None), &formula);
        assert!(max <= 1, "{w}x{h}: {max} levels off the {want} formula");
        let other = if want == Colour::BT601_LIMITED { Colour::BT709_LIMITED } else { Colour::BT601_LIMITED };
        let (max, _) = difference(&our_rgb(&frame, &info, Some(other)), &formula);
        assert!(max >= 12, "{w}x{h} read as {other}: only {max} levels off");
    }
}

/// Cosine similarity of two vectors (the project's one, narrowed for printing beside f32 values).
fn cosine(a: &[f32], b: &[f32]) -> f32 {
    reid_eval::distance::cosine(a, b) as f32
}

/// The embeddings `reidembed` attaches to `frame` (caps `caps`) with a person ROI on each of `boxes`.
fn embed(
    model: &std::path::Path,
    caps: &gst::Caps,
    frame: &gst::Buffer,
    boxes: &[(u32, u32, u32, u32)],
) -> Vec<Vec<f32>> {
    let mut h = Harness::new_parse(&format!("reidembed model={} engine=tract", model.display()));
    h.set_src_caps(caps.clone());
    let mut buffer = frame.copy();
    for b in boxes {
        add_roi(&mut buffer, "person", *b);
    }
    let out = h.push_and_pull(buffer).unwrap();
    embeddings(&out).into_iter().map(|e| e.expect("an embedding on every box").vector).collect()
}

/// `packed` (tight RGB rows of a 320x240 frame) as a buffer laid out as GStreamer lays out RGB, and its caps.
fn rgb_frame(packed: &[u8]) -> (gst::Caps, gst::Buffer) {
    let info = gst_video::VideoInfo::builder(VideoFormat::Rgb, 320, 240).fps(30).build().unwrap();
    let stride = info.stride()[0] as usize;
    let mut data = vec![0u8; info.size()];
    for (y, row) in packed.chunks_exact(3 * 320).enumerate() {
        data[y * stride..y * stride + row.len()].copy_from_slice(row);
    }
    (info.to_caps().unwrap(), gst::Buffer::from_mut_slice(data))
}

/// Embeddings of NV12 frames through `reidembed`, against the same frames converted to RGB by `videoconvert` and
/// by the real-valued formula, then embedded by `reidembed` too (the test model: every pixel weighs linearly, with
/// random weights, so it is sensitive to a uniform shift). The element's embeddings equal the formula's (a cosine
/// of at least 0.9999 on every box) and are exactly as close to videoconvert's as the formula's are. Against videoconvert
/// itself the cosine is >= 0.9999 on 53 of 72 boxes and goes down to 0.988 (measured on GStreamer 1.22; printed):
/// its limited-range output sits about 2.4 levels below the formula (module documentation), which this linear
/// model sees most on the grey noise of `snow` (0.988-0.996) and least on the SMPTE bars (0.9993-0.9998); in full
/// range one box of 36 is below 0.9999 (0.99978).
#[test]
fn nv12_embeddings_against_videoconvert_rgb() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let boxes = [(0, 0, 40, 80), (37, 11, 61, 130), (150, 60, 90, 170), (250, 5, 70, 235)];
    let (mut lowest, mut below, mut n) = (f32::MAX, Vec::new(), 0);
    for colour in Colour::all() {
        for pattern in ["smpte", "ball", "snow"] {
            let info = yuv_info(VideoFormat::Nv12, 320, 240, colour);
            let frame = test_pattern(pattern, &info);
            let formula: Vec<u8> =
                samples(&frame, &info).iter().flat_map(|s| exact(colour, s[0], s[1], s[2])).collect();
            let from_yuv = embed(&model, &info.to_caps().unwrap(), &frame, &boxes);
            let (caps, buffer) = rgb_frame(&videoconvert_rgb(&frame, &info));
            let from_videoconvert = embed(&model, &caps, &buffer, &boxes);
            let (caps, buffer) = rgb_frame(&formula);
            let from_formula = embed(&model, &caps, &buffer, &boxes);
            for (i, b) in boxes.iter().enumerate() {
                let ours = cosine(&from_yuv[i], &from_formula[i]);
                assert!(ours >= 0.9999, "{colour} {pattern} box {b:?}: cosine {ours} to the formula's embedding");
                let (theirs, formulas) =
                    (cosine(&from_yuv[i], &from_videoconvert[i]), cosine(&from_formula[i], &from_videoconvert[i]));
                assert!(
                    theirs >= formulas - 1e-5,
                    "{colour} {pattern} box {b:?}: cosine {theirs} to videoconvert's, the formula's {formulas}"
                );
                lowest = lowest.min(theirs);
                n += 1;
                if theirs < 0.9999 {
                    below.push(format!("{colour} {pattern} {b:?}: {theirs:.6} (formula {formulas:.6})"));
                }
            }
        }
    }
    println!(
        "cosine to videoconvert's embeddings: lowest {lowest:.6}; {} of {n} boxes below 0.9999:\n  {}",
        below.len(),
        below.join("\n  ")
    );
}

#[test]
fn unsupported_matrices_convert_as_the_nearest_supported_one() {
    // SMPTE 240M caps through the element: no error, embeddings equal to those of the same frame as BT.709 (the
    // documented fallback, warned about once), and not to those of the frame as BT.601.
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let boxes = [(10, 10, 60, 120), (150, 60, 90, 170)];
    let info = yuv_info(VideoFormat::Nv12, 320, 240, Colour::BT709_LIMITED);
    let frame = test_pattern("smpte", &info);
    let smpte240m = VideoColorimetry::new(
        VideoColorRange::Range16_235,
        VideoColorMatrix::Smpte240m,
        VideoTransferFunction::Smpte240m,
        VideoColorPrimaries::Smpte240m,
    );
    let caps_of = |c: &VideoColorimetry| {
        gst_video::VideoInfo::builder(VideoFormat::Nv12, 320, 240)
            .colorimetry(c)
            .fps(30)
            .build()
            .unwrap()
            .to_caps()
            .unwrap()
    };
    let got = embed(&model, &caps_of(&smpte240m), &frame, &boxes);
    let as709 = embed(&model, &caps_of(&colorimetry(Colour::BT709_LIMITED)), &frame, &boxes);
    let as601 = embed(&model, &caps_of(&colorimetry(Colour::BT601_LIMITED)), &frame, &boxes);
    for i in 0..boxes.len() {
        assert_close(&got[i], &as709[i], &format!("box {i} as BT.709"));
        assert!(cosine(&got[i], &as601[i]) < 0.9999, "box {i}: BT.601 would give the same embedding");
    }
}
