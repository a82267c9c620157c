//! Writes `tests/embedded/data/vectors.bin`, the test vectors of the Cortex-M4F firmware:
//! for each case, the inputs, the outputs of the host's default build of `nonlin` (x86_64
//! without FMA, where `wide` evaluates `mul_add` unfused exactly as on thumbv7em), and the
//! exact values from the references the accuracy tests use (`nonlin_tests::catalog`: the
//! stable f64 formula for f32 kernels, MPFR for f64 kernels; MPFR for the row kernels and
//! losses, written as in `tests/tests/cross_entropy.rs`), with the ULP budget of
//! `nonlin_tests::budgets`.
//!
//! Run from the repository root:
//! `cargo run --manifest-path tests/embedded/gen/Cargo.toml`
//! It refuses to write the file unless every host output is within its budget.
//!
//! Format (little endian): `b"NLV1"`, `u32` section count, then per section:
//! `name: [u8; 24]` (NUL padded), `kind, width, cols, nx, ny, nout: u32`, `budget: f64`,
//! `x: [T; nx]`, `y: [T; ny]`, `host: [T; nout]`, `reference: [R; nout]`, `flags: [u8; nout]`
//! padded to a multiple of 4 (bit 0: outside the budget's domain, bit-identity only).
//! `T` is f32 for width 4 and f64 for width 8. `R` is the reference: for f32 kernels the
//! f64 value the f32 tests compare with (`f64`); for f64 kernels the exact value rounded to
//! f64, `hi`, then the remainder in units of `hi`'s ULP as an `f32` (12 bytes).

use nonlin::loss::{CrossEntropyOptions, Reduction};
use nonlin_tests::{
    MPFR_PREC, Rng, budgets, catalog, edge_cases_f32, range_f32, sample_f64, sweep_f32, ulp_f32,
    ulp_f64,
};
use rug::Float as Mp;

// Kinds: must match `tests/embedded/src/lib.rs`.
const K_SIGMOID: u32 = 1;
const K_TANH: u32 = 2;
const K_GELU: u32 = 3;
const K_SILU: u32 = 4;
const K_GELU_BACKWARD: u32 = 5;
const K_SWIGLU: u32 = 6;
const K_SOFTMAX: u32 = 7;
const K_LOG_SOFTMAX: u32 = 8;
const K_CROSS_ENTROPY: u32 = 9;
const K_BCE_WITH_LOGITS: u32 = 10;

const FLAG_EXCLUDED: u8 = 1;

fn m(v: f64) -> Mp {
    Mp::with_val(MPFR_PREC, v)
}

