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
    }
}
