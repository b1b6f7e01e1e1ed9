//! A half-precision copy of f32 rows to build a graph step on.
//!
//! Building a graph is a walk that waits on memory: each insertion scores a few hundred rows scattered over the
//! whole gallery, so its cost follows the bytes per row. On a bulk step (a first build, or growth by 1/16 of the
//! graph or more) a graph over f32 rows is built on an f16 copy of them: half the bytes per distance, so the f32
//! index builds at the f16 index's cost. Only the choice of links sees the rounding (at most 2^-11 relative per
//! value); the index keeps, searches and scores its f32 rows. Graphs built on f16 and on f32 rows reach the same
//! recall (gallery README, 1M x 256: recall@10 0.833 / 0.910 / 0.963 / 0.991 against 0.838 / 0.908 / 0.964 / 0.991
//! at efSearch 16-128). Small steps (the stream's inserts) read the f32 rows, as does a step whose rows hold a value
//! past f16's range, or whose copy would take more than half the memory the kernel reports available.

use super::Rows;
use half::f16;
use half::slice::HalfFloatSliceExt;
use rayon::prelude::*;

/// The largest finite f16.
const F16_MAX: f32 = 65_504.0;
/// Values converted per parallel task.
const CHUNK: usize = 1 << 16;
/// The largest copy made where the available memory is unknown (not Linux).
const UNKNOWN_MEMORY_LIMIT: usize = 1 << 30;

/// An f16 copy of `rows` when they are f32, every value lies in f16's range and the copy fits in memory (see the
/// module docs); None otherwise (f16 rows already, or the step is to be built on the f32 rows).
pub(super) fn half_copy(rows: &Rows<'_>) -> Option<Vec<f16>> {
    let Rows::F32 { data, .. } = *rows else { return None };
    let bytes = std::mem::size_of_val(data) / 2;
    if !fits_in_memory(bytes) {
        tracing::info!(bytes, "hnsw: too little free memory for an f16 copy of the rows; building on the f32 rows");
        return None;
    }
    let mut copy = vec![f16::ZERO; data.len()];
    let in_range = copy
        .par_chunks_mut(CHUNK)
        .zip(data.par_chunks(CHUNK))
        .map(|(out, src)| {
            // A NaN or a value that f16 would round to infinity keeps the step on the f32 rows.
            let ok = src.iter().all(|x| x.abs() <= F16_MAX);
            if ok {
                out.convert_from_f32_slice(src);
            }
            ok
        })
        .all(|ok| ok);
    if !in_range {
        tracing::debug!("hnsw: a row value lies outside f16's range; building on the f32 rows");
    }
    in_range.then_some(copy)
}

/// Whether a copy of `bytes` leaves half the available memory free (or, where that is unknown, is at most 1 GiB).
fn fits_in_memory(bytes: usize) -> bool {
    let available = std::fs::read_to_string("/proc/meminfo").ok().and_then(|text| mem_available(&text));
    match available {
        Some(free) => bytes.saturating_mul(2) <= free,
        None => bytes <= UNKNOWN_MEMORY_LIMIT,
    }
}

/// `MemAvailable` of a /proc/meminfo text, in bytes.
fn mem_available(meminfo: &str) -> Option<usize> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Simd;

    #[test]
    fn meminfo_is_read_in_bytes_and_a_bad_text_gives_none() {
        let text = "MemTotal:       24557308 kB\nMemFree:         1000 kB\nMemAvailable:   22954100 kB\n";
        assert_eq!(mem_available(text), Some(22_954_100 * 1024));
        assert_eq!(mem_available("MemTotal: 5 kB\n"), None);
        assert_eq!(mem_available("MemAvailable: lots kB\n"), None);
    }

    #[test]
    fn the_copy_rounds_each_value_and_refuses_values_past_f16s_range() {
        let data: Vec<f32> = (0..200_000).map(|i| ((i as f32) * 0.37).sin() * 3.0).collect();
        let simd = Simd::detect();
        let copy = half_copy(&Rows::F32 { data: &data, dim: 8, simd }).expect("in range");
        assert_eq!(copy.len(), data.len());
        assert!(copy.iter().zip(&data).all(|(h, &x)| *h == f16::from_f32(x)));
        let mut big = data.clone();
        big[150_000] = 70_000.0;
        assert!(half_copy(&Rows::F32 { data: &big, dim: 8, simd }).is_none());
        big[150_000] = f32::NAN;
        assert!(half_copy(&Rows::F32 { data: &big, dim: 8, simd }).is_none());
        assert!(half_copy(&Rows::F16 { data: &copy, dim: 8, simd }).is_none(), "f16 rows are not copied");
    }
}
