//! The conditions of one camera: lighting, viewpoints, background, optics and occluders.

use rand::Rng;

use super::color::{CLOTHES, Color, SCENERY, mix, pick_jittered};
use super::{rng_for, tag};

/// The direction a person is seen from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Viewpoint {
    /// Walking towards the camera: face, chest logo and backpack straps show.
    Front,
    /// Walking away: the back of the head and the backpack show.
    Back,
    /// Walking to the image's left (side view, narrower).
    Left,
    /// Walking to the image's right (side view, narrower).
    Right,
}

impl Viewpoint {
    /// All viewpoints, in the order of [`Camera::viewpoints`].
    pub const ALL: [Viewpoint; 4] = [Viewpoint::Front, Viewpoint::Back, Viewpoint::Left, Viewpoint::Right];

    /// True for the side views.
    pub fn is_side(self) -> bool {
        matches!(self, Viewpoint::Left | Viewpoint::Right)
    }
}

/// How a camera (and one image's moment) lights and records colours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lighting {
    /// Overall gain (`1.0` neutral).
    pub brightness: f32,
    /// Contrast around mid-grey (`1.0` neutral).
    pub contrast: f32,
    /// Per-channel gain: the colour cast of the light and the sensor's white balance (`[1.0; 3]` neutral).
    pub cast: [f32; 3],
    /// Colour saturation (`1.0` neutral, `0.0` grey).
    pub saturation: f32,
}

impl Lighting {
    /// No change at all.
    pub const NEUTRAL: Lighting = Lighting { brightness: 1.0, contrast: 1.0, cast: [1.0; 3], saturation: 1.0 };

    /// The recorded colour of a surface of colour `c`, clamped to `0.0..=1.0`.
    pub fn apply(&self, c: Color) -> Color {
        let grey = (c[0] + c[1] + c[2]) / 3.0;
        let mut out = [0.0; 3];
        for ch in 0..3 {
            let saturated = grey + (c[ch] - grey) * self.saturation;
            let contrasted = (saturated - 0.5) * self.contrast + 0.5;
            out[ch] = (contrasted * self.brightness * self.cast[ch]).clamp(0.0, 1.0);
        }
        out
    }

    /// This lighting with one image's small random change (a cloud, a lamp, auto-exposure).
    pub fn jittered(&self, rng: &mut impl Rng) -> Lighting {
        let gain = rng.random_range(0.95..1.05);
        Lighting {
            brightness: self.brightness * gain,
            contrast: self.contrast * rng.random_range(0.97..1.03),
            cast: self.cast.map(|c| c * rng.random_range(0.975..1.025)),
            saturation: self.saturation * rng.random_range(0.95..1.05),
        }
    }
}

/// A background texture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Texture {
    /// An even surface.
    Plain,
    /// Rows of bricks with mortar lines.
    Bricks,
    /// Vertical panels (shop windows, fences).
    Panels,
    /// Square tiles (pavements, station floors).
    Tiles,
    /// Blotchy noise (hedges, gravel, dirty walls).
    Noise,
}

/// The scene behind people: a wall above a horizon line, the ground below, and clutter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Background {
    /// Colour of the wall (upper part).
    pub wall: Color,
    /// Colour of the ground (lower part).
    pub ground: Color,
    /// Where the ground starts, as a share of the image height from the top.
    pub horizon: f32,
    /// Texture of the wall.
    pub wall_texture: Texture,
    /// Texture of the ground.
    pub ground_texture: Texture,
    /// How strongly textures show (`0.0..=0.3`).
    pub texture_strength: f32,
    /// Brightness change from the top of the wall to the horizon (a shaded gradient, `-0.25..=0.25`).
    pub gradient: f32,
    /// Objects standing in the scene (signs, windows, bins, other people's blurs), per image.
    pub clutter: u32,
    /// Colours of clutter objects.
    pub clutter_colors: [Color; 3],
}

/// The conditions of one camera, fixed for every image it records.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Camera {
    /// Camera id (from 1 in Market-1501 names).
    pub id: u32,
    /// Lighting and colour response.
    pub lighting: Lighting,
    /// Relative frequency of each viewpoint, in the order front, back, left, right.
    pub viewpoints: [f32; 4],
    /// The scene behind people.
    pub background: Background,
    /// Gaussian blur sigma in pixels for a 128-pixel-high person box (scaled with the box).
    pub blur: f32,
    /// Standard deviation of the sensor's Gaussian noise, in `0.0..=1.0` channel units.
    pub noise: f32,
    /// Probability that something stands in front of the person in an image.
    pub occlusion: f32,
    /// Colours of the things that stand in front of people (cars, benches, poles, other people).
    pub occluder_colors: [Color; 2],
}

