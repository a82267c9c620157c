//! Test harness shared by the integration tests: ULP measurement against exact references,
//! input sweeps with deliberate edge cases, the per-kernel ULP budget table, and a macro that
//! runs the position-independence checks on every kernel.
//!
//! References: f32 kernels are measured against `f64` evaluations of a numerically stable
//! formula (through `libm`); f64 kernels against MPFR (`rug`) at [`MPFR_PREC`] bits.

pub mod budgets;
pub mod catalog;

/// The MPFR bindings the references use, for callers that build their own (the fuzz targets).
pub use rug;

use rug::Float as Mp;
use rug::float::Round;

/// Working precision of the MPFR references, in bits.
pub const MPFR_PREC: u32 = 160;

/// An MPFR value at [`MPFR_PREC`] bits holding `x` exactly.
pub fn mp(x: f64) -> Mp {
    Mp::with_val(MPFR_PREC, x)
}

/// Distance in ULPs of the f32 result `got` from the exact value `want` (an f64 carrying the
/// reference, whose own error is ~2^-29 of an f32 ULP, negligible).
///
/// Special values first: both NaN → 0; one NaN → `inf`; infinities must match exactly
/// (`inf` otherwise); a finite `got` against an infinite `want` (or the reverse) is `inf`
/// unless the other side is the nearest finite neighbour, which counts as the distance to
/// `f32::MAX` plus one ULP. Signs of zero are not compared (callers test them explicitly).
/// Below the normal range the ULP is the subnormal spacing 2^-149: subnormal results are
/// measured, not forgiven.
pub fn ulp_f32(got: f32, want: f64) -> f64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if got.is_infinite() || want.is_infinite() || (want as f32).is_infinite() {
        // Round-to-nearest sends exact values at or beyond f32::MAX + ulp/2 to inf: that is
        // the right answer, not an error. Otherwise measure against the inf position 2^128.
        if got == want as f32 {
            return 0.0;
        }
        let big = libm::ldexp(1.0, 128);
        let g = if got.is_infinite() {
            big.copysign(got as f64)
        } else {
            got as f64
        };
        let w = if want.is_infinite() {
            big.copysign(want)
        } else {
            want
        };
        return ((g - w).abs() / ulp_of_f32(f32::MAX as f64)).max(1.0);
    }
    ((got as f64) - want).abs() / ulp_of_f32(want)
}

/// The f32 ULP at the magnitude of `v` (binade spacing; 2^-149 in the subnormal range).
pub fn ulp_of_f32(v: f64) -> f64 {
    let a = v.abs();
    if a < f32::MIN_POSITIVE as f64 {
        return libm::ldexp(1.0, -149);
    }
    let e = libm::ilogb(a);
    libm::ldexp(1.0, e - 23)
}

/// Distance in ULPs of the f64 result `got` from the exact value `want` (MPFR). Special values
/// as in [`ulp_f32`]; subnormal spacing 2^-1074.
pub fn ulp_f64(got: f64, want: &Mp) -> f64 {
    if got.is_nan() || want.is_nan() {
        return if got.is_nan() && want.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    if got.is_infinite() || want.is_infinite() {
        if want.is_infinite() && got.is_infinite() && (got > 0.0) == want.is_sign_positive() {
            return 0.0;
        }
        let w = want.to_f64_round(Round::Nearest);
        if want.is_infinite() || w.is_infinite() {
            // Exact value beyond f64::MAX (rounds to inf) against a finite result.
            return if got.is_infinite() && (got > 0.0) == want.is_sign_positive() {
                0.0
            } else if got.abs() == f64::MAX {
                1.0
            } else {
                f64::INFINITY
            };
        }
        return f64::INFINITY;
    }
    let w = want.to_f64_round(Round::Nearest);
    if w.is_infinite() {
        return if got.abs() == f64::MAX {
            1.0
        } else {
            f64::INFINITY
        };
    }
    let a = w.abs();
    let ulp = if a < f64::MIN_POSITIVE {
        libm::ldexp(1.0, -1074)
    } else {
        libm::ldexp(1.0, libm::ilogb(a) - 52)
    };
    // Divide in MPFR (exact: `ulp` is a power of 2) before converting: converting the
    // difference first would round a subnormal result's error to a multiple of 2^-1074.
    let diff = (Mp::with_val(MPFR_PREC, got) - want) / ulp;
    diff.to_f64().abs()
}

/// A deterministic xorshift generator (tests must be reproducible and need no dependency).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * libm::ldexp(1.0, -53)
    }
    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Edge cases every unary kernel sees: ±0, ±1, ±inf, NaN, the smallest and largest
