//! Drawing a scene: the camera's background, a person inside a box, an occluder, and a whole dataset crop.

use image::RgbImage;
use rand::Rng;

use super::camera::{Background, Camera, Lighting, Texture};
use super::color::{Color, mix, scale};
use super::effects::apply_sensor;
use super::figure::Figure;
use super::identity::Identity;
use super::pose::{Occlusion, Pose, Shot};
use super::raster::{Painter, Rect, Shape, V2, to_u8, v2};
use super::rng_for;

/// Draws `identity` in `pose` as `camera` records it, standing in `rect` (feet near the bottom edge, head near
/// the top, centred horizontally; the person's proportions follow the box height, not its width).
///
/// Only pixels inside `rect` and inside the image change; a box sticking out of the image is clamped.
pub fn render_person(identity: &Identity, camera: &Camera, pose: &Pose, target: &mut RgbImage, rect: Rect) {
    let clip = rect.clip(target.width(), target.height());
    if clip.is_empty() || rect.height < 4 {
        return;
    }
    let mut painter = Painter { image: target, clip, lighting: camera.lighting };
    let height = rect.height as f32 * identity.body.height * 0.95;
    let feet = rect.y as f32 + rect.height as f32 * 0.985;
    let origin = v2(rect.x as f32 + rect.width as f32 / 2.0, feet - height);
    Figure::new(identity, pose, origin, height).draw(&mut painter);
}

/// Fills the whole image with the camera's scene: wall, ground, textures and clutter, lit by the camera.
///
/// `variation` picks which part of the scene is behind (texture offsets, clutter placement): the same value
/// gives the same pixels. Textures scale with the image height.
pub fn render_background(camera: &Camera, target: &mut RgbImage, variation: u64) {
    let (width, height) = (target.width(), target.height());
    if width == 0 || height == 0 {
        return;
    }
    let bg = &camera.background;
    let mut rng = rng_for(&[variation, u64::from(camera.id)]);
    let unit = height as f32;
    let offset = v2(rng.random_range(0.0..4.0) * unit, rng.random_range(0.0..1.0) * unit);
    let horizon = (bg.horizon + rng.random_range(-0.05..0.05)) * unit;
    let hash_seed = rng.random::<u32>();
    for y in 0..height {
        for x in 0..width {
            let p = v2(x as f32 + 0.5 + offset.x, y as f32 + 0.5);
            let color = if (y as f32 + 0.5) < horizon {
                let shade = 1.0 + bg.gradient * ((y as f32 + 0.5) / horizon - 0.5);
                let base = scale(bg.wall, shade);
                textured(base, bg.wall_texture, bg.texture_strength, v2(p.x, p.y + offset.y), unit, hash_seed)
            } else {
                let depth = ((y as f32 + 0.5 - horizon) / (unit - horizon).max(1.0)).clamp(0.0, 1.0);
                let base = scale(bg.ground, 0.9 + 0.2 * depth);
                textured(base, bg.ground_texture, bg.texture_strength, p, unit, hash_seed ^ 0x5bd1)
            };
            target.put_pixel(x, y, image::Rgb(camera.lighting.apply(color).map(to_u8)));
        }
    }
    draw_clutter(camera, bg, target, &mut rng, horizon);
}