impl Camera {
    /// The camera with id `id` under `seed`: the same arguments always give the same camera.
    pub fn new(seed: u64, id: u32) -> Self {
        let mut rng = rng_for(&[seed, tag::CAMERA, u64::from(id)]);
        Self::random(id, &mut rng)
    }

    /// A camera with id `id` drawn from `rng`.
    pub fn random(id: u32, rng: &mut impl Rng) -> Self {
        // A colour temperature (warm or cold light) plus a smaller independent tint per channel.
        let warmth = rng.random_range(-0.09..0.09);
        let tint = rng.random_range(-0.04..0.04);
        let cast = [
            (1.0_f32 + warmth + rng.random_range(-0.025..0.025)).max(0.5),
            (1.0_f32 + tint + rng.random_range(-0.025..0.025)).max(0.5),
            (1.0_f32 - warmth + rng.random_range(-0.025..0.025)).max(0.5),
        ];
        let lighting = Lighting {
            brightness: rng.random_range(0.86..1.10),
            contrast: rng.random_range(0.88..1.08),
            cast,
            saturation: rng.random_range(0.82..1.06),
        };
        // Each camera sees people mostly from one direction (it looks along a corridor or a pavement).
        let mut viewpoints = [0.25_f32; 4];
        for weight in &mut viewpoints {
            *weight = rng.random_range(0.1..0.6);
        }
        viewpoints[rng.random_range(0..4)] += rng.random_range(1.0..2.5);
        let wall = pick_jittered(rng, SCENERY, 0.05);
        let ground = mix(pick_jittered(rng, SCENERY, 0.05), [0.4, 0.4, 0.4], 0.3);
        let textures = [Texture::Plain, Texture::Bricks, Texture::Panels, Texture::Tiles, Texture::Noise];
        let background = Background {
            wall,
            ground,
            horizon: rng.random_range(0.50..0.85),
            wall_texture: textures[rng.random_range(0..textures.len())],
            ground_texture: [Texture::Plain, Texture::Tiles, Texture::Noise][rng.random_range(0..3)],
            texture_strength: rng.random_range(0.05..0.25),
            gradient: rng.random_range(-0.25..0.25),
            clutter: rng.random_range(0..5),
            clutter_colors: [
                pick_jittered(rng, SCENERY, 0.08),
                pick_jittered(rng, CLOTHES, 0.05),
                pick_jittered(rng, SCENERY, 0.08),
            ],
        };
        Self {
            id,
            lighting,
            viewpoints,
            background,
            blur: rng.random_range(0.0..1.3),
            noise: rng.random_range(0.008..0.035),
            occlusion: rng.random_range(0.0..0.35),
            occluder_colors: [pick_jittered(rng, SCENERY, 0.08), pick_jittered(rng, CLOTHES, 0.05)],
        }
    }

    /// A viewpoint drawn by this camera's frequencies.
    pub fn viewpoint(&self, rng: &mut impl Rng) -> Viewpoint {
        let total: f32 = self.viewpoints.iter().sum();
        let mut x = rng.random::<f32>() * total;
        for (weight, view) in self.viewpoints.iter().zip(Viewpoint::ALL) {
            if x < *weight {
                return view;
            }
            x -= weight;
        }
        Viewpoint::Right
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cameras_are_seeded_and_differ() {
        assert_eq!(Camera::new(1, 2), Camera::new(1, 2));
        assert_ne!(Camera::new(1, 2).lighting, Camera::new(1, 3).lighting);
        assert_eq!(Camera::new(1, 2).id, 2);
    }

    #[test]
    fn neutral_lighting_keeps_colours() {
        let c = [0.2, 0.5, 0.9];
        let out = Lighting::NEUTRAL.apply(c);
        for (a, b) in c.iter().zip(out) {
            assert!((a - b).abs() < 1e-6);
        }
        let dark = Lighting { brightness: 0.5, ..Lighting::NEUTRAL }.apply(c);
        assert!(dark[2] < 0.5);
    }
}