/// subnormals and normals, the extremes, and the neighbours of each.
pub fn edge_cases_f32() -> Vec<f32> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        f32::from_bits(1),
        -f32::from_bits(1),
        f32::from_bits(0x007f_ffff),
        f32::MAX,
        f32::MIN,
        f32::EPSILON,
    ];
    for &c in &[
        0.5f32, 2.0, 3.0, 6.0, 9.0, 10.0, 16.6, 20.0, 40.0, 87.3, 88.72, 89.0, 100.0, 103.9, 104.0,
        1e10, 1e30,
    ] {
        for s in [c, -c] {
            for k in -3i32..=3 {
                v.push(f32::from_bits((s.to_bits() as i32 + k) as u32));
            }
        }
    }
    v
}

/// Like [`edge_cases_f32`] for f64.
pub fn edge_cases_f64() -> Vec<f64> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        -f64::MIN_POSITIVE,
        f64::from_bits(1),
        -f64::from_bits(1),
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
    ];
    for &c in &[
        0.5f64, 2.0, 3.0, 6.0, 9.0, 10.0, 20.0, 37.0, 40.0, 100.0, 700.0, 709.78, 710.0, 745.0,
        746.0, 1e30, 1e300,
    ] {
        for s in [c, -c] {
            for k in -3i64..=3 {
                v.push(f64::from_bits((s.to_bits() as i64 + k) as u64));
            }
        }
    }
    v
}

/// Every `stride`-th f32 bit pattern (both signs, all binades, NaNs included), plus the edge
/// cases. With stride 509 this is 8.4 million inputs.
pub fn sweep_f32(stride: u32) -> Vec<f32> {
    let mut v: Vec<f32> = (0..=u32::MAX / stride)
        .map(|i| f32::from_bits(i.wrapping_mul(stride)))
        .collect();
    v.extend(edge_cases_f32());
    v
}

/// Dense f32 inputs in `[lo, hi]`: every `stride`-th representable value between them.
pub fn range_f32(lo: f32, hi: f32, stride: u32) -> Vec<f32> {
    // Map floats to a monotone integer line, walk it, map back.
    fn key(x: f32) -> i64 {
        let b = x.to_bits() as i32 as i64;
        if b < 0 { -(b & 0x7fff_ffff) } else { b }
    }
    fn unkey(k: i64) -> f32 {
        if k < 0 {
            f32::from_bits(((-k) as u32) | 0x8000_0000)
        } else {
            f32::from_bits(k as u32)
        }
    }
    let (a, b) = (key(lo), key(hi));
    (0..)
        .map(|i| a + i * stride as i64)
        .take_while(|&k| k <= b)
        .map(unkey)
        .collect()
}

/// `n` f64 inputs: log-uniform magnitudes in `[2^emin, 2^emax]` with random signs (so every
/// binade is visited), uniform values in `[-lin, lin]`, and the edge cases.
///
/// `NONLIN_SAMPLE_SCALE` (a factor, default 1) scales `n`: CI's second, native-CPU test run
/// uses 0.25 to stay within its time budget; the default run always uses the full count.
pub fn sample_f64(n: usize, emin: i32, emax: i32, lin: f64, seed: u64) -> Vec<f64> {
    let scale = std::env::var("NONLIN_SAMPLE_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 1.0)
        .unwrap_or(1.0);
    let n = ((n as f64) * scale) as usize;
    let mut r = Rng::new(seed);
    let mut v = Vec::with_capacity(n + 200);
    for i in 0..n {
        let x = if i % 2 == 0 {
            let e = r.uniform(emin as f64, emax as f64);
            libm::exp2(e)
        } else {
            r.uniform(0.0, lin)
        };
        v.push(if r.next_u64() & 1 == 0 { x } else { -x });
    }
    v.extend(edge_cases_f64());
    v
}

/// The worst case of an accuracy run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Worst {
    /// Maximum error in ULPs.
    pub ulp: f64,
    /// Input where it occurs (first argument).
    pub at: f64,
    /// The kernel's output there.
    pub got: f64,
    /// The reference value there.
    pub want: f64,
}

