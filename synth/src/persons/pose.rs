//! One image's moment: viewpoint and walking pose, placement in the crop, lighting jitter and occluder.

use std::f32::consts::TAU;

use rand::Rng;

use super::camera::{Camera, Lighting, Viewpoint};
use super::color::Color;

/// How a person stands in one image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    /// The direction the person is seen from.
    pub viewpoint: Viewpoint,
    /// Phase of the walking cycle in radians: legs and arms swing with `sin(phase)`.
    pub phase: f32,
}

impl Pose {
    /// A pose with the given viewpoint and walking phase.
    pub fn new(viewpoint: Viewpoint, phase: f32) -> Self {
        Self { viewpoint, phase }
    }

    /// A viewpoint drawn by the camera's frequencies and a uniform walking phase.
    pub fn random(camera: &Camera, rng: &mut impl Rng) -> Self {
        Self { viewpoint: camera.viewpoint(rng), phase: rng.random_range(0.0..TAU) }
    }
}

/// Something standing between the camera and the person.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Occlusion {
    /// An object covering the lower part of the box (a car, a bench, a railing).
    Lower {
        /// Covered share of the box height, from the bottom.
        fraction: f32,
        /// The object's colour.
        color: Color,
    },
    /// An object covering a vertical band at one side (a pole, another pedestrian).
    Side {
        /// True for the left side of the box.
        left: bool,
        /// Covered share of the box width.
        fraction: f32,
        /// The object's colour.
        color: Color,
    },
}

/// Everything that varies between two crops of the same person by the same camera.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shot {
    /// Viewpoint and walking pose.
    pub pose: Pose,
    /// Shift of the person box from the crop centre, as shares of the crop width and height.
    pub offset: (f32, f32),
    /// Height of the person box as a share of the crop height.
    pub scale: f32,
    /// The camera's lighting with this moment's jitter.
    pub lighting: Lighting,
    /// An occluder, if any.
    pub occlusion: Option<Occlusion>,
    /// Seed of the background's per-image variation (which part of the scene is behind the person).
    pub background: u64,
    /// Seed of the sensor noise.
    pub noise: u64,
}

impl Shot {
    /// A shot drawn from `rng` under the camera's conditions.
    pub fn random(camera: &Camera, rng: &mut impl Rng) -> Self {
        let pose = Pose::random(camera, rng);
        let offset = (rng.random_range(-0.07..0.07), rng.random_range(-0.03..0.03));
        let scale = rng.random_range(0.86..0.99);
        let lighting = camera.lighting.jittered(rng);
        let occlusion = rng.random_bool(f64::from(camera.occlusion.clamp(0.0, 1.0))).then(|| {
            let color = camera.occluder_colors[rng.random_range(0..2)];
            if rng.random_bool(0.6) {
                Occlusion::Lower { fraction: rng.random_range(0.2..0.45), color }
            } else {
                Occlusion::Side { left: rng.random_bool(0.5), fraction: rng.random_range(0.15..0.35), color }
            }
        });
        Self { pose, offset, scale, lighting, occlusion, background: rng.random(), noise: rng.random() }
    }
}
