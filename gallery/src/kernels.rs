//! Dot products of one f32 query against a block of gallery rows stored as f32 or f16, and of int8 codes.
//!
//! On x86_64 with AVX2 + FMA + F16C, detected at run time, the scan kernels run four rows at a time with the
//! query loaded once per eight lanes; f16 rows are widened with `_mm256_cvtph_ps`, so an f16 gallery streams half
//! the bytes of an f32 one. The batched kernel ([`block_scores`]) is an outer product in registers: 16 queries x 6
//! rows with AVX2, 32 queries x 12 rows with AVX-512 where the CPU has it. Elsewhere a portable version runs
//! (auto-vectorised lanes; f16 widened through the `half` crate's slice conversion, which uses the CPU's conversion
//! instructions where it can).
//!
//! int8 storage ([`quantize_i8`], [`dots_i8`]): each vector gets its own symmetric scale (`max |x| / 127`, codes in
//! -127..=127) and so does the query; the AVX2 kernel multiplies the codes with `_mm256_sign_epi8` +
//! `_mm256_maddubs_epi16` (|q| times q's sign applied to the row: at most 2 x 127 x 127 per 16-bit lane, no
//! saturation) and `_mm256_madd_epi16` into 32-bit sums, four rows at a time, 32 bytes per step.

use half::f16;
use half::slice::HalfFloatSliceExt;

/// Which kernel family runs. Only [`Simd::detect`], [`Simd::all_supported`] and [`Simd::PORTABLE`] make one, so a
/// value always names a family this CPU supports (the SIMD kernels rely on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Simd(Level);

// The x86_64 families are never made on other architectures (`detect` cannot find them there).
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    /// x86_64 AVX-512F (batched kernel) plus everything of `Avx2`.
    Avx512,
    /// x86_64 AVX2 + FMA + F16C.
    Avx2,
    /// Portable code.
    Portable,
}

impl Simd {
    /// Portable code (any CPU).
    pub const PORTABLE: Simd = Simd(Level::Portable);

    /// The best kernel family this CPU supports.
    pub fn detect() -> Simd {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
                && std::arch::is_x86_feature_detected!("f16c")
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    return Simd(Level::Avx512);
                }
                return Simd(Level::Avx2);
            }
        }
        Simd::PORTABLE
    }

    /// Every family this CPU can run, best first.
    pub fn all_supported() -> Vec<Simd> {
        match Simd::detect().0 {
            Level::Avx512 => vec![Simd(Level::Avx512), Simd(Level::Avx2), Simd::PORTABLE],
            Level::Avx2 => vec![Simd(Level::Avx2), Simd::PORTABLE],
            Level::Portable => vec![Simd::PORTABLE],
        }
    }

    /// `avx512`, `avx2` or `portable`.
    pub fn name(self) -> &'static str {
        match self.0 {
            Level::Avx512 => "avx512",
            Level::Avx2 => "avx2",
            Level::Portable => "portable",
        }
    }

    /// Whether the batched search should use [`block_scores`] (SIMD) rather than a GEMM library call.
    pub fn blocked(self) -> bool {
        self.0 != Level::Portable
    }

    /// `(queries, rows)` per call of [`block_scores`].
    pub fn block_shape(self) -> (usize, usize) {
        match self.0 {
            Level::Avx512 => (32, 12),
            Level::Avx2 | Level::Portable => (16, 6),
        }
    }
}

