//! `reid bench preprocess`: the bilinear resize of a person crop to the model input, three ways in one run:
//! `image`'s `FilterType::Triangle` (the reference the trainer's evaluation transform is defined by), the runtime's
//! [`resize_triangle`] (what `reid embed`, the trainer's evaluation and the GStreamer element run) and
//! `fast_image_resize`'s `Bilinear` convolution (its filter closest to `image`'s triangle; SIMD, fixed point).
//! Per crop: time per resize, speed against `image`, and the largest difference from `image`'s output; plus the
//! whole `preprocess_image` (resize + normalise to planar `f32`).
//!
//! The runtime keeps its own resize unless `fast_image_resize` is both faster and equal to `image` byte for byte:
//! the trainer's evaluation and the deployed engines must see the same inputs. Measured 2026-12-03 (release
//! profile, 2 cores busy with other builds, so times are high; the ratios are from one run): 64x128 -> 128x256
//! image 756 us, ours 437 us (1.73x), fast_image_resize 71 us (10.6x) but off by 1 in 25% of the bytes;
//! 180x400 -> 128x256 image 1055 us, ours 519 us (2.03x), fast_image_resize 113 us (9.3x), off by 1 in 16%.
//! Its fixed-point arithmetic rounds differently, so the runtime keeps its own resize.

use anyhow::{Context, Result, bail};
use clap::Args;
use fast_image_resize as fir;
use image::RgbImage;
use image::imageops::FilterType;
use reid_runtime::engine::preprocess::{PreprocessConfig, preprocess_image, resize_triangle};
use std::hint::black_box;
use std::time::Instant;

/// Arguments of `reid bench preprocess`.
#[derive(Args)]
pub struct PreprocessBenchArgs {
    /// Crop sizes to resize, `WIDTHxHEIGHT` (a far person and a 1080p-sized box by default).
    #[arg(long, value_delimiter = ',', default_value = "64x128,180x400")]
    pub crops: Vec<String>,
    /// Model input size, `WIDTHxHEIGHT`.
    #[arg(long, default_value = "128x256")]
    pub input: String,
    /// Resizes per timed round.
    #[arg(long, default_value_t = 200)]
    pub reps: usize,
    /// Rounds, the three implementations alternating; the best (least disturbed) round of each counts.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// `WIDTHxHEIGHT`, both at least 1.
fn parse_size(s: &str) -> Result<(u32, u32)> {
    let (w, h) = s.split_once('x').with_context(|| format!("{s:?}: expected WIDTHxHEIGHT"))?;
    let (w, h): (u32, u32) = (w.trim().parse()?, h.trim().parse()?);
    if w == 0 || h == 0 {
        bail!("{s:?}: width and height must be at least 1");
    }
    Ok((w, h))
}

/// A textured crop: gradients plus a deterministic pattern, so rounding differences show.
fn crop(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = |k: u32| ((x * 255 / w + y * 255 / h) / 2 + (x * 37 + y * 11 + k * 97 + (x * y) % 17) % 64) as u8;
        image::Rgb([v(0), v(1), v(2)])
    })
}

/// Microseconds per call of `f`: the best of `rounds` rounds of `reps` calls.
struct Timer {
    best: f64,
}

impl Timer {
    fn round(&mut self, reps: usize, mut f: impl FnMut()) {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        self.best = self.best.min(t.elapsed().as_secs_f64() * 1e6 / reps as f64);
    }
}

/// The largest absolute difference and the number of differing bytes.
fn diff(a: &[u8], b: &[u8]) -> (u8, usize) {
    a.iter().zip(b).fold((0, 0), |(m, n), (x, y)| (m.max(x.abs_diff(*y)), n + usize::from(x != y)))
}

/// One `fast_image_resize` bilinear resize into a new buffer.
fn fir_resize(resizer: &mut fir::Resizer, src: &RgbImage, nw: u32, nh: u32) -> Result<Vec<u8>> {
    let view = fir::images::ImageRef::new(src.width(), src.height(), src.as_raw(), fir::PixelType::U8x3)?;
    let mut dst = fir::images::Image::new(nw, nh, fir::PixelType::U8x3);
    let options = fir::ResizeOptions::new().resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::Bilinear));
    resizer.resize(&view, &mut dst, &options)?;
    Ok(dst.into_vec())
}

/// Runs `reid bench preprocess`.
pub fn run(args: &PreprocessBenchArgs) -> Result<()> {
    if args.reps == 0 || args.rounds == 0 {
        bail!("--reps and --rounds must be at least 1");
    }
    let (nw, nh) = parse_size(&args.input)?;
    let crops = args.crops.iter().map(|s| parse_size(s)).collect::<Result<Vec<_>>>()?;
    let mut resizer = fir::Resizer::new();
    println!(
        "bilinear resize of an RGB u8 crop to {nw}x{nh}, one thread, best of {} rounds x {} resizes; \
         fast_image_resize CPU extensions: {:?}",
        args.rounds,
        args.reps,
        resizer.cpu_extensions()
    );
    println!(
        "  {:<10}{:<44}{:>10}{:>10}{:>12}{:>18}",
        "crop", "implementation", "us/crop", "vs image", "max |diff|", "values differing"
    );
    let cfg = PreprocessConfig::imagenet(nh, nw);
    for (w, h) in crops {
        let src = crop(w, h);
        let reference = image::imageops::resize(&src, nw, nh, FilterType::Triangle).into_raw();
        let ours = resize_triangle(src.as_raw(), w, h, nw, nh);
        let theirs = fir_resize(&mut resizer, &src, nw, nh)?;
        let mut times = [Timer { best: f64::INFINITY }, Timer { best: f64::INFINITY }, Timer { best: f64::INFINITY }];
        let mut whole = Timer { best: f64::INFINITY };
        for _ in 0..args.rounds {
            times[0].round(args.reps, || {
                black_box(image::imageops::resize(black_box(&src), nw, nh, FilterType::Triangle));
            });
            times[1].round(args.reps, || {
                black_box(resize_triangle(black_box(src.as_raw()), w, h, nw, nh));
            });
            times[2].round(args.reps, || {
                black_box(fir_resize(&mut resizer, black_box(&src), nw, nh).ok());
            });
            whole.round(args.reps, || {
                black_box(preprocess_image(black_box(&src), &cfg));
            });
        }
        let base = times[0].best;
        let rows = [
            ("image FilterType::Triangle (reference)", &times[0], &reference),
            ("reid_runtime resize_triangle (ours)", &times[1], &ours),
            ("fast_image_resize Convolution(Bilinear)", &times[2], &theirs),
        ];
        for (i, (name, t, out)) in rows.into_iter().enumerate() {
            let (max, n) = diff(out, &reference);
            let size = if i == 0 { format!("{w}x{h}") } else { String::new() };
            println!(
                "  {size:<10}{name:<44}{:>10.1}{:>9.2}x{max:>12}{:>18}",
                t.best,
                base / t.best,
                format!("{n} of {}", reference.len())
            );
        }
        println!("  {:<10}{:<44}{:>10.1}", "", "preprocess_image (resize + normalise, ours)", whole.best);
    }
    Ok(())
}
