//! Anti-aliased filling of simple shapes (ellipses, capsules, convex polygons) on an [`RgbImage`], clipped to a
//! pixel rectangle. Shapes are signed distance functions in pixel units; a pixel's coverage is the share of
//! it inside the shape, estimated from the distance at its centre.

use image::RgbImage;

use super::camera::Lighting;
use super::color::Color;

/// A pixel box on an image; it may stick out of the image (drawing is clamped to the image).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge (may be negative).
    pub x: i32,
    /// Top edge (may be negative).
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl Rect {
    /// A box with its top-left corner at `(x, y)`.
    pub fn new(x: i32, y: i32, width: u32, height: u32) -> Self {
        Self { x, y, width, height }
    }

    /// The whole of an image of the given size.
    pub fn full(width: u32, height: u32) -> Self {
        Self::new(0, 0, width, height)
    }

    /// The part of this box inside a `width x height` image.
    pub(crate) fn clip(&self, width: u32, height: u32) -> Clip {
        let x0 = i64::from(self.x).clamp(0, i64::from(width));
        let y0 = i64::from(self.y).clamp(0, i64::from(height));
        let x1 = (i64::from(self.x) + i64::from(self.width)).clamp(0, i64::from(width));
        let y1 = (i64::from(self.y) + i64::from(self.height)).clamp(0, i64::from(height));
        // The values are clamped to `0..=u32::MAX`, so the casts are exact.
        Clip { x0: x0 as u32, y0: y0 as u32, x1: x1 as u32, y1: y1 as u32 }
    }
}

/// A point or vector in pixel coordinates (pixel `(i, j)` has its centre at `(i + 0.5, j + 0.5)`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct V2 {
    pub x: f32,
    pub y: f32,
}

pub(crate) fn v2(x: f32, y: f32) -> V2 {
    V2 { x, y }
}

impl V2 {
    fn sub(self, o: V2) -> V2 {
        v2(self.x - o.x, self.y - o.y)
    }
    fn dot(self, o: V2) -> f32 {
        self.x * o.x + self.y * o.y
    }
    fn len(self) -> f32 {
        self.dot(self).sqrt()
    }
}

/// A filled shape.
#[derive(Clone, Debug)]
pub(crate) enum Shape {
    /// An axis-aligned ellipse.
    Ellipse { c: V2, rx: f32, ry: f32 },
    /// All points within `r` of the segment `a`-`b` (a limb).
    Capsule { a: V2, b: V2, r: f32 },
    /// A convex polygon (either winding) grown by `round` (rounded corners).
    Polygon { pts: Vec<V2>, round: f32 },
}

impl Shape {
    /// Signed distance from `p` to the outline (negative inside), in pixels; approximate for ellipses and
    /// outside polygon corners, which only softens the anti-aliasing there.
    fn distance(&self, p: V2) -> f32 {
        match self {
            Shape::Ellipse { c, rx, ry } => {
                let d = p.sub(*c);
                let (rx, ry) = (rx.max(1e-3), ry.max(1e-3));
                let k0 = v2(d.x / rx, d.y / ry).len();
                let k1 = v2(d.x / (rx * rx), d.y / (ry * ry)).len();
                if k1 < 1e-6 { -rx.min(ry) } else { k0 * (k0 - 1.0) / k1 }
            }
            Shape::Capsule { a, b, r } => {
                let pa = p.sub(*a);
                let ba = b.sub(*a);
                let denom = ba.dot(ba);
                let h = if denom > 0.0 { (pa.dot(ba) / denom).clamp(0.0, 1.0) } else { 0.0 };
                v2(pa.x - ba.x * h, pa.y - ba.y * h).len() - r
            }
            Shape::Polygon { pts, round } => {
                let n = pts.len();
                let area: f32 = (0..n)
                    .map(|i| {
                        let (a, b) = (pts[i], pts[(i + 1) % n]);
                        a.x * b.y - b.x * a.y
                    })
                    .sum();
                let sign = if area >= 0.0 { 1.0 } else { -1.0 };
                let mut d = f32::NEG_INFINITY;
                for i in 0..n {
                    let (a, b) = (pts[i], pts[(i + 1) % n]);
                    let e = b.sub(a);
                    let len = e.len();
                    if len < 1e-6 {
                        continue;
                    }
                    // Outward normal of a counter-clockwise (in y-down coordinates: clockwise) edge.
                    let normal = v2(e.y * sign / len, -e.x * sign / len);
                    d = d.max(p.sub(a).dot(normal));
                }
                d - round
            }
        }
    }