/// `out[r] = query . rows[r]` for `out.len()` rows of `dim` f32 values each.
///
/// # Panics
/// When `query` is not `dim` long or `rows` is shorter than `out.len() * dim`.
pub fn dots_f32(simd: Simd, query: &[f32], rows: &[f32], dim: usize, out: &mut [f32]) {
    assert!(query.len() == dim && rows.len() >= out.len() * dim, "dots_f32: operands shorter than their shape");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd` values of these levels are only made by `detect` after checking avx2, fma and f16c at
        // run time; the lengths were checked above, which is all the kernel's pointer arithmetic relies on.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dots_f32(query, rows, dim, out) },
        _ => portable_dots_f32(query, rows, dim, out),
    }
}

/// `out[r] = query . rows[r]` for `out.len()` rows of `dim` f16 values each; `scratch` is reused by the portable path.
///
/// # Panics
/// When `query` is not `dim` long or `rows` is shorter than `out.len() * dim`.
pub fn dots_f16(simd: Simd, query: &[f32], rows: &[f16], dim: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
    assert!(query.len() == dim && rows.len() >= out.len() * dim, "dots_f16: operands shorter than their shape");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `dots_f32`: the CPU features were detected and the lengths checked.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dots_f16(query, rows, dim, out) },
        _ => {
            let n = out.len() * dim;
            scratch.resize(n, 0.0);
            rows[..n].convert_to_f32_slice(&mut scratch[..n]);
            portable_dots_f32(query, &scratch[..n], dim, out);
        }
    }
}

/// `query . row` for one f32 row (the graph's random accesses; no streaming prefetch). Bit for bit the value
/// [`dot4_f32`] gives for the same row.
///
/// # Panics
/// When the lengths differ.
#[inline]
pub fn dot_f32(simd: Simd, query: &[f32], row: &[f32]) -> f32 {
    assert_eq!(query.len(), row.len(), "dot_f32: lengths differ");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU features were detected (see `Simd::detect`) and the lengths are equal.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dot_f32(query, row) },
        _ => portable_dot(query, row),
    }
}

/// `query . row` for one f16 row, widened in registers (see [`dot_f32`]; bit for bit [`dot4_f16`]'s value).
///
/// # Panics
/// When the lengths differ.
#[inline]
pub fn dot_f16(simd: Simd, query: &[f32], row: &[f16]) -> f32 {
    assert_eq!(query.len(), row.len(), "dot_f16: lengths differ");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU features were detected (see `Simd::detect`) and the lengths are equal.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dot_f16(query, row) },
        _ => query.iter().zip(row).map(|(q, h)| q * h.to_f32()).sum(),
    }
}

/// `query . rows[i]` for four f32 rows anywhere in memory (a graph node's neighbours): the query is loaded once
/// per step for all four, and the four independent accumulations overlap their loads.
///
/// # Panics
/// When a row's length differs from the query's.
#[inline]
pub fn dot4_f32(simd: Simd, query: &[f32], rows: [&[f32]; 4]) -> [f32; 4] {
    assert!(rows.iter().all(|r| r.len() == query.len()), "dot4_f32: lengths differ");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU features were detected (see `Simd::detect`) and the lengths are equal.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dot4_f32(query, rows) },
        _ => rows.map(|r| portable_dot(query, r)),
    }
}

/// [`dot4_f32`] for f16 rows (widened in registers).
///
/// # Panics
/// When a row's length differs from the query's.
#[inline]
pub fn dot4_f16(simd: Simd, query: &[f32], rows: [&[f16]; 4]) -> [f32; 4] {
    assert!(rows.iter().all(|r| r.len() == query.len()), "dot4_f16: lengths differ");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU features were detected (see `Simd::detect`) and the lengths are equal.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dot4_f16(query, rows) },
        _ => rows.map(|r| query.iter().zip(r).map(|(q, h)| q * h.to_f32()).sum()),
    }
}

/// Widens f16 values into `dst` (same length).
pub fn widen_f16(simd: Simd, src: &[f16], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "widen_f16: lengths differ");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU features were detected (see `Simd::detect`) and the lengths are equal.
        Level::Avx2 | Level::Avx512 => unsafe { x86::widen(src, dst) },
        _ => src.convert_to_f32_slice(dst),
    }
}

/// Quantises `x` to int8 codes in `out` (same length) with one symmetric scale: `code = round(x / scale)` with
/// `scale = max |x| / 127`, so codes lie in -127..=127 and `x ~ code * scale`. Returns `scale` (0 for an all-zero
/// or non-finite vector, whose codes are then all 0).
///
/// # Panics
/// When the lengths differ.
pub fn quantize_i8(x: &[f32], out: &mut [i8]) -> f32 {
    assert_eq!(x.len(), out.len(), "quantize_i8: lengths differ");
    let max = x.iter().fold(0.0f32, |m, v| if m.is_nan() || v.is_nan() { f32::NAN } else { m.max(v.abs()) });
    if !(max.is_finite() && max > 0.0) {
        out.fill(0);
        return 0.0;
    }
    let inv = 127.0 / max;
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v * inv).round().clamp(-127.0, 127.0) as i8;
    }
    max / 127.0
}

/// Decodes int8 codes back to `code * scale` into `out` (same length): the values a code scan compares.
///
/// # Panics
/// When the lengths differ.
pub fn dequantize_i8(codes: &[i8], scale: f32, out: &mut [f32]) {
    assert_eq!(codes.len(), out.len(), "dequantize_i8: lengths differ");
    for (o, &c) in out.iter_mut().zip(codes) {
        *o = f32::from(c) * scale;
    }
}

/// `out[r] = query . rows[r]` over int8 codes (exact 32-bit integer sums) for `out.len()` rows of `dim` codes each.
/// Codes must lie in -127..=127 (as [`quantize_i8`] makes them; -128 could saturate the AVX2 kernel).
///
/// # Panics
/// When `query` is not `dim` long or `rows` is shorter than `out.len() * dim`.
pub fn dots_i8(simd: Simd, query: &[i8], rows: &[i8], dim: usize, out: &mut [i32]) {
    assert!(query.len() == dim && rows.len() >= out.len() * dim, "dots_i8: operands shorter than their shape");
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Simd` values of these levels are only made by `detect` after checking avx2 at run time; the
        // lengths were checked above, which is all the kernel's pointer arithmetic relies on.
        Level::Avx2 | Level::Avx512 => unsafe { x86::dots_i8(query, rows, dim, out) },
        _ => {
            for (r, o) in out.iter_mut().enumerate() {
                *o = portable_dot_i8(query, &rows[r * dim..(r + 1) * dim]);
            }
        }
    }
}

