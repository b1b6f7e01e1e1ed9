//! Seeded synthetic people: a pure-Rust renderer of pedestrian crops and a Market-1501 dataset writer.
//!
//! Everything is a function of a seed, so the same seed always gives the same pixels, whatever the thread count:
//!
//! - [`Identity`]: the look of one person (body shape, skin, hair, clothes and their pattern, shoes, backpack,
//!   bag, hat), drawn from palettes whose neighbours are easy to confuse (navy and black, white and light grey).
//! - [`Camera`]: the conditions of one camera (lighting and colour cast, the viewpoints it sees people from,
//!   background, blur, sensor noise, how often something stands in front of the person).
//! - [`Pose`] and [`Shot`]: one image's walking pose and viewpoint, and its placement, lighting jitter and
//!   occluder.
//! - [`render_background`], [`render_person`], [`render_occlusion`], [`apply_sensor`]: draw onto any
//!   [`image::RgbImage`], a person inside any [`Rect`] (a crop or a box on a larger frame);
//!   [`render_crop`] does all of it for one dataset crop.
//! - [`write_dataset`]: a Market-1501 folder (`bounding_box_train`, `bounding_box_test`, `query`) of JPEG
//!   crops named `PPPP_cCsS_FFFFFF_NN.jpg`, rendered in parallel, with `synth.json` and `README.txt`.

mod camera;
mod color;
mod effects;
mod error;
mod figure;
mod identity;
mod pose;
mod raster;
mod render;
mod write;

pub use camera::{Background, Camera, Lighting, Texture, Viewpoint};
pub use color::Color;
pub use effects::apply_sensor;
pub use error::PersonsError;
pub use identity::{Accessories, Body, Bottom, BottomKind, Hair, HairLength, Identity, Pattern, Sleeves, Top};
pub use pose::{Occlusion, Pose, Shot};
pub use raster::Rect;
pub use render::{render_background, render_crop, render_occlusion, render_person};
pub use write::{DatasetSpec, DatasetSummary, JPEG_QUALITY, render_preview, write_dataset};

use rand::SeedableRng;
use rand::rngs::StdRng;

/// Mixes a list of numbers (a seed and the keys of what is drawn) into one well-spread 64-bit seed
/// (SplitMix64 over the parts), so that nearby keys give unrelated random streams.
pub fn derive_seed(parts: &[u64]) -> u64 {
    let mut state = 0x243F_6A88_85A3_08D3_u64;
    for &part in parts {
        state = splitmix64(state ^ splitmix64(part.wrapping_add(0x9E37_79B9_7F4A_7C15)));
    }
    state
}

/// A random stream for the given keys (see [`derive_seed`]).
pub(crate) fn rng_for(parts: &[u64]) -> StdRng {
    StdRng::seed_from_u64(derive_seed(parts))
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Keys that separate the random streams of different kinds of things drawn from one seed.
pub(crate) mod tag {
    /// An identity's attributes.
    pub const IDENTITY: u64 = 1;
    /// A camera's conditions.
    pub const CAMERA: u64 = 2;
    /// One image of an identity.
    pub const IMAGE: u64 = 3;
    /// A distractor's attributes and image.
    pub const DISTRACTOR: u64 = 4;
    /// A junk image.
    pub const JUNK: u64 = 5;
    /// File-name numbers (sequence, frame).
    pub const NAME: u64 = 6;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derive_seed_separates_keys() {
        let a = derive_seed(&[0, 1, 2]);
        assert_eq!(a, derive_seed(&[0, 1, 2]));
        assert_ne!(a, derive_seed(&[0, 2, 1]));
        assert_ne!(a, derive_seed(&[1, 1, 2]));
        assert_ne!(derive_seed(&[0]), derive_seed(&[0, 0]));
    }
}