    /// The shape's bounding box `(min, max)` in pixels.
    fn bounds(&self) -> (V2, V2) {
        match self {
            Shape::Ellipse { c, rx, ry } => (v2(c.x - rx, c.y - ry), v2(c.x + rx, c.y + ry)),
            Shape::Capsule { a, b, r } => {
                (v2(a.x.min(b.x) - r, a.y.min(b.y) - r), v2(a.x.max(b.x) + r, a.y.max(b.y) + r))
            }
            Shape::Polygon { pts, round } => {
                let mut lo = v2(f32::INFINITY, f32::INFINITY);
                let mut hi = v2(f32::NEG_INFINITY, f32::NEG_INFINITY);
                for p in pts {
                    lo = v2(lo.x.min(p.x), lo.y.min(p.y));
                    hi = v2(hi.x.max(p.x), hi.y.max(p.y));
                }
                (v2(lo.x - round, lo.y - round), v2(hi.x + round, hi.y + round))
            }
        }
    }
}

/// A pixel rectangle `[x0, x1) x [y0, y1)` inside the image, where drawing is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Clip {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
}

impl Clip {
    /// True when nothing can be drawn.
    pub fn is_empty(&self) -> bool {
        self.x0 >= self.x1 || self.y0 >= self.y1
    }
}

/// Draws shapes clipped to a rectangle, passing every colour through a lighting.
pub(crate) struct Painter<'a> {
    pub image: &'a mut RgbImage,
    pub clip: Clip,
    pub lighting: Lighting,
}

impl Painter<'_> {
    /// Fills `shape` with one colour.
    pub fn fill(&mut self, shape: &Shape, color: Color) {
        self.fill_with(shape, |_| color);
    }

    /// Fills `shape` with the colour `paint` gives at each pixel centre (patterns).
    pub fn fill_with(&mut self, shape: &Shape, paint: impl Fn(V2) -> Color) {
        if self.clip.is_empty() {
            return;
        }
        let (lo, hi) = shape.bounds();
        if !(lo.x.is_finite() && lo.y.is_finite() && hi.x.is_finite() && hi.y.is_finite()) {
            return;
        }
        let x0 = (lo.x.floor() - 1.0).max(self.clip.x0 as f32) as u32;
        let y0 = (lo.y.floor() - 1.0).max(self.clip.y0 as f32) as u32;
        let x1 = (hi.x.ceil() + 1.0).min(self.clip.x1 as f32).max(0.0) as u32;
        let y1 = (hi.y.ceil() + 1.0).min(self.clip.y1 as f32).max(0.0) as u32;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = v2(x as f32 + 0.5, y as f32 + 0.5);
                let coverage = (0.5 - shape.distance(p)).clamp(0.0, 1.0);
                if coverage <= 0.0 {
                    continue;
                }
                let color = self.lighting.apply(paint(p));
                let pixel = self.image.get_pixel_mut(x, y);
                for (channel, src) in pixel.0.iter_mut().zip(color) {
                    let dst = f32::from(*channel) / 255.0;
                    *channel = to_u8(dst + (src - dst) * coverage);
                }
            }
        }
    }
}

/// A channel value in `0.0..=1.0` as a rounded byte.
pub(crate) fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_have_the_right_sign() {
        let e = Shape::Ellipse { c: v2(10.0, 10.0), rx: 4.0, ry: 8.0 };
        assert!(e.distance(v2(10.0, 10.0)) < 0.0);
        assert!((e.distance(v2(10.0, 19.0)) - 1.0).abs() < 0.2);
        assert!(e.distance(v2(15.0, 10.0)) > 0.5);
        let c = Shape::Capsule { a: v2(0.0, 0.0), b: v2(0.0, 10.0), r: 2.0 };
        assert!((c.distance(v2(3.0, 5.0)) - 1.0).abs() < 1e-5);
        for pts in [
            vec![v2(0.0, 0.0), v2(10.0, 0.0), v2(10.0, 10.0), v2(0.0, 10.0)],
            vec![v2(0.0, 10.0), v2(10.0, 10.0), v2(10.0, 0.0), v2(0.0, 0.0)],
        ] {
            let poly = Shape::Polygon { pts, round: 0.0 };
            assert!((poly.distance(v2(5.0, 5.0)) + 5.0).abs() < 1e-5);
            assert!((poly.distance(v2(12.0, 5.0)) - 2.0).abs() < 1e-5);
        }
    }
}