impl Worst {
    /// Records an observation.
    pub fn see(&mut self, ulp: f64, at: f64, got: f64, want: f64) {
        if ulp > self.ulp || (ulp.is_nan() && !self.ulp.is_nan()) {
            *self = Worst { ulp, at, got, want };
        }
    }
}

/// `f` over `xs` on two threads, in order (for references that dominate a test's run time).
pub fn par_map<X: Sync, Y: Send>(xs: &[X], f: impl Fn(&X) -> Y + Sync) -> Vec<Y> {
    let half = xs.len().div_ceil(2);
    std::thread::scope(|s| {
        let parts: Vec<_> = xs
            .chunks(half.max(1))
            .map(|c| s.spawn(|| c.iter().map(&f).collect::<Vec<Y>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|h| h.join().expect("reference thread"))
            .collect()
    })
}

/// The worst case of `measure(i)` (`(ulp, at, got, want)`, or `None` to skip `i`) over
/// `0..n`, on up to four threads: the references, or over millions of inputs the ULP
/// measure itself, cost far more than the kernels. The same result as a sequential scan:
/// ties keep the first index.
pub fn worst_over(
    n: usize,
    measure: impl Fn(usize) -> Option<(f64, f64, f64, f64)> + Sync,
) -> Worst {
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get().min(4));
    let span = n.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let parts: Vec<_> = (0..n)
            .step_by(span)
            .map(|lo| {
                let measure = &measure;
                s.spawn(move || {
                    let mut w = Worst::default();
                    for i in lo..(lo + span).min(n) {
                        if let Some((ulp, at, got, want)) = measure(i) {
                            w.see(ulp, at, got, want);
                        }
                    }
                    w
                })
            })
            .collect();
        let mut w = Worst::default();
        for p in parts {
            let b = p.join().expect("measuring thread");
            w.see(b.ulp, b.at, b.got, b.want);
        }
        w
    })
}

/// Runs an f32 slice kernel over `xs` and measures it against `reference` (f64). Returns the
/// worst case. Skips inputs where `skip(x)` is true (for documented exclusion zones only).
pub fn measure_f32(
    xs: &[f32],
    kernel: impl Fn(&[f32], &mut [f32]),
    reference: impl Fn(f64) -> f64 + Sync,
    skip: impl Fn(f64) -> bool + Sync,
) -> Worst {
    let mut out = vec![0.0f32; xs.len()];
    kernel(xs, &mut out);
    worst_over(xs.len(), |i| {
        let (x64, y) = (xs[i] as f64, out[i]);
        if skip(x64) {
            return None;
        }
        let want = reference(x64);
        Some((ulp_f32(y, want), x64, y as f64, want))
    })
}

/// Runs an f64 slice kernel over `xs` and measures it against an MPFR `reference`.
pub fn measure_f64(
    xs: &[f64],
    kernel: impl Fn(&[f64], &mut [f64]),
    reference: impl Fn(&Mp) -> Mp + Sync,
    skip: impl Fn(f64) -> bool + Sync,
) -> Worst {
    let mut out = vec![0.0f64; xs.len()];
    kernel(xs, &mut out);
    worst_over(xs.len(), |i| {
        let (x, y) = (xs[i], out[i]);
        if skip(x) {
            return None;
        }
        let want = reference(&mp(x));
        Some((ulp_f64(y, &want), x, y, want.to_f64()))
    })
}

/// Asserts that a measured worst case is within `budget` ULPs, with a message naming the
/// kernel, the input, the result and the reference.
pub fn assert_within(name: &str, w: &Worst, budget: f64) {
    assert!(
        w.ulp <= budget,
        "{name}: {:.3} ULP > budget {budget} at x = {:e} (got {:e}, want {:e})",
        w.ulp,
        w.at,
        w.got,
        w.want
    );
    eprintln!(
        "{name}: max {:.3} ULP (budget {budget}) at x = {:e}",
        w.ulp, w.at
    );
}