/// Integer dot product of two code vectors (the scalar reference of [`dots_i8`]).
pub fn portable_dot_i8(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| i32::from(x) * i32::from(y)).sum()
}

/// Asks the CPU to start loading `data` into cache (x86_64 `prefetcht0` per 64-byte line; nothing elsewhere).
/// A hint: it never faults and changes no values.
#[inline]
pub fn prefetch<T>(data: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let (p, bytes) = (data.as_ptr().cast::<i8>(), std::mem::size_of_val(data));
        let mut off = 0;
        while off < bytes {
            // SAFETY: `p + off` lies inside `data` (off < its size in bytes); prefetching reads nothing
            // architecturally visible and SSE is part of every x86_64 CPU.
            unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.add(off)) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// Packs `nq` query rows (`nq x dim`) for [`block_scores`]: per block of `qblock` queries, `dim x qblock` values
/// (dimension-major, query-minor), queries past `nq` zero.
pub fn pack_queries(queries: &[f32], nq: usize, dim: usize, qblock: usize) -> Vec<f32> {
    let blocks = nq.div_ceil(qblock);
    let mut out = vec![0.0f32; blocks * dim * qblock];
    for (qi, q) in queries.chunks_exact(dim).take(nq).enumerate() {
        let (b, j) = (qi / qblock, qi % qblock);
        let base = b * dim * qblock;
        for (d, &x) in q.iter().enumerate() {
            out[base + d * qblock + j] = x;
        }
    }
    out
}

/// Scores of `rb` gallery rows (`rows`, row-major, `dim` apart) against one packed block of `qb` queries
/// (`packed`, from [`pack_queries`]), where `(qb, rb) = simd.block_shape()`: `out[r * qb + j] = row r . query j`.
/// Returns whether any score is `>= floors[j]` for its query `j`, so callers skip the top-k update for blocks that
/// cannot contribute.
///
/// # Panics
/// When an operand is shorter than its shape (`packed`: `dim * qb`, `rows`: `rb * dim`, `floors`: `qb`,
/// `out`: `rb * qb`).
pub fn block_scores(simd: Simd, packed: &[f32], rows: &[f32], dim: usize, floors: &[f32], out: &mut [f32]) -> bool {
    let (qb, rb) = simd.block_shape();
    assert!(
        packed.len() >= dim * qb && rows.len() >= rb * dim && floors.len() >= qb && out.len() >= rb * qb,
        "block_scores: operands too short"
    );
    match simd.0 {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Simd` of level Avx512 exists only where `detect` found AVX-512F, AVX2 and FMA; the lengths
        // were checked above.
        Level::Avx512 => unsafe { x86::block_scores_512(packed, rows, dim, floors, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a `Simd` of level Avx2 exists only where `detect` found AVX2 and FMA; lengths checked above.
        Level::Avx2 => unsafe { x86::block_scores(packed, rows, dim, floors, out) },
        _ => {
            out[..rb * qb].fill(0.0);
            for d in 0..dim {
                let q = &packed[d * qb..(d + 1) * qb];
                for r in 0..rb {
                    let g = rows[r * dim + d];
                    for j in 0..qb {
                        out[r * qb + j] += g * q[j];
                    }
                }
            }
            out[..rb * qb].chunks_exact(qb).any(|o| o.iter().zip(floors).any(|(s, f)| s >= f))
        }
    }
}

fn portable_dots_f32(query: &[f32], rows: &[f32], dim: usize, out: &mut [f32]) {
    for (r, o) in out.iter_mut().enumerate() {
        *o = portable_dot(query, &rows[r * dim..(r + 1) * dim]);
    }
}

/// Dot product with eight independent lanes (vectorises without FMA or target features).
pub fn portable_dot(a: &[f32], b: &[f32]) -> f32 {
    const L: usize = 8;
    let mut acc = [0.0f32; L];
    let (ca, cb) = (a.chunks_exact(L), b.chunks_exact(L));
    let (ta, tb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..L {
            acc[l] += x[l] * y[l];
        }
    }
    let tail: f32 = ta.iter().zip(tb).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use half::f16;
    use std::arch::x86_64::*;

    /// Horizontal sum of eight lanes.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps::<1>(v);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps::<0b01>(s, s));
        _mm_cvtss_f32(s)
    }

    /// Loads 8 f32 from `p`.
    ///
    /// # Safety
    /// `p..p+8` must be readable and the CPU must have AVX.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn load_f32(p: *const f32) -> __m256 {
        // SAFETY: the caller guarantees 8 readable floats; unaligned loads are allowed.
        unsafe { _mm256_loadu_ps(p) }
    }

    /// Loads 8 f16 from `p` widened to f32.
    ///
    /// # Safety
    /// `p..p+8` must be readable and the CPU must have F16C.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_f16(p: *const f16) -> __m256 {
        // SAFETY: the caller guarantees 8 readable halves (16 bytes); `f16` is a `u16`-sized plain value and
        // `_mm_loadu_si128` has no alignment requirement.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast::<__m128i>())) }
    }

    /// How far ahead of the rows being read the scan kernels prefetch. Measured on a 2-core Zen 5 VM, 1M x 256:
    /// 6 KiB lifts the f16 scan from about 48 to 63 queries/s (2 threads) and leaves f32 where it was (~31);
    /// 2-3 KiB is too short, 8 KiB no better.
    const PREFETCH_BYTES: usize = 6144;

    macro_rules! dots_kernel {
        ($name:ident, $elem:ty, $load:ident, $features:literal, $to_f32:expr) => {
            /// Four rows at a time, eight lanes, two accumulators per row; scalar tails.
            ///
            /// # Safety
            /// The CPU must support the enabled features; `query.len() == dim` and
            /// `rows.len() >= out.len() * dim` (checked by the public wrappers).
            #[target_feature(enable = $features)]
            pub unsafe fn $name(query: &[f32], rows: &[$elem], dim: usize, out: &mut [f32]) {
                let n = out.len();
                let body = dim / 16 * 16;
                let q = query.as_ptr();
                let to_f32 = $to_f32;
                let tail = |row: &[$elem]| -> f32 { (body..dim).map(|d| query[d] * to_f32(row[d])).sum::<f32>() };
                let mut r = 0;
                while r + 4 <= n {
                    let base = rows[r * dim..].as_ptr();
                    let mut acc = [_mm256_setzero_ps(); 8];
                    let mut d = 0;
                    while d < body {
                        // SAFETY: d + 16 <= body <= dim, so q[d..d+16] is inside `query`, and row r+i's elements
                        // d..d+16 lie inside `rows` because (r + 4) * dim <= n * dim <= rows.len().
                        unsafe {
                            let q0 = load_f32(q.add(d));
                            let q1 = load_f32(q.add(d + 8));
                            for i in 0..4 {
                                let p = base.add(i * dim + d);
                                // A hint only (never faults); wrapping_add keeps the address arithmetic defined
                                // past the end of the slice.
                                _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>().wrapping_add(PREFETCH_BYTES));
                                acc[2 * i] = _mm256_fmadd_ps($load(p), q0, acc[2 * i]);
                                acc[2 * i + 1] = _mm256_fmadd_ps($load(p.add(8)), q1, acc[2 * i + 1]);
                            }
                        }
                        d += 16;
                    }
                    for i in 0..4 {
                        let row = &rows[(r + i) * dim..(r + i + 1) * dim];
                        out[r + i] = hsum(_mm256_add_ps(acc[2 * i], acc[2 * i + 1])) + tail(row);
                    }
                    r += 4;
                }
                while r < n {
                    let row = &rows[r * dim..(r + 1) * dim];
                    let mut a0 = _mm256_setzero_ps();
                    let mut a1 = _mm256_setzero_ps();
                    let mut d = 0;
                    while d < body {
                        // SAFETY: d + 16 <= body <= dim and `row` holds `dim` elements.
                        unsafe {
                            a0 = _mm256_fmadd_ps($load(row.as_ptr().add(d)), load_f32(q.add(d)), a0);
                            a1 = _mm256_fmadd_ps($load(row.as_ptr().add(d + 8)), load_f32(q.add(d + 8)), a1);
                        }
                        d += 16;
                    }
                    out[r] = hsum(_mm256_add_ps(a0, a1)) + tail(row);
                    r += 1;
                }
            }
        };
    }

    dots_kernel!(dots_f32, f32, load_f32, "avx2,fma", |x: f32| x);
    dots_kernel!(dots_f16, f16, load_f16, "avx2,fma,f16c", |x: f16| x.to_f32());

    macro_rules! dot_kernel {
        ($name:ident, $elem:ty, $load:ident, $features:literal, $to_f32:expr) => {
            /// One row: 16 values a step into two accumulators, scalar tail: the very operations (and so the very
            /// result, bit for bit) of one row of the four-row kernel, so a graph scores a pair the same way
            /// whichever kernel reaches it.
            ///
            /// # Safety
            /// The CPU must support the enabled features; `query.len() == row.len()` (checked by the wrapper).
            #[target_feature(enable = $features)]
            pub unsafe fn $name(query: &[f32], row: &[$elem]) -> f32 {
                let dim = query.len();
                let body = dim / 16 * 16;
                let (q, r) = (query.as_ptr(), row.as_ptr());
                let mut a0 = _mm256_setzero_ps();
                let mut a1 = _mm256_setzero_ps();
                let mut d = 0;
                while d < body {
                    // SAFETY: d + 16 <= body <= dim = both lengths.
                    unsafe {
                        let q0 = load_f32(q.add(d));
                        let q1 = load_f32(q.add(d + 8));
                        a0 = _mm256_fmadd_ps($load(r.add(d)), q0, a0);
                        a1 = _mm256_fmadd_ps($load(r.add(d + 8)), q1, a1);
                    }
                    d += 16;
                }
                let to_f32 = $to_f32;
                let tail: f32 = (body..dim).map(|i| query[i] * to_f32(row[i])).sum();
                hsum(_mm256_add_ps(a0, a1)) + tail
            }
        };
    }

    dot_kernel!(dot_f32, f32, load_f32, "avx2,fma", |x: f32| x);
    dot_kernel!(dot_f16, f16, load_f16, "avx2,fma,f16c", |x: f16| x.to_f32());

    macro_rules! dot4_kernel {
        ($name:ident, $elem:ty, $load:ident, $features:literal, $to_f32:expr) => {
            /// Four rows anywhere: 16 values a step, two accumulators per row; scalar tails.
            ///
            /// # Safety
            /// The CPU must support the enabled features; every row is `query.len()` long (checked by the
            /// wrapper).
            #[target_feature(enable = $features)]
            pub unsafe fn $name(query: &[f32], rows: [&[$elem]; 4]) -> [f32; 4] {
                let dim = query.len();
                let body = dim / 16 * 16;
                let q = query.as_ptr();
                let p = rows.map(|r| r.as_ptr());
                let mut acc = [_mm256_setzero_ps(); 8];
                let mut d = 0;
                while d < body {
                    // SAFETY: d + 16 <= body <= dim, the length of the query and of every row.
                    unsafe {
                        let q0 = load_f32(q.add(d));
                        let q1 = load_f32(q.add(d + 8));
                        for i in 0..4 {
                            acc[2 * i] = _mm256_fmadd_ps($load(p[i].add(d)), q0, acc[2 * i]);
                            acc[2 * i + 1] = _mm256_fmadd_ps($load(p[i].add(d + 8)), q1, acc[2 * i + 1]);
                        }
                    }
                    d += 16;
                }
                let to_f32 = $to_f32;
                let mut out = [0.0f32; 4];
                for i in 0..4 {
                    let tail: f32 = (body..dim).map(|j| query[j] * to_f32(rows[i][j])).sum();
                    out[i] = hsum(_mm256_add_ps(acc[2 * i], acc[2 * i + 1])) + tail;
                }
                out
            }
        };
    }

    dot4_kernel!(dot4_f32, f32, load_f32, "avx2,fma", |x: f32| x);
    dot4_kernel!(dot4_f16, f16, load_f16, "avx2,fma,f16c", |x: f16| x.to_f32());

    /// Horizontal sum of eight 32-bit lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn hsum_i32(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b01_00_11_10>(s));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32::<0b00_00_00_01>(s));
        _mm_cvtsi128_si32(s)
    }

    /// int8 scan: four rows at a time, 32 codes per step; per row and step `sign(row, q)` then
    /// `maddubs(|q|, .)` (pairs into i16, at most 2 x 127 x 127) and `madd(., 1)` (into i32); scalar tails.
    ///
    /// # Safety
    /// The CPU must support AVX2; `query.len() == dim` and `rows.len() >= out.len() * dim` (checked by the
    /// public wrapper).
    #[target_feature(enable = "avx2")]
    pub unsafe fn dots_i8(query: &[i8], rows: &[i8], dim: usize, out: &mut [i32]) {
        let n = out.len();
        let body = dim / 32 * 32;
        let q = query.as_ptr();
        let ones = _mm256_set1_epi16(1);
        let tail = |row: &[i8]| -> i32 { super::portable_dot_i8(&query[body..], &row[body..dim]) };
        let mut r = 0;
        while r + 4 <= n {
            let base = rows[r * dim..].as_ptr();
            let mut acc = [_mm256_setzero_si256(); 4];
            let mut d = 0;
            while d < body {
                // SAFETY: d + 32 <= body <= dim, so q[d..d+32] is inside `query`, and row r+i's codes d..d+32 lie
                // inside `rows` because (r + 4) * dim <= n * dim <= rows.len().
                unsafe {
                    let qv = _mm256_loadu_si256(q.add(d).cast::<__m256i>());
                    let qa = _mm256_abs_epi8(qv);
                    for (i, a) in acc.iter_mut().enumerate() {
                        let p = base.add(i * dim + d);
                        // A hint only (never faults); wrapping_add keeps the address arithmetic defined.
                        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(PREFETCH_BYTES));
                        let g = _mm256_sign_epi8(_mm256_loadu_si256(p.cast::<__m256i>()), qv);
                        *a = _mm256_add_epi32(*a, _mm256_madd_epi16(_mm256_maddubs_epi16(qa, g), ones));
                    }
                }
                d += 32;
            }
            for (i, a) in acc.iter().enumerate() {
                out[r + i] = hsum_i32(*a) + tail(&rows[(r + i) * dim..(r + i + 1) * dim]);
            }
            r += 4;
        }
        while r < n {
            let row = &rows[r * dim..(r + 1) * dim];
            let mut a = _mm256_setzero_si256();
            let mut d = 0;
            while d < body {
                // SAFETY: d + 32 <= body <= dim and both `row` and `query` hold `dim` codes.
                unsafe {
                    let qv = _mm256_loadu_si256(q.add(d).cast::<__m256i>());
                    let g = _mm256_sign_epi8(_mm256_loadu_si256(row.as_ptr().add(d).cast::<__m256i>()), qv);
                    a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(qv), g), ones));
                }
                d += 32;
            }
            out[r] = hsum_i32(a) + tail(row);
            r += 1;
        }
    }

    /// Outer-product kernel: 6 gallery rows x 16 queries in 12 accumulators, one gallery value broadcast per
    /// row and dimension, so neither operand needs transposing at query time (the queries are packed once).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `packed.len() >= dim * 16`, `rows.len() >= 6 * dim`,
    /// `floors.len() >= 16` and `out.len() >= 96`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn block_scores(packed: &[f32], rows: &[f32], dim: usize, floors: &[f32], out: &mut [f32]) -> bool {
        let mut acc = [_mm256_setzero_ps(); 12];
        let (q, g) = (packed.as_ptr(), rows.as_ptr());
        for d in 0..dim {
            // SAFETY: d < dim, so q[d*16..d*16+16] lies in `packed` (>= dim * 16 values) and g[r*dim + d] for
            // r < 6 lies in `rows` (>= 6 * dim values).
            unsafe {
                let q0 = load_f32(q.add(d * 16));
                let q1 = load_f32(q.add(d * 16 + 8));
                for r in 0..6 {
                    let b = _mm256_set1_ps(*g.add(r * dim + d));
                    acc[2 * r] = _mm256_fmadd_ps(b, q0, acc[2 * r]);
                    acc[2 * r + 1] = _mm256_fmadd_ps(b, q1, acc[2 * r + 1]);
                }
            }
        }
        // SAFETY: `floors` holds at least 16 values.
        let (f0, f1) = unsafe { (load_f32(floors.as_ptr()), load_f32(floors.as_ptr().add(8))) };
        let mut mask = 0;
        for r in 0..6 {
            // SAFETY: `out` holds at least 6 * 16 values; r * 16 + 16 <= 96.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr().add(r * 16), acc[2 * r]);
                _mm256_storeu_ps(out.as_mut_ptr().add(r * 16 + 8), acc[2 * r + 1]);
            }
            mask |= _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(acc[2 * r], f0))
                | _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(acc[2 * r + 1], f1));
        }
        mask != 0
    }

    /// AVX-512 outer-product kernel: 12 gallery rows x 32 queries in 24 zmm accumulators.
    ///
    /// # Safety
    /// The CPU must support AVX-512F; `packed.len() >= dim * 32`, `rows.len() >= 12 * dim`,
    /// `floors.len() >= 32` and `out.len() >= 384`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub unsafe fn block_scores_512(packed: &[f32], rows: &[f32], dim: usize, floors: &[f32], out: &mut [f32]) -> bool {
        let mut acc = [_mm512_setzero_ps(); 24];
        let (q, g) = (packed.as_ptr(), rows.as_ptr());
        for d in 0..dim {
            // SAFETY: d < dim, so q[d*32..d*32+32] lies in `packed` (>= dim * 32 values) and g[r*dim + d] for
            // r < 12 lies in `rows` (>= 12 * dim values).
            unsafe {
                let q0 = _mm512_loadu_ps(q.add(d * 32));
                let q1 = _mm512_loadu_ps(q.add(d * 32 + 16));
                for r in 0..12 {
                    let b = _mm512_set1_ps(*g.add(r * dim + d));
                    acc[2 * r] = _mm512_fmadd_ps(b, q0, acc[2 * r]);
                    acc[2 * r + 1] = _mm512_fmadd_ps(b, q1, acc[2 * r + 1]);
                }
            }
        }
        // SAFETY: `floors` holds at least 32 values.
        let (f0, f1) = unsafe { (_mm512_loadu_ps(floors.as_ptr()), _mm512_loadu_ps(floors.as_ptr().add(16))) };
        let mut mask = 0u32;
        for r in 0..12 {
            // SAFETY: `out` holds at least 12 * 32 values; r * 32 + 32 <= 384.
            unsafe {
                _mm512_storeu_ps(out.as_mut_ptr().add(r * 32), acc[2 * r]);
                _mm512_storeu_ps(out.as_mut_ptr().add(r * 32 + 16), acc[2 * r + 1]);
            }
            mask |= u32::from(_mm512_cmp_ps_mask::<_CMP_GE_OQ>(acc[2 * r], f0))
                | u32::from(_mm512_cmp_ps_mask::<_CMP_GE_OQ>(acc[2 * r + 1], f1));
        }
        mask != 0
    }

    /// Widens `src` into `dst`.
    ///
    /// # Safety
    /// The CPU must support F16C and AVX2; `src.len() == dst.len()`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn widen(src: &[f16], dst: &mut [f32]) {
        let body = src.len() / 8 * 8;
        let mut i = 0;
        while i < body {
            // SAFETY: i + 8 <= body <= src.len() == dst.len().
            unsafe { _mm256_storeu_ps(dst.as_mut_ptr().add(i), load_f16(src.as_ptr().add(i))) };
            i += 8;
        }
        for j in body..src.len() {
            dst[j] = src[j].to_f32();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn single_row_dots_match_the_reference() {
        for dim in [1, 7, 31, 32, 33, 64, 256, 300] {
            let (q, r) = (data(dim, 8), data(dim, 9));
            let h: Vec<f16> = r.iter().map(|&x| f16::from_f32(x)).collect();
            let hw: Vec<f32> = h.iter().map(|x| x.to_f32()).collect();
            let want32: f64 = q.iter().zip(&r).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            let want16: f64 = q.iter().zip(&hw).map(|(a, b)| f64::from(*a) * f64::from(*b)).sum();
            for simd in Simd::all_supported() {
                assert!((f64::from(dot_f32(simd, &q, &r)) - want32).abs() < 1e-5, "{simd:?} {dim}");
                assert!((f64::from(dot_f16(simd, &q, &h)) - want16).abs() < 1e-5, "{simd:?} {dim}");
                let r2: Vec<f32> = r.iter().map(|x| -x).collect();
                let h2: Vec<f16> = r2.iter().map(|&x| f16::from_f32(x)).collect();
                let four = dot4_f32(simd, &q, [&r, &r2, &r, &q]);
                let qq: f64 = q.iter().map(|a| f64::from(*a) * f64::from(*a)).sum();
                for (got, want) in four.iter().zip([want32, -want32, want32, qq]) {
                    assert!((f64::from(*got) - want).abs() < 1e-5, "{simd:?} {dim}: {four:?}");
                }
                let four = dot4_f16(simd, &q, [&h, &h2, &h2, &h]);
                for (got, want) in four.iter().zip([want16, -want16, -want16, want16]) {
                    assert!((f64::from(*got) - want).abs() < 1e-5, "{simd:?} {dim}: {four:?}");
                }
                // The graph relies on one value per pair whichever kernel computes it.
                assert_eq!(dot4_f32(simd, &q, [&r, &r2, &q, &r])[0].to_bits(), dot_f32(simd, &q, &r).to_bits());
                assert_eq!(dot4_f32(simd, &q, [&r2, &r, &q, &r])[1].to_bits(), dot_f32(simd, &q, &r).to_bits());
                assert_eq!(four[3].to_bits(), dot_f16(simd, &q, &h).to_bits(), "{simd:?} {dim}");
                assert_eq!(four[1].to_bits(), dot_f16(simd, &q, &h2).to_bits(), "{simd:?} {dim}");
            }
        }
    }

    #[test]
    fn int8_kernels_agree_exactly_and_quantisation_round_trips() {
        for dim in [1, 7, 31, 32, 33, 64, 256, 300] {
            let rows = 15;
            let (q, g) = (data(dim, 4), data(rows * dim, 5));
            let mut qc = vec![0i8; dim];
            let qs = quantize_i8(&q, &mut qc);
            let max = q.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            assert!((qs - max / 127.0).abs() < 1e-9, "dim {dim}: scale {qs}");
            assert!(qc.iter().any(|&c| c.abs() == 127), "the largest value maps to +-127");
            assert!(q.iter().zip(&qc).all(|(x, &c)| (x - f32::from(c) * qs).abs() <= qs * 0.5 + 1e-7));
            let mut gc = vec![0i8; rows * dim];
            for (x, c) in g.chunks_exact(dim).zip(gc.chunks_exact_mut(dim)) {
                quantize_i8(x, c);
            }
            // Extremes: rows of +-127 against the query's codes (the kernel's worst case for the 16-bit pairs).
            gc[..dim].fill(127);
            gc[dim..2 * dim].iter_mut().zip(&qc).for_each(|(c, &x)| *c = if x < 0 { -127 } else { 127 });
            let want: Vec<i32> = gc.chunks_exact(dim).map(|r| portable_dot_i8(&qc, r)).collect();
            assert_eq!(want[1], qc.iter().map(|&x| i32::from(x).abs() * 127).sum::<i32>());
            for simd in Simd::all_supported() {
                let mut out = vec![0i32; rows];
                dots_i8(simd, &qc, &gc, dim, &mut out);
                assert_eq!(out, want, "{simd:?} dim {dim}");
            }
        }
        let mut c = vec![5i8; 3];
        assert_eq!(quantize_i8(&[0.0, 0.0, 0.0], &mut c), 0.0);
        assert_eq!(c, vec![0, 0, 0]);
        assert_eq!(quantize_i8(&[f32::NAN, 1.0, 0.5], &mut c), 0.0);
    }

    #[test]
    fn simd_and_portable_agree_on_ragged_shapes() {
        for dim in [1, 7, 16, 37, 256] {
            let rows = 15; // 3 blocks of four plus 3 single rows; one AVX-512 row block
            let q = data(dim, 1);
            let g = data(rows * dim, 2);
            let g16: Vec<f16> = g.iter().map(|&x| f16::from_f32(x)).collect();
            let exact: Vec<f32> = (0..rows).map(|r| portable_dot(&q, &g[r * dim..(r + 1) * dim])).collect();
            let exact16: Vec<f32> =
                (0..rows).map(|r| (0..dim).map(|d| q[d] * g16[r * dim + d].to_f32()).sum::<f32>()).collect();
            for simd in Simd::all_supported() {
                let mut out = vec![0.0; rows];
                dots_f32(simd, &q, &g, dim, &mut out);
                for (a, b) in out.iter().zip(&exact) {
                    assert!((a - b).abs() < 1e-5, "{simd:?} f32 dim {dim}: {a} vs {b}");
                }
                let mut scratch = Vec::new();
                dots_f16(simd, &q, &g16, dim, &mut out, &mut scratch);
                for (a, b) in out.iter().zip(&exact16) {
                    assert!((a - b).abs() < 1e-5, "{simd:?} f16 dim {dim}: {a} vs {b}");
                }
                let (qb, rb) = simd.block_shape();
                if rows >= rb {
                    let nq = qb + 3; // two query blocks, the second ragged
                    let qs = data(nq * dim, 3);
                    let packed = pack_queries(&qs, nq, dim, qb);
                    let mut floors = vec![f32::NEG_INFINITY; qb];
                    let mut block = vec![0.0f32; rb * qb];
                    for b in 0..2 {
                        assert!(block_scores(simd, &packed[b * dim * qb..], &g, dim, &floors, &mut block));
                        for r in 0..rb {
                            for j in 0..qb {
                                let qi = b * qb + j;
                                let want = if qi < nq {
                                    portable_dot(&qs[qi * dim..(qi + 1) * dim], &g[r * dim..(r + 1) * dim])
                                } else {
                                    0.0
                                };
                                assert!((block[r * qb + j] - want).abs() < 1e-5, "{simd:?} block dim {dim}");
                            }
                        }
                    }
                    floors = vec![f32::INFINITY; qb];
                    floors[5] = block[3 * qb + 5];
                    assert!(block_scores(simd, &packed[dim * qb..], &g, dim, &floors, &mut block));
                    floors[5] = f32::INFINITY;
                    assert!(!block_scores(simd, &packed[dim * qb..], &g, dim, &floors, &mut block));
                }
                let mut wide = vec![0.0; g16.len()];
                widen_f16(simd, &g16, &mut wide);
                assert!(wide.iter().zip(&g16).all(|(w, h)| *w == h.to_f32()));
            }
        }
    }
}