/// Objects standing in the scene: signs, windows, bins, poles.
fn draw_clutter(camera: &Camera, bg: &Background, target: &mut RgbImage, rng: &mut impl Rng, horizon: f32) {
    let (width, height) = (target.width() as f32, target.height() as f32);
    let count = bg.clutter * (2.0 * width / height).ceil().max(1.0) as u32;
    let clip = Rect::full(target.width(), target.height()).clip(target.width(), target.height());
    let mut painter = Painter { image: target, clip, lighting: camera.lighting };
    for _ in 0..count {
        let color = bg.clutter_colors[rng.random_range(0..bg.clutter_colors.len())];
        let x = rng.random_range(-0.1..1.0) * width;
        if rng.random_bool(0.3) {
            // A pole or a tree trunk from the ground up.
            let w = rng.random_range(0.02..0.06) * height;
            let top = rng.random_range(0.0..0.5) * horizon;
            let pts =
                vec![v2(x, top), v2(x + w, top), v2(x + w, horizon + 0.05 * height), v2(x, horizon + 0.05 * height)];
            painter.fill(&Shape::Polygon { pts, round: 0.5 }, scale(color, 0.7));
        } else {
            // A window, sign or parked object on the wall.
            let w = rng.random_range(0.06..0.35) * height;
            let h = rng.random_range(0.04..0.25) * height;
            let y = rng.random_range(0.0..1.0) * (horizon - h).max(1.0);
            let pts = vec![v2(x, y), v2(x + w, y), v2(x + w, y + h), v2(x, y + h)];
            painter.fill(&Shape::Polygon { pts: pts.clone(), round: 0.5 }, color);
            let frame = scale(color, 0.6);
            painter.fill(
                &Shape::Polygon {
                    pts: vec![v2(x, y + h - 1.5), v2(x + w, y + h - 1.5), v2(x + w, y + h), v2(x, y + h)],
                    round: 0.3,
                },
                frame,
            );
        }
    }
}

/// A surface colour with its texture at point `p` (pixels; `unit` is the image height).
fn textured(base: Color, texture: Texture, strength: f32, p: V2, unit: f32, seed: u32) -> Color {
    let (u, v) = (p.x / unit, p.y / unit);
    let tint = match texture {
        Texture::Plain => 0.15 * (value_noise(u * 6.0, v * 6.0, seed) - 0.5),
        Texture::Bricks => {
            let bh = 0.05;
            let row = (v / bh).floor();
            let shift = if row as i64 % 2 == 0 { 0.0 } else { bh };
            let col = ((u + shift) / (2.0 * bh)).floor();
            let (fu, fv) = ((u + shift) / (2.0 * bh) - col, v / bh - row);
            if fv < 0.12 || fu < 0.06 { 0.6 } else { hash(col as i64, row as i64, seed) - 0.5 }
        }
        Texture::Panels => {
            let pw = 0.3;
            let col = (u / pw).floor();
            let fu = u / pw - col;
            if fu < 0.06 { -0.8 } else { 0.6 * (hash(col as i64, 0, seed) - 0.5) + 0.3 * (v - 0.5) }
        }
        Texture::Tiles => {
            let tw = 0.08;
            let (fu, fv) = (u / tw - (u / tw).floor(), v / tw - (v / tw).floor());
            if fu < 0.07 || fv < 0.07 {
                -0.6
            } else {
                0.3 * (hash((u / tw).floor() as i64, (v / tw).floor() as i64, seed) - 0.5)
            }
        }
        Texture::Noise => {
            1.2 * (value_noise(u * 14.0, v * 14.0, seed) - 0.5)
                + 0.6 * (value_noise(u * 40.0, v * 40.0, seed ^ 7) - 0.5)
        }
    };
    scale(base, 1.0 + strength * tint)
}

/// A hash of integer cell coordinates to `0.0..1.0`.
fn hash(x: i64, y: i64, seed: u32) -> f32 {
    let mut h = (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (y as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ u64::from(seed).wrapping_mul(0x1656_67B1_9E37_79F9);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h >> 40) as f32 / (1u64 << 24) as f32
}

/// Smooth value noise in `0.0..1.0` (bilinear interpolation of hashed lattice values).
fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (sx, sy) = (fx * fx * (3.0 - 2.0 * fx), fy * fy * (3.0 - 2.0 * fy));
    let (ix, iy) = (x0 as i64, y0 as i64);
    let top = hash(ix, iy, seed) + (hash(ix + 1, iy, seed) - hash(ix, iy, seed)) * sx;
    let bottom = hash(ix, iy + 1, seed) + (hash(ix + 1, iy + 1, seed) - hash(ix, iy + 1, seed)) * sx;
    top + (bottom - top) * sy
}

