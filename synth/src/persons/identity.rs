//! The look of one person: seeded attributes that stay the same in every camera.

use rand::Rng;

use super::color::{BOTTOMS, CLOTHES, Color, HAIR, SHOES, SKIN, pick_jittered};
use super::{rng_for, tag};

/// Body proportions, relative to an average person.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Body {
    /// Share of the box height the person fills (`0.90..=1.0`).
    pub height: f32,
    /// Width factor of shoulders, hips and limbs (`0.80..=1.22`).
    pub width: f32,
    /// Head size factor (`0.88..=1.12`).
    pub head: f32,
    /// Leg length as a share of the body height, feet included (`0.45..=0.51`).
    pub legs: f32,
}

/// How long the hair is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HairLength {
    /// Close to the scalp.
    Short,
    /// Down to the ears.
    Medium,
    /// Down past the shoulders.
    Long,
}

/// Hair colour and length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hair {
    /// Hair colour.
    pub color: Color,
    /// Hair length.
    pub length: HairLength,
}

/// The pattern of a top.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pattern {
    /// One colour.
    Solid,
    /// Horizontal stripes of the two colours; `period` is one stripe pair as a share of the body height.
    Stripes {
        /// Height of one stripe pair, as a share of the body height.
        period: f32,
    },
    /// The main colour above, the second colour below `split` (a share of the torso height from the shoulders).
    TwoTone {
        /// Where the second colour starts, as a share of the torso height.
        split: f32,
    },
    /// A checkerboard of the two colours; `period` is one check's side as a share of the body height.
    Checks {
        /// One check's side, as a share of the body height.
        period: f32,
    },
}

/// Sleeve length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sleeves {
    /// Down to the elbows; forearms show skin.
    Short,
    /// Down to the wrists.
    Long,
}

/// The upper garment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Top {
    /// Main colour (sleeves included).
    pub color: Color,
    /// Second colour of stripes, two-tone and checks.
    pub second: Color,
    /// The pattern.
    pub pattern: Pattern,
    /// Sleeve length.
    pub sleeves: Sleeves,
    /// A print on the chest, seen only from the front.
    pub logo: Option<Color>,
}

/// The kind of lower garment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BottomKind {
    /// Down to the shoes.
    Trousers,
    /// Down to the knees; shins show skin.
    Shorts,
    /// A flared skirt to the knees.
    Skirt,
}

/// The lower garment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bottom {
    /// Colour.
    pub color: Color,
    /// Trousers, shorts or skirt.
    pub kind: BottomKind,
}

/// What a person carries or wears on top of the clothes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Accessories {
    /// A backpack and its colour: a large patch from the back, straps from the front, a bulge from the side.
    pub backpack: Option<Color>,
    /// A shoulder bag and its colour, at the hip with a diagonal strap.
    pub bag: Option<Color>,
    /// A cap and its colour.
    pub hat: Option<Color>,
}

/// The look of one person: the same in every camera and every image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Identity {
    /// Body proportions.
    pub body: Body,
    /// Skin tone.
    pub skin: Color,
    /// Hair.
    pub hair: Hair,
    /// Upper garment.
    pub top: Top,
    /// Lower garment.
    pub bottom: Bottom,
    /// Shoe colour.
    pub shoes: Color,
    /// Backpack, bag, hat.
    pub accessories: Accessories,
}

impl Identity {
    /// The person with id `pid` under `seed`: the same arguments always give the same person.
    pub fn new(seed: u64, pid: u32) -> Self {
        Self::random(&mut rng_for(&[seed, tag::IDENTITY, u64::from(pid)]))
    }

    /// A person drawn from `rng` (for callers that manage their own random streams, e.g. distractors).
    pub fn random(rng: &mut impl Rng) -> Self {
        let body = Body {
            height: rng.random_range(0.90..=1.0),
            width: rng.random_range(0.80..=1.22),
            head: rng.random_range(0.88..=1.12),
            legs: rng.random_range(0.45..=0.51),
        };
        let skin = pick_jittered(rng, SKIN, 0.03);
        let length = match rng.random_range(0..8) {
            0..=3 => HairLength::Short,
            4..=5 => HairLength::Medium,
            _ => HairLength::Long,
        };
        let hair = Hair { color: pick_jittered(rng, HAIR, 0.03), length };
        let color = pick_jittered(rng, CLOTHES, 0.04);
        let mut second = pick_jittered(rng, CLOTHES, 0.04);
        if distance(color, second) < 0.25 {
            // A pattern of two near-identical colours would not show: take white or black instead.
            second = if color.iter().sum::<f32>() > 1.5 { [0.1, 0.1, 0.11] } else { [0.9, 0.9, 0.88] };
        }
        let pattern = match rng.random_range(0..20) {
            0..=9 => Pattern::Solid,
            10..=13 => Pattern::Stripes { period: rng.random_range(0.035..0.07) },
            14..=16 => Pattern::TwoTone { split: rng.random_range(0.35..0.65) },
            _ => Pattern::Checks { period: rng.random_range(0.03..0.05) },
        };
        let sleeves = if rng.random_bool(0.5) { Sleeves::Long } else { Sleeves::Short };
        let logo = rng.random_bool(0.3).then(|| pick_jittered(rng, CLOTHES, 0.04));
        let top = Top { color, second, pattern, sleeves, logo };
        let kind = match rng.random_range(0..10) {
            0..=5 => BottomKind::Trousers,
            6..=7 => BottomKind::Shorts,
            _ => BottomKind::Skirt,
        };
        let bottom = Bottom { color: pick_jittered(rng, BOTTOMS, 0.04), kind };
        let shoes = pick_jittered(rng, SHOES, 0.03);
        let accessories = Accessories {
            backpack: rng.random_bool(0.3).then(|| pick_jittered(rng, CLOTHES, 0.04)),
            bag: rng.random_bool(0.2).then(|| pick_jittered(rng, CLOTHES, 0.04)),
            hat: rng.random_bool(0.15).then(|| pick_jittered(rng, CLOTHES, 0.04)),
        };
        Self { body, skin, hair, top, bottom, shoes, accessories }
    }
}

fn distance(a: Color, b: Color) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_seeded_and_vary() {
        assert_eq!(Identity::new(7, 3), Identity::new(7, 3));
        assert_ne!(Identity::new(7, 3), Identity::new(7, 4));
        assert_ne!(Identity::new(7, 3), Identity::new(8, 3));
        let people: Vec<Identity> = (1..=200).map(|pid| Identity::new(0, pid)).collect();
        let backpacks = people.iter().filter(|p| p.accessories.backpack.is_some()).count();
        let skirts = people.iter().filter(|p| p.bottom.kind == BottomKind::Skirt).count();
        let striped = people.iter().filter(|p| matches!(p.top.pattern, Pattern::Stripes { .. })).count();
        assert!((30..90).contains(&backpacks), "{backpacks}");
        assert!((15..70).contains(&skirts), "{skirts}");
        assert!((15..70).contains(&striped), "{striped}");
        assert!(people.iter().all(|p| (0.8..=1.22).contains(&p.body.width)));
    }
}
