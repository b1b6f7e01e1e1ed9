//! Branch-free 16-lane tests that the compiler turns into SIMD compares: the fast paths of the scans that
//! reject most of a distance row without looking at each value twice.

/// Lanes per test.
pub(crate) const LANES: usize = 16;

/// True when any of the 16 values is `<= threshold`.
#[inline]
pub(crate) fn any_le(values: &[f32; LANES], threshold: f32) -> bool {
    let mut hit = 0u32;
    for v in values {
        hit |= (*v <= threshold) as u32;
    }
    hit != 0
}

/// True when any `values[l] <= thresholds[l]`.
#[inline]
pub(crate) fn any_le_each(values: &[f32; LANES], thresholds: &[f32; LANES]) -> bool {
    let mut hit = 0u32;
    for l in 0..LANES {
        hit |= (values[l] <= thresholds[l]) as u32;
    }
    hit != 0
}

/// Bit `l` set when `values[l] <= threshold`.
#[inline]
pub(crate) fn le_mask(values: &[f32; LANES], threshold: f32) -> u32 {
    let mut mask = 0u32;
    for (l, v) in values.iter().enumerate() {
        mask |= u32::from(*v <= threshold) << l;
    }
    mask
}

/// Bit masks of the lanes with `values[l] < x` and with `values[l] == x`.
#[inline]
pub(crate) fn lt_eq_masks(values: &[f32; LANES], x: f32) -> (u32, u32) {
    let (mut lt, mut eq) = (0u32, 0u32);
    for (l, v) in values.iter().enumerate() {
        lt |= u32::from(*v < x) << l;
        eq |= u32::from(*v == x) << l;
    }
    (lt, eq)
}

/// True when every value is finite (no NaN, no infinity).
#[inline]
pub(crate) fn all_finite(values: &[f32]) -> bool {
    let mut chunks = values.chunks_exact(LANES);
    let mut bad = 0u32;
    for chunk in &mut chunks {
        for v in chunk {
            // NaN compares false, so it fails this test as infinity does.
            bad |= u32::from(v.abs() >= f32::INFINITY || v.is_nan());
        }
    }
    bad == 0 && chunks.remainder().iter().all(|v| v.is_finite())
}

/// Maps a finite `f32` to a `u32` with the same order (`-0.0` and `+0.0` map alike).
#[inline]
pub(crate) fn ordered_bits(d: f32) -> u32 {
    let b = (d + 0.0).to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lane_tests() {
        let mut v = [1.0f32; LANES];
        assert!(!any_le(&v, 0.5));
        v[13] = 0.5;
        assert!(any_le(&v, 0.5));
        let mut t = [0.9f32; LANES];
        assert!(any_le_each(&v, &t));
        t[13] = 0.4;
        assert!(!any_le_each(&v, &t));
        v[2] = -3.0;
        assert_eq!(le_mask(&v, 0.5), (1 << 13) | (1 << 2));
        assert_eq!(lt_eq_masks(&v, 0.5), (1 << 2, 1 << 13));
        let mut long = vec![1.0f32; 37];
        assert!(all_finite(&long));
        long[20] = f32::NAN;
        assert!(!all_finite(&long));
        long[20] = 1.0;
        long[36] = f32::NEG_INFINITY;
        assert!(!all_finite(&long));
    }

    #[test]
    fn ordered_bits_keep_order() {
        let xs = [f32::MIN, -2.5, -1e-30, -0.0, 0.0, 1e-30, 0.5, 7.0, f32::MAX];
        for w in xs.windows(2) {
            assert!(ordered_bits(w[0]) <= ordered_bits(w[1]), "{} vs {}", w[0], w[1]);
        }
        assert_eq!(ordered_bits(-0.0), ordered_bits(0.0));
        assert!(ordered_bits(-1e-30) < ordered_bits(0.0));
    }
}