/// Draws an occluder over `rect` (the person's box): the lower part of it, or a band at one side.
/// Only pixels inside `rect` and the image change.
pub fn render_occlusion(occlusion: &Occlusion, lighting: &Lighting, target: &mut RgbImage, rect: Rect) {
    let clip = rect.clip(target.width(), target.height());
    if clip.is_empty() {
        return;
    }
    let mut painter = Painter { image: target, clip, lighting: *lighting };
    let (x0, y0) = (rect.x as f32, rect.y as f32);
    let (w, h) = (rect.width as f32, rect.height as f32);
    match *occlusion {
        Occlusion::Lower { fraction, color } => {
            // A car, bench or railing: a rounded slab with a darker band and a lighter top edge.
            let top = y0 + h * (1.0 - fraction);
            let slab = vec![
                v2(x0 - 4.0, top),
                v2(x0 + w + 4.0, top),
                v2(x0 + w + 4.0, y0 + h + 4.0),
                v2(x0 - 4.0, y0 + h + 4.0),
            ];
            painter.fill(&Shape::Polygon { pts: slab, round: 2.0 }, color);
            let band_top = top + h * fraction * 0.35;
            let band = vec![
                v2(x0 - 4.0, band_top),
                v2(x0 + w + 4.0, band_top),
                v2(x0 + w + 4.0, band_top + h * fraction * 0.2),
                v2(x0 - 4.0, band_top + h * fraction * 0.2),
            ];
            painter.fill(&Shape::Polygon { pts: band, round: 0.5 }, scale(color, 0.55));
            let edge = vec![
                v2(x0 - 4.0, top - 1.0),
                v2(x0 + w + 4.0, top - 1.0),
                v2(x0 + w + 4.0, top + 1.0),
                v2(x0 - 4.0, top + 1.0),
            ];
            painter.fill(&Shape::Polygon { pts: edge, round: 0.3 }, mix(color, [1.0; 3], 0.35));
        }
        Occlusion::Side { left, fraction, color } => {
            // A pole or a passer-by close to the camera: a tall shape with soft shading.
            let bw = w * fraction;
            let (a, b) = if left { (x0 - bw * 0.3, x0 + bw) } else { (x0 + w - bw, x0 + w + bw * 0.3) };
            let pts = vec![v2(a, y0 - 4.0), v2(b, y0 - 4.0), v2(b, y0 + h + 4.0), v2(a, y0 + h + 4.0)];
            let mid = (a + b) / 2.0;
            let half = ((b - a) / 2.0).max(1.0);
            painter.fill_with(&Shape::Polygon { pts, round: bw * 0.3 }, |p| {
                scale(color, 1.0 - 0.35 * ((p.x - mid) / half).powi(2))
            });
        }
    }
}

/// Renders one dataset crop of `width x height` pixels: the camera's background, the person placed and
/// lit by the shot, the occluder, then blur and sensor noise.
pub fn render_crop(identity: &Identity, camera: &Camera, shot: &Shot, width: u32, height: u32) -> RgbImage {
    let mut image = RgbImage::new(width, height);
    let camera = Camera { lighting: shot.lighting, ..*camera };
    render_background(&camera, &mut image, shot.background);
    let box_height = (height as f32 * shot.scale).round().max(1.0);
    let y = (height as f32 - box_height) / 2.0 + shot.offset.1 * height as f32;
    let person = Rect::new((shot.offset.0 * width as f32).round() as i32, y.round() as i32, width, box_height as u32);
    render_person(identity, &camera, &shot.pose, &mut image, person);
    if let Some(occlusion) = &shot.occlusion {
        render_occlusion(occlusion, &camera.lighting, &mut image, Rect { x: 0, width, ..person });
    }
    apply_sensor(&camera, &mut image, Rect::full(width, height), shot.noise);
    image
}