/// f32 or f64, for writing one generic case.
trait Elem: nonlin::Float + Into<f64> {
    const WIDTH: u32;
    fn to64(self) -> f64 {
        self.into()
    }
    fn from64(v: f64) -> Self;
    fn put(self, out: &mut Vec<u8>);
    fn ulp(self, want: &Mp) -> f64;
}
impl Elem for f32 {
    const WIDTH: u32 = 4;
    fn from64(v: f64) -> Self {
        v as f32
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn ulp(self, want: &Mp) -> f64 {
        ulp_f32(self, want.to_f64())
    }
}
impl Elem for f64 {
    const WIDTH: u32 = 8;
    fn from64(v: f64) -> Self {
        v
    }
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn ulp(self, want: &Mp) -> f64 {
        ulp_f64(self, want)
    }
}

struct Section<T> {
    name: String,
    kind: u32,
    cols: u32,
    budget: f64,
    x: Vec<T>,
    y: Vec<T>,
    host: Vec<T>,
    reference: Vec<Mp>,
    flags: Vec<u8>,
}

struct Writer {
    buf: Vec<u8>,
    sections: u32,
    summary: String,
    failed: bool,
}

impl Writer {
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn add<T: Elem>(&mut self, s: Section<T>) {
        assert_eq!(s.host.len(), s.reference.len());
        assert_eq!(s.host.len(), s.flags.len());
        // The host's own accuracy, as the firmware will measure it (sanity: the host tests
        // hold these kernels to the same budgets).
        let mut worst = 0.0f64;
        let mut worst_at = 0;
        let mut excluded = 0;
        for (i, ((h, r), f)) in s.host.iter().zip(&s.reference).zip(&s.flags).enumerate() {
            if f & FLAG_EXCLUDED != 0 {
                excluded += 1;
                continue;
            }
            let u = h.ulp(r);
            if u > s.budget || u.is_nan() {
                eprintln!(
                    "  {} [{i}]: x {:e} got {:e} want {:e}: {u} ULP",
                    s.name,
                    s.x.get(i).map_or(f64::NAN, |v| v.to64()),
                    h.to64(),
                    r.to_f64()
                );
            }
            if u > worst || u.is_nan() {
                worst = u;
                worst_at = i;
            }
        }
        let dtype = if T::WIDTH == 4 { "f32" } else { "f64" };
        let line = format!(
            "{:<24} {dtype} cols={:<4} n={:<5} out={:<5} excluded={:<3} host max ULP {:.3} at [{}] (budget {})\n",
            s.name,
            s.cols,
            s.x.len(),
            s.host.len(),
            excluded,
            worst,
            worst_at,
            s.budget
        );
        print!("{line}");
        self.summary.push_str(&line);
        if worst > s.budget || worst.is_nan() {
            eprintln!("host output of {} {dtype} exceeds its budget", s.name);
            self.failed = true;
        }
        let mut name = [0u8; 24];
        name[..s.name.len()].copy_from_slice(s.name.as_bytes());
        self.buf.extend_from_slice(&name);
        for v in [
            s.kind,
            T::WIDTH,
            s.cols,
            s.x.len() as u32,
            s.y.len() as u32,
            s.host.len() as u32,
        ] {
            self.u32(v);
        }
        self.f64(s.budget);
        for &v in s.x.iter().chain(&s.y).chain(&s.host) {
            v.put(&mut self.buf);
        }
        for r in &s.reference {
            let hi = r.to_f64();
            self.f64(hi);
            if T::WIDTH == 8 {
                // The remainder in units of hi's ULP (|.| <= 1/2): f32 carries it to far
                // below the ULP resolution the firmware needs, whatever hi's magnitude.
                let lo = if hi.is_finite() {
                    let a = hi.abs();
                    let ulp = if a < f64::MIN_POSITIVE {
                        libm::ldexp(1.0, -1074)
                    } else {
                        libm::ldexp(1.0, libm::ilogb(a) - 52)
                    };
                    (Mp::with_val(MPFR_PREC, r - hi) / ulp).to_f64() as f32
                } else {
                    0.0
                };
                self.buf.extend_from_slice(&lo.to_le_bytes());
            }
        }
        self.buf.extend_from_slice(&s.flags);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
        self.sections += 1;
    }
}

fn budget(name: &str, dtype: &str) -> f64 {
    budgets::budget(name, dtype).unwrap_or_else(|| panic!("no budget for {name}"))
}

fn unary(name: &str) -> catalog::Unary {
    catalog::unary_kernels()
        .into_iter()
        .find(|k| k.name == name)
        .unwrap_or_else(|| panic!("{name} not in the catalog"))
}

/// f32 inputs of the unary kernels: the edge cases, a sweep over every binade (NaNs
/// included), the dense core region and the tails out to the overflow thresholds.
fn inputs_f32() -> Vec<f32> {
    let mut v = edge_cases_f32();
    v.extend(sweep_f32(u32::MAX / 512).into_iter().take(512));
    v.extend(range_f32(-120.0, 120.0, 1 << 23));
    v.extend((-120..=120).map(|i| i as f32 / 10.0));
    v
}

fn inputs_f64() -> Vec<f64> {
    let mut v = sample_f64(400, -1080, 10, 760.0, 8);
    v.extend((-120..=120).map(|i| i as f64 / 10.0));
    v
}

/// The f32 reference is the catalog's stable f64 formula (as in the f32 tests); the f64
/// reference is MPFR.
///
/// At ±inf, where a formula such as `x σ(x)` meets `inf · 0`, the reference is the limit,
/// taken as the value at `±f64::MAX` (the tests check these limits as special values).
fn ref_unary<T: Elem>(k: &catalog::Unary, x: T) -> Mp {
    let at = |x: f64| {
        if T::WIDTH == 4 {
            m((k.ref64)(x))
        } else {
            (k.mpfr)(&m(x))
        }
    };
    let r = at(x.to64());
    if r.is_nan() && x.to64().is_infinite() {
        at(f64::MAX.copysign(x.to64()))
    } else {
        r
    }
}

fn unary_section<T: Elem>(name: &str, kind: u32, xs: &[T], f: fn(&[T], &mut [T])) -> Section<T> {
    let k = unary(name);
    let dtype = if T::WIDTH == 4 { "f32" } else { "f64" };
    let mut host = vec![T::ZERO; xs.len()];
    f(xs, &mut host);
    Section {
        name: name.into(),
        kind,
        cols: 0,
        budget: budget(name, dtype),
        x: xs.to_vec(),
        y: vec![],
        host,
        reference: xs.iter().map(|&x| ref_unary(&k, x)).collect(),
        flags: xs
            .iter()
            .map(|&x| {
                if (k.excluded)(x.to64()) {
                    FLAG_EXCLUDED
                } else {
                    0
                }
            })
            .collect(),
    }
}

fn unary_all<T: Elem>(w: &mut Writer, xs: &[T]) {
    w.add(unary_section("sigmoid", K_SIGMOID, xs, |x, o| {
        nonlin::sigmoid(x, o).unwrap()
    }));
    w.add(unary_section("tanh", K_TANH, xs, |x, o| {
        nonlin::tanh(x, o).unwrap()
    }));
    w.add(unary_section("gelu", K_GELU, xs, |x, o| {
        nonlin::gelu(x, o).unwrap()
    }));
    w.add(unary_section("silu", K_SILU, xs, |x, o| {
        nonlin::silu(x, o).unwrap()
    }));

    // gelu_backward with grad_out a power of two >= 1: the product with the derivative is
    // exact, so the derivative's budget (and its documented zero-crossing neighbourhood)
    // applies unchanged.
    let d = unary("gelu_derivative");
    let dtype = if T::WIDTH == 4 { "f32" } else { "f64" };
    let g: Vec<T> = (0..xs.len())
        .map(|i| T::from64([1.0, -2.0, 4.0, -1.0, 2.0, -4.0][i % 6]))
        .collect();
    let mut host = vec![T::ZERO; xs.len()];
    nonlin::gelu_backward(xs, &g, &mut host).unwrap();
    w.add(Section {
        name: "gelu_backward".into(),
        kind: K_GELU_BACKWARD,
        cols: 0,
        budget: budget("gelu_derivative", dtype),
        x: xs.to_vec(),
        y: g.clone(),
        reference: xs
            .iter()
            .zip(&g)
            .map(|(&x, &g)| ref_unary(&d, x) * g.to64())
            .collect(),
        flags: xs
            .iter()
            .map(|&x| {
                if (d.excluded)(x.to64()) {
                    FLAG_EXCLUDED
                } else {
                    0
                }
            })
            .collect(),
        host,
    });

    // swiglu: value * silu(gate), the exact product (MPFR) of the exact silu.
    let s = unary("silu");
    let mut r = Rng::new(81);
    let gate: Vec<T> = xs
        .iter()
        .copied()
        .filter(|x| x.to64().is_finite())
        .collect();
    let value: Vec<T> = (0..gate.len())
        .map(|_| T::from64(r.uniform(-3.0, 3.0)))
        .collect();
    let mut host = vec![T::ZERO; gate.len()];
    nonlin::swiglu(&value, &gate, &mut host).unwrap();
    w.add(Section {
        name: "swiglu".into(),
        kind: K_SWIGLU,
        cols: 0,
        budget: budget("swiglu", dtype),
        reference: value
            .iter()
            .zip(&gate)
            .map(|(&v, &g)| (s.mpfr)(&m(g.to64())) * v.to64())
            .collect(),
        flags: vec![0; gate.len()],
        x: value,
        y: gate,
        host,
    });
}

/// MPFR log-softmax of a finite row, as in `tests/tests/cross_entropy.rs`: the maximum's
/// term is taken out of the sum so that `ln(1 + rest)` carries no cancellation.
fn log_softmax_mp<T: Elem>(row: &[T]) -> Vec<Mp> {
    let row: Vec<f64> = row.iter().map(|&v| v.to64()).collect();
    let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let arg = row.iter().position(|&v| v == mx);
    let mut rest = m(0.0);
    for (j, &v) in row.iter().enumerate() {
        if Some(j) != arg {
            rest += Mp::with_val(MPFR_PREC, m(v) - m(mx)).exp();
        }
    }
    let ls = rest.ln_1p();
    row.iter()
        .map(|&v| Mp::with_val(MPFR_PREC, m(v) - m(mx)) - &ls)
        .collect()
}

/// Row data: `rows` rows of `cols` values uniform in `[-spread, spread]`, plus a row with
/// one dominant logit (the confidently correct case) when `cols >= 2`.
fn rows_x<T: Elem>(r: &mut Rng, rows: usize, cols: usize, spread: f64) -> Vec<T> {
    let mut x: Vec<T> = (0..rows * cols)
        .map(|_| T::from64(r.uniform(-spread, spread)))
        .collect();
    if cols >= 2 {
        x[0] = T::from64(80.0);
        for v in &mut x[1..cols] {
            *v = T::ZERO;
        }
    }
    x
}

const SHAPES: &[(usize, usize, f64)] = &[
    (40, 1, 5.0),
    (40, 2, 30.0),
    (30, 3, 1.0),
    (20, 7, 10.0),
    (16, 8, 100.0),
    (16, 9, 3.0),
    (6, 33, 20.0),
    (2, 100, 50.0),
    (1, 300, 8.0),
];

fn rows_all<T: Elem>(w: &mut Writer) {
    let dtype = if T::WIDTH == 4 { "f32" } else { "f64" };
    let mut r = Rng::new(if T::WIDTH == 4 { 32 } else { 64 });
    for &(rows, cols, spread) in SHAPES {
        let x = rows_x::<T>(&mut r, rows, cols, spread);
        let lsm: Vec<Mp> = x.chunks(cols).flat_map(log_softmax_mp).collect();

        let mut host = vec![T::ZERO; x.len()];
        nonlin::softmax(&x, cols, &mut host).unwrap();
        w.add(Section {
            name: format!("softmax/{cols}"),
            kind: K_SOFTMAX,
            cols: cols as u32,
            budget: budget("softmax", dtype),
            x: x.clone(),
            y: vec![],
            host,
            reference: lsm
                .iter()
                .map(|l| Mp::with_val(MPFR_PREC, l.exp_ref()))
                .collect(),
            flags: vec![0; x.len()],
        });

        let mut host = vec![T::ZERO; x.len()];
        nonlin::log_softmax(&x, cols, &mut host).unwrap();
        w.add(Section {
            name: format!("log_softmax/{cols}"),
            kind: K_LOG_SOFTMAX,
            cols: cols as u32,
            budget: budget("log_softmax", dtype),
            x: x.clone(),
            y: vec![],
            host,
            reference: lsm.clone(),
            flags: vec![0; x.len()],
        });

        // Cross-entropy with class-index targets (stored as floats), default options:
        // per-row losses, then the mean.
        let t: Vec<i64> = (0..rows)
            .map(|_| (r.next_u64() % cols as u64) as i64)
            .collect();
        let opts = CrossEntropyOptions::default();
        let mut host = vec![T::ZERO; rows];
        nonlin::loss::cross_entropy_none(&x, &t, cols, &opts, &mut host).unwrap();
        host.push(nonlin::loss::cross_entropy(&x, &t, cols, &opts, Reduction::Mean).unwrap());
        let mut reference: Vec<Mp> = t
            .iter()
            .enumerate()
            .map(|(i, &ti)| Mp::with_val(MPFR_PREC, -&lsm[i * cols + ti as usize]))
            .collect();
        let mut sum = m(0.0);
        for v in &reference {
            sum += v;
        }
        reference.push(sum / rows as u32);
        w.add(Section {
            name: format!("cross_entropy/{cols}"),
            kind: K_CROSS_ENTROPY,
            cols: cols as u32,
            budget: budget("cross_entropy", dtype),
            x,
            y: t.iter().map(|&v| T::from64(v as f64)).collect(),
            flags: vec![0; rows + 1],
            host,
            reference,
        });
    }
}

/// BCE-with-logits term in MPFR without cancellation: for `x >= 0`,
/// `(1 - t) x + ln(1 + e^-x)`; for `x < 0`, `-t x + ln(1 + e^x)`.
fn bce_logits_mp(x: f64, t: f64) -> Mp {
    let e = Mp::with_val(MPFR_PREC, -x.abs()).exp().ln_1p();
    if x >= 0.0 {
        Mp::with_val(MPFR_PREC, m(1.0) - m(t)) * m(x) + e
    } else {
        Mp::with_val(MPFR_PREC, m(-t) * m(x)) + e
    }
}

fn bce_all<T: Elem>(w: &mut Writer, xs: &[T]) {
    let dtype = if T::WIDTH == 4 { "f32" } else { "f64" };
    let mut r = Rng::new(7);
    let x: Vec<T> = xs
        .iter()
        .copied()
        // Finite, and small enough that the mean's sum cannot overflow.
        .filter(|v| v.to64().abs() <= 1e300)
        .collect();
    let t: Vec<T> = (0..x.len())
        .map(|i| match i % 4 {
            0 => T::ZERO,
            1 => T::ONE,
            _ => T::from64(r.unit()),
        })
        .collect();
    let mut host = vec![T::ZERO; x.len()];
    nonlin::loss::bce_with_logits_none(&x, &t, None, None, &mut host).unwrap();
    host.push(nonlin::loss::bce_with_logits(&x, &t, None, None, Reduction::Mean).unwrap());
    let mut reference: Vec<Mp> = x
        .iter()
        .zip(&t)
        .map(|(&x, &t)| bce_logits_mp(x.to64(), t.to64()))
        .collect();
    let mut sum = m(0.0);
    for v in &reference {
        sum += v;
    }
    reference.push(sum / x.len() as u32);
    w.add(Section {
        name: "bce_with_logits".into(),
        kind: K_BCE_WITH_LOGITS,
        cols: 0,
        budget: budget("bce_with_logits", dtype),
        flags: vec![0; x.len() + 1],
        x,
        y: t,
        host,
        reference,
    });
}

fn main() {
    // The firmware's vectors do not depend on how the test suite is scaled.
    // SAFETY: single-threaded, before anything reads the environment.
    unsafe { std::env::remove_var("NONLIN_SAMPLE_SCALE") };
    // `wide`'s mul_add is unfused only there (and on thumbv7em): the firmware compares bits.
    const {
        assert!(
            cfg!(target_arch = "x86_64") && !cfg!(target_feature = "fma"),
            "generate the vectors with the default (non-FMA) x86_64 build"
        )
    };
    // nonlin-tests turns on nonlin's `std`, whose run-time dispatch would pick the AVX2+FMA
    // backend on this machine: the firmware compares with the portable (`wide`) one.
    nonlin::backend::set_backend(nonlin::backend::Backend::Portable)
        .expect("the portable backend is always supported");
    let mut w = Writer {
        buf: vec![],
        sections: 0,
        summary: String::new(),
        failed: false,
    };
    let x32 = inputs_f32();
    let x64 = inputs_f64();
    unary_all::<f32>(&mut w, &x32);
    unary_all::<f64>(&mut w, &x64);
    rows_all::<f32>(&mut w);
    rows_all::<f64>(&mut w);
    bce_all::<f32>(&mut w, &x32);
    bce_all::<f64>(&mut w, &x64);
    if w.failed {
        std::process::exit(1);
    }
    let mut file = b"NLV1".to_vec();
    file.extend_from_slice(&w.sections.to_le_bytes());
    file.extend_from_slice(&w.buf);
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../data");
    std::fs::write(format!("{dir}/vectors.bin"), &file).unwrap();
    let head = "# Generated by `cargo run --manifest-path tests/embedded/gen/Cargo.toml`: the\n\
                # sections of vectors.bin and the host's (x86_64 default build) max ULP error.\n";
    std::fs::write(format!("{dir}/vectors.txt"), format!("{head}{}", w.summary)).unwrap();
    println!(
        "wrote {} sections, {} bytes, to tests/embedded/data/vectors.bin",
        w.sections,
        file.len()
    );
}
