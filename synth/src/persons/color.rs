//! Colours and the palettes identities and cameras draw from.
//!
//! Palettes hold groups of neighbours that are easy to confuse (navy, dark blue and black; white and light
//! grey; red and maroon), weighted the way street clothing is (many dark and neutral colours), so that colour
//! alone identifies a person only in part.

use rand::Rng;

/// An RGB colour with channels in `0.0..=1.0` (sRGB values, as stored in an 8-bit image divided by 255).
pub type Color = [f32; 3];

/// A palette entry: a colour and its relative frequency.
pub(crate) type Swatch = (Color, f32);

/// Tops, accessories and logos.
pub(crate) const CLOTHES: &[Swatch] = &[
    ([0.08, 0.08, 0.09], 9.0), // black
    ([0.22, 0.22, 0.24], 6.0), // charcoal
    ([0.45, 0.45, 0.47], 5.0), // grey
    ([0.70, 0.70, 0.70], 4.0), // light grey
    ([0.92, 0.92, 0.90], 7.0), // white
    ([0.80, 0.72, 0.58], 3.0), // beige
    ([0.10, 0.14, 0.35], 5.0), // navy
    ([0.16, 0.30, 0.65], 4.0), // blue
    ([0.45, 0.60, 0.85], 3.0), // light blue
    ([0.75, 0.12, 0.12], 3.0), // red
    ([0.50, 0.08, 0.12], 2.0), // maroon
    ([0.88, 0.30, 0.22], 2.0), // tomato
    ([0.15, 0.40, 0.20], 2.0), // green
    ([0.42, 0.44, 0.20], 2.0), // olive
    ([0.10, 0.45, 0.45], 1.5), // teal
    ([0.92, 0.80, 0.20], 1.5), // yellow
    ([0.92, 0.52, 0.15], 1.5), // orange
    ([0.90, 0.56, 0.66], 2.0), // pink
    ([0.45, 0.22, 0.55], 1.5), // purple
    ([0.40, 0.26, 0.15], 2.0), // brown
];

/// Trousers, shorts and skirts: mostly dark, denim and neutral.
pub(crate) const BOTTOMS: &[Swatch] = &[
    ([0.07, 0.07, 0.08], 10.0), // black
    ([0.22, 0.22, 0.24], 5.0),  // charcoal
    ([0.12, 0.15, 0.30], 5.0),  // navy
    ([0.22, 0.32, 0.52], 6.0),  // denim
    ([0.45, 0.55, 0.70], 3.0),  // light denim
    ([0.48, 0.48, 0.50], 3.0),  // grey
    ([0.66, 0.58, 0.42], 3.0),  // khaki
    ([0.38, 0.27, 0.18], 2.0),  // brown
    ([0.90, 0.90, 0.88], 2.0),  // white
    ([0.80, 0.72, 0.58], 1.5),  // beige
    ([0.45, 0.10, 0.14], 1.0),  // burgundy
    ([0.25, 0.33, 0.20], 1.0),  // olive
];

/// Shoes.
pub(crate) const SHOES: &[Swatch] = &[
    ([0.06, 0.06, 0.06], 8.0), // black
    ([0.90, 0.90, 0.90], 6.0), // white
    ([0.50, 0.50, 0.52], 3.0), // grey
    ([0.35, 0.22, 0.12], 3.0), // brown
    ([0.15, 0.18, 0.35], 2.0), // navy
    ([0.75, 0.15, 0.15], 1.0), // red
];

/// Skin tones.
pub(crate) const SKIN: &[Swatch] = &[
    ([0.96, 0.80, 0.69], 3.0),
    ([0.91, 0.72, 0.58], 3.0),
    ([0.80, 0.60, 0.45], 3.0),
    ([0.66, 0.46, 0.33], 2.0),
    ([0.49, 0.33, 0.23], 2.0),
    ([0.33, 0.22, 0.16], 2.0),
];

/// Hair.
pub(crate) const HAIR: &[Swatch] = &[
    ([0.05, 0.04, 0.04], 10.0), // black
    ([0.16, 0.10, 0.07], 6.0),  // dark brown
    ([0.32, 0.21, 0.13], 4.0),  // brown
    ([0.55, 0.40, 0.25], 2.0),  // light brown
    ([0.82, 0.68, 0.42], 2.0),  // blonde
    ([0.62, 0.62, 0.62], 2.0),  // grey
    ([0.50, 0.20, 0.10], 1.0),  // auburn
];

/// Walls, shop fronts, hedges and pavements of the scenes behind people.
pub(crate) const SCENERY: &[Swatch] = &[
    ([0.55, 0.55, 0.53], 4.0), // concrete
    ([0.38, 0.38, 0.40], 3.0), // dark concrete
    ([0.60, 0.35, 0.28], 2.0), // brick
    ([0.72, 0.66, 0.55], 3.0), // sandstone
    ([0.25, 0.38, 0.22], 2.0), // hedge
    ([0.45, 0.52, 0.58], 2.0), // glass
    ([0.80, 0.80, 0.78], 2.0), // white wall
    ([0.30, 0.30, 0.30], 3.0), // asphalt
    ([0.58, 0.56, 0.50], 3.0), // pavement
    ([0.42, 0.50, 0.30], 1.0), // grass
];

/// Picks a colour from a palette by weight.
pub(crate) fn pick(rng: &mut impl Rng, palette: &[Swatch]) -> Color {
    let total: f32 = palette.iter().map(|(_, w)| w).sum();
    let mut x = rng.random::<f32>() * total;
    for &(color, weight) in palette {
        if x < weight {
            return color;
        }
        x -= weight;
    }
    palette[palette.len() - 1].0
}

/// Picks a colour from a palette and shifts each channel by up to `jitter` (the shade of one garment).
pub(crate) fn pick_jittered(rng: &mut impl Rng, palette: &[Swatch], jitter: f32) -> Color {
    let color = pick(rng, palette);
    let shade = rng.random_range(-jitter..=jitter);
    color.map(|c| (c + shade + rng.random_range(-jitter..=jitter) * 0.5).clamp(0.0, 1.0))
}

/// `color` scaled by `factor` (darker below 1).
pub(crate) fn scale(color: Color, factor: f32) -> Color {
    color.map(|c| (c * factor).clamp(0.0, 1.0))
}

/// Linear interpolation from `a` (t = 0) to `b` (t = 1).
pub(crate) fn mix(a: Color, b: Color, t: f32) -> Color {
    [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn pick_follows_weights_and_stays_in_range() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut black = 0;
        for _ in 0..2000 {
            let c = pick_jittered(&mut rng, SHOES, 0.05);
            assert!(c.iter().all(|v| (0.0..=1.0).contains(v)));
            if c[0] < 0.15 {
                black += 1;
            }
        }
        // Black (weight 8 of 23) and the dark navy overlap under jitter: roughly 35-50 %.
        assert!((600..1100).contains(&black), "{black}");
    }
}