/// Values the position-independence checks mix into their pools: tails, tiny and huge
/// magnitudes, signed zeros, infinities and NaN (each taken by some kernel's general form),
/// and the zero crossing of `silu'`.
const SPECIALS_F32: [f32; 12] = [
    -200.0,
    -90.0,
    -1.278_464_5,
    -1e-30,
    1e-40,
    -0.0,
    0.0,
    95.0,
    3e38,
    f32::INFINITY,
    f32::NEG_INFINITY,
    f32::NAN,
];

/// [`SPECIALS_F32`] for f64.
const SPECIALS_F64: [f64; 12] = [
    -800.0,
    -720.0,
    -1.278_464_542_761_073_7,
    -1e-300,
    1e-310,
    -0.0,
    0.0,
    750.0,
    1e308,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

/// Checks position independence of an f32 slice kernel: for every length `0..=2*LANES+1`
/// and every offset `0..LANES` into a buffer, each element equals the one-element call on
/// the same value, bit for bit.
pub fn check_position_independence_f32(name: &str, kernel: impl Fn(&[f32], &mut [f32])) {
    let lanes = <f32 as nonlin::Float>::LANES;
    let mut r = Rng::new(7);
    // Ordinary values with specials and tails mixed in, so that vectors holding lanes of
    // both a kernel's short path and its general form are exercised.
    let pool: Vec<f32> = (0..4 * lanes + 8)
        .map(|i| match i % 5 {
            3 => SPECIALS_F32[(i / 5) % SPECIALS_F32.len()],
            _ => r.uniform(-12.0, 12.0) as f32,
        })
        .collect();
    for len in 0..=2 * lanes + 1 {
        for off in 0..lanes {
            let x = &pool[off..off + len];
            let mut out = vec![0.0f32; len];
            kernel(x, &mut out);
            for (i, (&xi, &yi)) in x.iter().zip(&out).enumerate() {
                let mut one = [0.0f32];
                kernel(&[xi], &mut one);
                assert_eq!(
                    yi.to_bits(),
                    one[0].to_bits(),
                    "{name}: len {len} offset {off} index {i}"
                );
            }
        }
    }
}

/// [`check_position_independence_f32`] for f64.
pub fn check_position_independence_f64(name: &str, kernel: impl Fn(&[f64], &mut [f64])) {
    let lanes = <f64 as nonlin::Float>::LANES;
    let mut r = Rng::new(11);
    let pool: Vec<f64> = (0..4 * lanes + 8)
        .map(|i| match i % 5 {
            3 => SPECIALS_F64[(i / 5) % SPECIALS_F64.len()],
            _ => r.uniform(-12.0, 12.0),
        })
        .collect();
    for len in 0..=2 * lanes + 1 {
        for off in 0..lanes {
            let x = &pool[off..off + len];
            let mut out = vec![0.0f64; len];
            kernel(x, &mut out);
            for (i, (&xi, &yi)) in x.iter().zip(&out).enumerate() {
                let mut one = [0.0f64];
                kernel(&[xi], &mut one);
                assert_eq!(
                    yi.to_bits(),
                    one[0].to_bits(),
                    "{name}: len {len} offset {off} index {i}"
                );
            }
        }
    }
}

/// Central difference of an f64 function at `x` with a step scaled to `x`.
pub fn central_difference(f: impl Fn(f64) -> f64, x: f64) -> f64 {
    let h = 1e-5 * x.abs().max(1.0);
    (f(x + h) - f(x - h)) / (2.0 * h)
}

/// Applies a lane function to a slice (tail padded with zeros), for testing the vector math
/// directly.
pub fn apply_lane<T: nonlin::Float>(xs: &[T], out: &mut [T], f: impl Fn(T::Lane) -> T::Lane) {
    use nonlin::Lane;
    let n = T::LANES;
    for (xc, oc) in xs.chunks(n).zip(out.chunks_mut(n)) {
        let mut a = <T::Lane as Lane>::Array::default();
        a.as_mut()[..xc.len()].copy_from_slice(xc);
        let r = f(<T::Lane as Lane>::from_array(a)).to_array();
        oc.copy_from_slice(&r.as_ref()[..oc.len()]);
    }
}
