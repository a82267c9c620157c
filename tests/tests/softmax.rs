//! Row-wise softmax family: accuracy against MPFR (f32 and f64) and against the committed
//! mpmath vectors (scripts/gen_softmax_vectors.py), the dominant-class and cancellation
//! cases of the issue, special rows (±inf, NaN, fully masked), temperature, backward passes
//! (exact formula and central differences), position independence, errors.

use nonlin::Float;
use nonlin::softmax::*;
use nonlin_tests::*;
use rug::Float as Mp;

/// ULP budgets `(f32, f64)` of the row kernels (proposed lines for tests/src/budgets.rs).
const B_SOFTMAX: (f64, f64) = (4.0, 4.0);
const B_LOG_SOFTMAX: (f64, f64) = (4.0, 4.0);
const B_LOGSUMEXP: (f64, f64) = (2.0, 4.0);
const B_SOFTMAX_BACKWARD: (f64, f64) = (4.0, 4.0);
const B_LOG_SOFTMAX_BACKWARD: (f64, f64) = (4.0, 4.0);

trait Tf: Float + Into<f64> {
    fn ulp(got: Self, want: &Mp) -> f64;
    fn pick(b: (f64, f64)) -> f64;
    fn round(v: f64) -> Self {
        Self::from_f64(v)
    }
}
impl Tf for f32 {
    fn ulp(got: f32, want: &Mp) -> f64 {
        ulp_f32(got, want.to_f64())
    }
    fn pick(b: (f64, f64)) -> f64 {
        b.0
    }
}
impl Tf for f64 {
    fn ulp(got: f64, want: &Mp) -> f64 {
        ulp_f64(got, want)
    }
    fn pick(b: (f64, f64)) -> f64 {
        b.1
    }
}

/// Exact (MPFR) softmax, log_softmax and logsumexp of `row / t`.
fn ref_row(row: &[f64], t: f64) -> (Vec<Mp>, Vec<Mp>, Mp) {
    let tt = mp(t);
    let z: Vec<Mp> = row.iter().map(|&v| mp(v) / &tt).collect();
    let m = z
        .iter()
        .filter(|v| !v.is_nan())
        .fold(
            mp(f64::NEG_INFINITY),
            |a, b| if *b > a { b.clone() } else { a },
        );
    let e: Vec<Mp> = z
        .iter()
        .map(|v| Mp::with_val(MPFR_PREC, v - &m).exp())
        .collect();
    // ln S = log1p(S_rest), S_rest without the first arg-max: ln S can be far below 2^-160
    // of M, so M + ln S, or z - (M + ln S), would lose it even in MPFR.
    let arg = z.iter().position(|v| *v == m);
    let mut rest = mp(0.0);
    for (j, v) in e.iter().enumerate() {
        if Some(j) != arg {
            rest += v;
        }
    }
    let s = Mp::with_val(MPFR_PREC, &rest + 1u32);
    let ls = rest.ln_1p();
    let lse = Mp::with_val(MPFR_PREC, &m + &ls);
    let sm = e.iter().map(|v| Mp::with_val(MPFR_PREC, v / &s)).collect();
    let lsm = z
        .iter()
        .map(|v| Mp::with_val(MPFR_PREC, v - &m) - &ls)
        .collect();
    (sm, lsm, lse)
}

/// The documented f64 logsumexp bound where `M/T` and `ln S` cancel:
/// `|error| <= 1 ULP(result) + 2^-51 ln S`.
fn lse_cancel_ok(got: f64, want: &Mp, ln_s: f64) -> bool {
    let w = want.to_f64();
    let ulp = libm::ldexp(1.0, libm::ilogb(w.abs().max(f64::MIN_POSITIVE)) - 52);
    (got - w).abs() <= ulp + libm::ldexp(ln_s.abs(), -51)
}

#[derive(Default, Clone, Copy)]
struct W3 {
    sm: Worst,
    lsm: Worst,
    lse: Worst,
}

/// Runs softmax / log_softmax / logsumexp (through the temperature entry points when
/// `t != 1`) on `x` (rows of `cols`, values exact in `T`) and measures them against MPFR.
fn measure<T: Tf>(x: &[T], cols: usize, t: f64) -> W3 {
    let tt = T::round(t);
    let rows = x.len() / cols;
    let mut sm = vec![T::ZERO; x.len()];
    let mut lsm = vec![T::ZERO; x.len()];
    let mut lse = vec![T::ZERO; rows];
    if t == 1.0 {
        softmax(x, cols, &mut sm).unwrap();
        log_softmax(x, cols, &mut lsm).unwrap();
        logsumexp(x, cols, &mut lse).unwrap();
    } else {
        softmax_temperature(x, cols, tt, &mut sm).unwrap();
        log_softmax_temperature(x, cols, tt, &mut lsm).unwrap();
        logsumexp_temperature(x, cols, tt, &mut lse).unwrap();
    }
    let mut w = W3::default();
    for r in 0..rows {
        let row: Vec<f64> = x[r * cols..(r + 1) * cols]
            .iter()
            .map(|&v| v.into())
            .collect();
        let (rs, rl, rlse) = ref_row(&row, tt.into());
        for j in 0..cols {
            let i = r * cols + j;
            w.sm.see(T::ulp(sm[i], &rs[j]), row[j], sm[i].into(), rs[j].to_f64());
            w.lsm.see(
                T::ulp(lsm[i], &rl[j]),
                row[j],
                lsm[i].into(),
                rl[j].to_f64(),
            );
        }
        // logsumexp: relative accuracy (f32 always: computed in f64; f64 where M/T and
        // ln S do not cancel); the documented absolute bound where they do (f64).
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / t;
        let ls = rlse.to_f64() - m;
        let got: f64 = lse[r].into();
        if T::MANTISSA_DIGITS == 24 || rlse.to_f64().abs() >= ls.abs() || !ls.is_finite() {
            w.lse.see(T::ulp(lse[r], &rlse), row[0], got, rlse.to_f64());
        } else {
            assert!(
                lse_cancel_ok(got, &rlse, ls),
                "logsumexp {}: cancellation bound exceeded: got {got:e} want {:e}",
                T::NAME,
                rlse.to_f64()
            );
        }
    }
    w
}

fn merge(a: &mut W3, b: W3) {
    for (x, y) in [(&mut a.sm, b.sm), (&mut a.lsm, b.lsm), (&mut a.lse, b.lse)] {
        if y.ulp > x.ulp {
            *x = y;
        }
    }
}

/// Random rows: uniform with the given spread around a random centre, optionally with a
/// dominant entry and some `-inf` (masked) entries.
fn gen_rows<T: Tf>(rng: &mut Rng, rows: usize, cols: usize, spread: f64, kind: u32) -> Vec<T> {
    let mut v = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        let c = rng.uniform(-100.0, 100.0);
        let start = v.len();
        for _ in 0..cols {
            v.push(T::round(c + spread * (rng.unit() - 0.5)));
        }
        let row = &mut v[start..];
        match kind {
            1 => {
                // One dominant class, 10 to 100 above the rest.
                let k = (rng.next_u64() % cols as u64) as usize;
                row[k] = T::round(c + spread / 2.0 + rng.uniform(10.0, 100.0));
            }
            2 => {
                // About 10% masked entries (never all of them).
                for (j, e) in row.iter_mut().enumerate() {
                    if j > 0 && rng.unit() < 0.1 {
                        *e = T::NEG_INFINITY;
                    }
                }
            }
            _ => {}
        }
    }
    v
}

fn accuracy_suite<T: Tf>() -> usize {
    let mut rng = Rng::new(2024);
    let mut total = W3::default();
    let mut n = 0usize;
    // (cols, rows): at least 1e6 elements in all, every column count of the issue.
    let shapes = [
        (1usize, 4000usize),
        (3, 3000),
        (8, 2000),
        (9, 2000),
        (31, 500),
        (1000, 200),
        (50_000, 4),
    ];
    for &(cols, rows) in &shapes {
        for (spread, kind) in [(2.0, 0), (40.0, 0), (1000.0, 0), (20.0, 1), (30.0, 2)] {
            let x = gen_rows::<T>(&mut rng, rows, cols, spread, kind);
            n += x.len();
            let w = measure(&x, cols, 1.0);
            merge(&mut total, w);
        }
    }
    let name = T::NAME;
    assert_within(&format!("softmax {name}"), &total.sm, T::pick(B_SOFTMAX));
    assert_within(
        &format!("log_softmax {name}"),
        &total.lsm,
        T::pick(B_LOG_SOFTMAX),
    );
    assert_within(
        &format!("logsumexp {name}"),
        &total.lse,
        T::pick(B_LOGSUMEXP),
    );
    n
}

#[test]
fn accuracy_f32() {
    let n = accuracy_suite::<f32>();
    assert!(n >= 1_000_000, "{n}");
}

#[test]
fn accuracy_f64() {
    let n = accuracy_suite::<f64>();
    assert!(n >= 1_000_000, "{n}");
}

fn temperature_suite<T: Tf>() {
    let mut rng = Rng::new(77);
    let mut total = W3::default();
    for &t in &[0.01, 0.1, 0.37, 3.0, 1000.0] {
        for &(cols, rows) in &[(3usize, 500usize), (9, 300), (1000, 20)] {
            for (spread, kind) in [(5.0, 0), (200.0, 0), (4.0, 1)] {
                let x = gen_rows::<T>(&mut rng, rows, cols, spread, kind);
                merge(&mut total, measure(&x, cols, t));
            }
        }
    }
    let name = T::NAME;
    assert_within(
        &format!("softmax_temperature {name}"),
        &total.sm,
        T::pick(B_SOFTMAX),
    );
    assert_within(
        &format!("log_softmax_temperature {name}"),
        &total.lsm,
        T::pick(B_LOG_SOFTMAX),
    );
    assert_within(
        &format!("logsumexp_temperature {name}"),
        &total.lse,
        T::pick(B_LOGSUMEXP),
    );
}

#[test]
fn temperature_f32() {
    temperature_suite::<f32>();
}

#[test]
fn temperature_f64() {
    temperature_suite::<f64>();
}

/// The committed mpmath vectors: an independent reference (256-bit mpmath).
#[test]
fn mpmath_vectors() {
    let text = include_str!("../data/softmax/vectors.txt");
    let mut lines = text.lines().filter(|l| !l.is_empty());
    let mut worst: std::collections::BTreeMap<String, Worst> = Default::default();
    let mut cases = 0;
    while let Some(head) = lines.next() {
        let h: Vec<&str> = head.split_whitespace().collect();
        assert_eq!(h[0], "case");
        let (name, dtype, cols, t) = (h[1], h[2], h[3].parse::<usize>().unwrap(), h[4]);
        let t: f64 = t.parse().unwrap();
        let mut field = |tag: &str| -> Vec<String> {
            let l = lines.next().unwrap();
            let mut it = l.split_whitespace();
            assert_eq!(it.next(), Some(tag));
            it.map(str::to_string).collect()
        };
        let x: Vec<f64> = field("x").iter().map(|s| s.parse().unwrap()).collect();
        let parse = |v: Vec<String>| -> Vec<Mp> {
            v.iter()
                .map(|s| Mp::with_val(MPFR_PREC, Mp::parse(s).unwrap()))
                .collect()
        };
        let sm = parse(field("softmax"));
        let lsm = parse(field("log_softmax"));
        let lse = parse(field("logsumexp"));
        cases += 1;
        fn run<T: Tf>(
            x: &[f64],
            cols: usize,
            t: f64,
            refs: (&[Mp], &[Mp], &[Mp]),
            tag: &str,
            worst: &mut std::collections::BTreeMap<String, Worst>,
        ) {
            let xs: Vec<T> = x.iter().map(|&v| T::round(v)).collect();
            let tt = T::round(t);
            let mut a = vec![T::ZERO; xs.len()];
            let mut b = vec![T::ZERO; xs.len()];
            let mut c = vec![T::ZERO; xs.len() / cols];
            softmax_temperature(&xs, cols, tt, &mut a).unwrap();
            log_softmax_temperature(&xs, cols, tt, &mut b).unwrap();
            logsumexp_temperature(&xs, cols, tt, &mut c).unwrap();
            for (k, (got, want)) in [(a, refs.0), (b, refs.1), (c, refs.2)]
                .into_iter()
                .enumerate()
            {
                let kname = ["softmax", "log_softmax", "logsumexp"][k];
                let w = worst
                    .entry(format!("{kname} {} (mpmath)", T::NAME))
                    .or_default();
                for (i, (g, r)) in got.iter().zip(want).enumerate() {
                    if k == 2 && T::MANTISSA_DIGITS == 53 {
                        let row = &x[i * cols..(i + 1) * cols];
                        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max) / t;
                        let ls = r.to_f64() - m;
                        if r.to_f64().abs() < ls.abs() {
                            assert!(lse_cancel_ok((*g).into(), r, ls), "{tag}");
                            continue;
                        }
                    }
                    let u = T::ulp(*g, r);
                    assert!(u.is_finite(), "{tag} {kname}[{i}]: {g:?} vs {r}");
                    w.see(u, x[i.min(x.len() - 1)], (*g).into(), r.to_f64());
                }
            }
        }
        let refs = (&sm[..], &lsm[..], &lse[..]);
        if dtype == "f32" {
            run::<f32>(&x, cols, t, refs, name, &mut worst);
        } else {
            run::<f64>(&x, cols, t, refs, name, &mut worst);
        }
    }
    assert!(cases >= 30);
    for (k, w) in &worst {
        let b = if k.starts_with("softmax") {
            B_SOFTMAX
        } else if k.starts_with("log_softmax") {
            B_LOG_SOFTMAX
        } else {
            B_LOGSUMEXP
        };
        let b = if k.contains("f32") { b.0 } else { b.1 };
        assert_within(k, w, b);
    }
}

/// The headline cases, checked to the ULP.
#[test]
fn dominant_and_cancellation_cases() {
    let mut y = [0.0f32; 2];
    log_softmax(&[60.0f32, 0.0], 2, &mut y).unwrap();
    let want = -8.756510762696520338e-27f64;
    assert!(ulp_f32(y[0], want) <= 1.0, "{:e}", y[0]);
    assert_eq!(y[1], -60.0);
    let mut y64 = [0.0f64; 2];
    log_softmax(&[60.0f64, 0.0], 2, &mut y64).unwrap();
    assert!((y64[0] / want - 1.0).abs() < 4e-16, "{:e}", y64[0]);

    // logsumexp([ln .5, ln .25, ln .25]) on the f32-rounded inputs (mpmath value).
    let x = [0.5f32.ln(), 0.25f32.ln(), 0.25f32.ln()];
    let mut l = [0.0f32];
    logsumexp(&x, 3, &mut l).unwrap();
    let want = -2.8569814494831883175e-9;
    let u = ulp_f32(l[0], want);
    eprintln!(
        "logsumexp([ln .5, ln .25, ln .25]) f32 = {:e} ({u:.2} ULP)",
        l[0]
    );
    assert!(u <= 1.0);

    // softmax keeps the tiny class of a dominant row, log_softmax its log.
    let mut s = [0.0f32; 2];
    softmax(&[80.0f32, 0.0], 2, &mut s).unwrap();
    assert_eq!(s[0], 1.0);
    assert!(ulp_f32(s[1], 1.8048513878454151723e-35) <= 1.0);
}

/// Special rows: the documented table.
#[test]
fn special_rows() {
    fn check<T: Tf>() {
        let inf = T::INFINITY;
        let ninf = T::NEG_INFINITY;
        let nan = T::NAN;
        let o = T::ONE;
        let z = T::ZERO;
        // cols = 11 crosses a lane boundary for both types.
        let mut row = vec![o; 11];
        let mut sm = vec![z; 11];
        let mut lsm = vec![z; 11];
        let mut lse = [z];
        // +inf entries share the mass.
        row[2] = inf;
        row[9] = inf;
        row[5] = ninf;
        softmax(&row, 11, &mut sm).unwrap();
        log_softmax(&row, 11, &mut lsm).unwrap();
        logsumexp(&row, 11, &mut lse).unwrap();
        for j in 0..11 {
            let on = j == 2 || j == 9;
            let want_sm = if on { 0.5 } else { 0.0 };
            assert_eq!(sm[j].into(), want_sm, "{j}");
            let want_l: f64 = if on {
                -core::f64::consts::LN_2
            } else {
                f64::NEG_INFINITY
            };
            assert_eq!(lsm[j], T::round(want_l), "{j}");
        }
        assert_eq!(lse[0], inf);
        // NaN anywhere: the whole row is NaN (also with +inf present).
        let mut r2 = row.clone();
        r2[10] = nan;
        softmax(&r2, 11, &mut sm).unwrap();
        log_softmax(&r2, 11, &mut lsm).unwrap();
        logsumexp(&r2, 11, &mut lse).unwrap();
        assert!(sm.iter().chain(&lsm).chain(&lse).all(|v| v.is_nan()));
        let mut r3 = vec![ninf; 11];
        r3[0] = nan;
        softmax(&r3, 11, &mut sm).unwrap();
        assert!(sm.iter().all(|v| v.is_nan()));
        // -inf entries: weight exactly 0, log -inf; the rest is a normal softmax.
        let mut r4 = vec![z; 11];
        r4[3] = ninf;
        r4[7] = ninf;
        softmax(&r4, 11, &mut sm).unwrap();
        log_softmax(&r4, 11, &mut lsm).unwrap();
        logsumexp(&r4, 11, &mut lse).unwrap();
        for j in 0..11 {
            if j == 3 || j == 7 {
                assert_eq!(sm[j], z);
                assert_eq!(lsm[j], ninf);
            } else {
                assert_eq!(sm[j], T::round(1.0 / 9.0));
                assert_eq!(lsm[j], T::round(-(9.0f64.ln())));
            }
        }
        assert_eq!(lse[0], T::round(9.0f64.ln()));
        // Fully masked rows: zeros / -inf by default, NaN on request; lse = -inf.
        let r5 = vec![ninf; 11];
        softmax(&r5, 11, &mut sm).unwrap();
        log_softmax(&r5, 11, &mut lsm).unwrap();
        logsumexp(&r5, 11, &mut lse).unwrap();
        assert!(sm.iter().all(|&v| v == z && v.into().is_sign_positive()));
        assert!(lsm.iter().all(|&v| v == ninf));
        assert_eq!(lse[0], ninf);
        let opts = SoftmaxOptions {
            temperature: o,
            masked_row: MaskedRow::Nan,
        };
        softmax_with(&r5, 11, opts, &mut sm).unwrap();
        log_softmax_with(&r5, 11, opts, &mut lsm).unwrap();
        assert!(sm.iter().chain(&lsm).all(|v| v.is_nan()));
        // ...and the NaN policy leaves normal rows alone.
        softmax_with(&r4, 11, opts, &mut sm).unwrap();
        assert_eq!(sm[0], T::round(1.0 / 9.0));
        // A single +inf among -inf.
        let mut r6 = vec![ninf; 11];
        r6[4] = inf;
        softmax(&r6, 11, &mut sm).unwrap();
        assert_eq!(sm[4], o);
        assert_eq!(sm.iter().filter(|&&v| v == z).count(), 10);
        // Extreme finite values: no overflow of x - M.
        let mut r7 = vec![T::MAX; 11];
        r7[1] = -T::MAX;
        softmax(&r7, 11, &mut sm).unwrap();
        assert_eq!(sm[1], z);
        assert_eq!(sm[0], T::round(0.1));
        log_softmax(&r7, 11, &mut lsm).unwrap();
        assert_eq!(lsm[1], ninf);
        logsumexp(&r7, 11, &mut lse).unwrap();
        assert_eq!(lse[0], T::MAX, "MAX + ln 10 rounds to MAX");
        // Temperature keeps the policies.
        softmax_temperature(&row, 11, T::round(0.5), &mut sm).unwrap();
        assert_eq!(sm[2], T::round(0.5));
        softmax_temperature(&r5, 11, T::round(0.5), &mut sm).unwrap();
        assert!(sm.iter().all(|&v| v == z));
        // One column: softmax 1, log_softmax 0 (for finite entries).
        let r8 = [T::round(-3.0), T::round(1e30), ninf];
        let mut s8 = [z; 3];
        softmax(&r8, 1, &mut s8).unwrap();
        assert_eq!(s8, [o, o, z]);
        log_softmax(&r8, 1, &mut s8).unwrap();
        assert_eq!(s8, [z, z, ninf]);
        // Subnormal outputs are computed, not flushed.
        let sub = if T::MANTISSA_DIGITS == 24 {
            100.0
        } else {
            740.0
        };
        let r9 = [z, T::round(-sub)];
        let mut s9 = [z; 2];
        softmax(&r9, 2, &mut s9).unwrap();
        assert!(s9[1] > z && s9[1] < T::MIN_POSITIVE, "{:?}", s9[1]);
    }
    check::<f32>();
    check::<f64>();
}

/// Invariants on random rows: softmax sums to 1, lies in [0, 1], is monotone in x;
/// log_softmax <= 0; exp(log_softmax) agrees with softmax; shift invariance.
#[test]
fn invariants() {
    let mut rng = Rng::new(5);
    for &cols in &[1usize, 3, 8, 9, 1000] {
        let x = gen_rows::<f32>(&mut rng, 50, cols, 30.0, 0);
        let mut y = vec![0.0f32; x.len()];
        let mut l = vec![0.0f32; x.len()];
        softmax(&x, cols, &mut y).unwrap();
        log_softmax(&x, cols, &mut l).unwrap();
        for r in 0..50 {
            let (xr, yr, lr) = (
                &x[r * cols..][..cols],
                &y[r * cols..][..cols],
                &l[r * cols..][..cols],
            );
            let s: f64 = yr.iter().map(|&v| v as f64).sum();
            assert!((s - 1.0).abs() < 4.0 * cols as f64 * 6e-8, "sum {s}");
            for j in 0..cols {
                assert!((0.0..=1.0).contains(&yr[j]));
                assert!(lr[j] <= 0.0);
                for k in 0..cols {
                    if xr[j] < xr[k] {
                        assert!(yr[j] <= yr[k] && lr[j] <= lr[k]);
                    }
                }
            }
        }
        // Shift invariance (exact shifts by a power of two near the values).
        let xs: Vec<f64> = x.iter().map(|&v| v as f64 + 256.0).collect();
        let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let (mut a, mut b) = (vec![0.0; x.len()], vec![0.0; x.len()]);
        softmax(&x64, cols, &mut a).unwrap();
        softmax(&xs, cols, &mut b).unwrap();
        for (p, q) in a.iter().zip(&b) {
            assert!((p - q).abs() <= 8.0 * f64::EPSILON * p.abs().max(1e-300));
        }
    }
}

/// Position independence: a row's result is bit-identical whatever rows surround it and
/// wherever the slice starts, for every column count around the lane width; in place equals
/// out of place.
#[test]
fn position_independence() {
    fn check<T: Tf>() {
        let lanes = T::LANES;
        let mut rng = Rng::new(9);
        let pool: Vec<T> = (0..(3 * lanes + 2) * 6 + 16)
            .map(|_| T::round(rng.uniform(-30.0, 30.0)))
            .collect();
        let t = T::round(0.7);
        type K<T> = fn(&[T], usize, &mut [T]);
        let kernels: [(&str, K<T>); 5] = [
            ("softmax", |x, c, o| softmax(x, c, o).unwrap()),
            ("log_softmax", |x, c, o| log_softmax(x, c, o).unwrap()),
            ("softmax_temperature", |x, c, o| {
                softmax_temperature(x, c, T::round(0.7), o).unwrap()
            }),
            ("log_softmax_temperature", |x, c, o| {
                log_softmax_temperature(x, c, T::round(0.7), o).unwrap()
            }),
            ("softmax_backward", |x, c, o| {
                let g: Vec<T> = x.iter().map(|&v| v * T::round(0.25)).collect();
                softmax_backward(x, &g, c, o).unwrap()
            }),
        ];
        for cols in 1..=3 * lanes + 2 {
            for off in 0..lanes {
                for rows in [1usize, 2, 5] {
                    let x = &pool[off..off + rows * cols];
                    for (name, k) in &kernels {
                        let mut all = vec![T::ZERO; x.len()];
                        k(x, cols, &mut all);
                        for r in 0..rows {
                            let mut one = vec![T::ZERO; cols];
                            k(&x[r * cols..(r + 1) * cols], cols, &mut one);
                            for j in 0..cols {
                                assert_eq!(
                                    all[r * cols + j].into().to_bits(),
                                    one[j].into().to_bits(),
                                    "{name} {}: cols {cols} off {off} row {r} col {j}",
                                    T::NAME
                                );
                            }
                        }
                    }
                    // In place is bit-identical to out of place.
                    let mut a = vec![T::ZERO; x.len()];
                    softmax(x, cols, &mut a).unwrap();
                    let mut b = x.to_vec();
                    softmax_inplace(&mut b, cols).unwrap();
                    assert!(
                        a.iter()
                            .zip(&b)
                            .all(|(p, q)| (*p).into().to_bits() == (*q).into().to_bits())
                    );
                    log_softmax(x, cols, &mut a).unwrap();
                    let mut b = x.to_vec();
                    log_softmax_inplace(&mut b, cols).unwrap();
                    assert!(
                        a.iter()
                            .zip(&b)
                            .all(|(p, q)| (*p).into().to_bits() == (*q).into().to_bits())
                    );
                    softmax_temperature(x, cols, t, &mut a).unwrap();
                    let mut b = x.to_vec();
                    softmax_temperature_inplace(&mut b, cols, t).unwrap();
                    assert!(
                        a.iter()
                            .zip(&b)
                            .all(|(p, q)| (*p).into().to_bits() == (*q).into().to_bits())
                    );
                    log_softmax_temperature(x, cols, t, &mut a).unwrap();
                    let mut b = x.to_vec();
                    log_softmax_temperature_inplace(&mut b, cols, t).unwrap();
                    assert!(
                        a.iter()
                            .zip(&b)
                            .all(|(p, q)| (*p).into().to_bits() == (*q).into().to_bits())
                    );
                    // logsumexp: one value per row.
                    let mut l = vec![T::ZERO; rows];
                    logsumexp(x, cols, &mut l).unwrap();
                    for r in 0..rows {
                        let mut one = [T::ZERO];
                        logsumexp(&x[r * cols..(r + 1) * cols], cols, &mut one).unwrap();
                        assert_eq!(l[r].into().to_bits(), one[0].into().to_bits());
                    }
                }
            }
        }
    }
    check::<f32>();
    check::<f64>();
}

/// Exact (MPFR) softmax backward on the given y and dy.
fn softmax_backward_mp(y: &[f64], dy: &[f64]) -> Vec<Mp> {
    let mut dot = mp(0.0);
    for (a, b) in y.iter().zip(dy) {
        dot += mp(*a) * mp(*b);
    }
    y.iter()
        .zip(dy)
        .map(|(a, b)| mp(*a) * (mp(*b) - &dot))
        .collect()
}

fn log_softmax_backward_mp(yl: &[f64], dy: &[f64]) -> Vec<Mp> {
    let mut s = mp(0.0);
    for b in dy {
        s += mp(*b);
    }
    yl.iter()
        .zip(dy)
        .map(|(a, b)| mp(*b) - mp(*a).exp() * &s)
        .collect()
}

/// Backward passes against the exact formula on their inputs (MPFR), with the ULP measured
/// where the subtraction does not cancel below 2^-20 of its terms (there the result is
/// dominated by the inputs' own rounding; an absolute bound is checked instead).
#[test]
fn backward_accuracy() {
    fn check<T: Tf>() {
        let mut rng = Rng::new(31);
        let (mut ws, mut wl) = (Worst::default(), Worst::default());
        for &cols in &[1usize, 3, 8, 9, 1000] {
            let rows = (20_000 / cols).max(4);
            let x = gen_rows::<T>(&mut rng, rows, cols, 20.0, 0);
            let dy: Vec<T> = (0..x.len())
                .map(|_| T::round(rng.uniform(-2.0, 2.0)))
                .collect();
            let mut y = vec![T::ZERO; x.len()];
            let mut yl = vec![T::ZERO; x.len()];
            softmax(&x, cols, &mut y).unwrap();
            log_softmax(&x, cols, &mut yl).unwrap();
            let mut gs = vec![T::ZERO; x.len()];
            let mut gl = vec![T::ZERO; x.len()];
            softmax_backward(&y, &dy, cols, &mut gs).unwrap();
            log_softmax_backward(&yl, &dy, cols, &mut gl).unwrap();
            for r in 0..rows {
                let s = r * cols..(r + 1) * cols;
                let yr: Vec<f64> = y[s.clone()].iter().map(|&v| v.into()).collect();
                let ylr: Vec<f64> = yl[s.clone()].iter().map(|&v| v.into()).collect();
                let dr: Vec<f64> = dy[s.clone()].iter().map(|&v| v.into()).collect();
                let rs = softmax_backward_mp(&yr, &dr);
                let rl = log_softmax_backward_mp(&ylr, &dr);
                let dot: f64 = yr.iter().zip(&dr).map(|(a, b)| a * b).sum();
                let sum: f64 = dr.iter().sum();
                for j in 0..cols {
                    let i = r * cols + j;
                    let scale_s = yr[j].abs() * (dr[j].abs() + dot.abs());
                    if rs[j].to_f64().abs() > scale_s * 1e-6 {
                        ws.see(T::ulp(gs[i], &rs[j]), yr[j], gs[i].into(), rs[j].to_f64());
                    } else {
                        let e: f64 = (gs[i].into() - rs[j].to_f64()).abs();
                        assert!(
                            e <= scale_s * 4.0 * libm::ldexp(1.0, 1 - T::MANTISSA_DIGITS as i32)
                        );
                    }
                    let psum = ylr[j].exp() * sum.abs();
                    let scale_l = dr[j].abs() + psum;
                    if T::MANTISSA_DIGITS == 53 && rl[j].to_f64().abs() < psum {
                        // f64: e^{y_log} carries its own rounding (<= 1 ULP) into the
                        // cancellation: |error| <= 1 ULP(result) + 2^-52 |e^{y_log} Σ dy|.
                        let w = rl[j].to_f64();
                        let ulp =
                            libm::ldexp(1.0, libm::ilogb(w.abs().max(f64::MIN_POSITIVE)) - 52);
                        let e: f64 = (gl[i].into() - w).abs();
                        assert!(e <= ulp + libm::ldexp(psum, -52), "{e:e} {w:e} {psum:e}");
                    } else if rl[j].to_f64().abs() > scale_l * 1e-6 {
                        wl.see(T::ulp(gl[i], &rl[j]), ylr[j], gl[i].into(), rl[j].to_f64());
                    } else {
                        let e: f64 = (gl[i].into() - rl[j].to_f64()).abs();
                        assert!(
                            e <= scale_l * 4.0 * libm::ldexp(1.0, 1 - T::MANTISSA_DIGITS as i32)
                        );
                    }
                }
            }
        }
        assert_within(
            &format!("softmax_backward {}", T::NAME),
            &ws,
            T::pick(B_SOFTMAX_BACKWARD),
        );
        assert_within(
            &format!("log_softmax_backward {}", T::NAME),
            &wl,
            T::pick(B_LOG_SOFTMAX_BACKWARD),
        );
    }
    check::<f32>();
    check::<f64>();
}

/// Backward passes against central differences of an f64 reference of the forward pass
/// (the composite `Σ_j dy_j f(x)_j`), including the temperature variants.
#[test]
fn backward_vs_central_difference() {
    fn sm_ref(x: &[f64], t: f64) -> Vec<f64> {
        let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = x.iter().map(|v| ((v - m) / t).exp()).collect();
        let s: f64 = e.iter().sum();
        e.iter().map(|v| v / s).collect()
    }
    fn lsm_ref(x: &[f64], t: f64) -> Vec<f64> {
        let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = x.iter().map(|v| ((v - m) / t).exp()).sum();
        x.iter().map(|v| (v - m) / t - s.ln()).collect()
    }
    let mut rng = Rng::new(3);
    for &cols in &[1usize, 3, 8, 9, 40] {
        for &t in &[1.0, 0.6, 2.5] {
            let x: Vec<f64> = (0..cols).map(|_| rng.uniform(-3.0, 3.0)).collect();
            let dy: Vec<f64> = (0..cols).map(|_| rng.uniform(-1.0, 1.0)).collect();
            let y = sm_ref(&x, t);
            let yl = lsm_ref(&x, t);
            let mut gs = vec![0.0; cols];
            let mut gl = vec![0.0; cols];
            softmax_temperature_backward(&y, &dy, cols, t, &mut gs).unwrap();
            log_softmax_temperature_backward(&yl, &dy, cols, t, &mut gl).unwrap();
            if t == 1.0 {
                let mut g2 = vec![0.0; cols];
                softmax_backward(&y, &dy, cols, &mut g2).unwrap();
                assert_eq!(g2, gs);
                log_softmax_backward(&yl, &dy, cols, &mut g2).unwrap();
                assert_eq!(g2, gl);
            }
            // f32 too: same formula within f32 accuracy.
            let y32: Vec<f32> = y.iter().map(|&v| v as f32).collect();
            let d32: Vec<f32> = dy.iter().map(|&v| v as f32).collect();
            let mut g32 = vec![0.0f32; cols];
            softmax_temperature_backward(&y32, &d32, cols, t as f32, &mut g32).unwrap();
            for j in 0..cols {
                let f_s = |v: f64| {
                    let mut xx = x.clone();
                    xx[j] = v;
                    sm_ref(&xx, t)
                        .iter()
                        .zip(&dy)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                };
                let f_l = |v: f64| {
                    let mut xx = x.clone();
                    xx[j] = v;
                    lsm_ref(&xx, t)
                        .iter()
                        .zip(&dy)
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                };
                let ns = central_difference(f_s, x[j]);
                let nl = central_difference(f_l, x[j]);
                assert!(
                    (gs[j] - ns).abs() <= 1e-8,
                    "softmax' cols {cols} t {t} j {j}: {} vs {ns}",
                    gs[j]
                );
                assert!(
                    (gl[j] - nl).abs() <= 1e-8,
                    "log_softmax' cols {cols} t {t} j {j}: {} vs {nl}",
                    gl[j]
                );
                assert!((g32[j] as f64 - ns).abs() <= 1e-6);
            }
        }
    }
}

#[test]
fn errors_name_the_argument() {
    let x = [0.0f32; 6];
    let mut o = [0.0f32; 6];
    let msg = |e: nonlin::Error| e.to_string();
    let e = softmax(&x, 0, &mut o).unwrap_err();
    assert!(matches!(
        e,
        nonlin::Error::InvalidShape {
            name: "cols",
            value: 0,
            len: 6
        }
    ));
    assert!(msg(e).contains("cols"));
    let e = log_softmax(&x, 4, &mut o).unwrap_err();
    assert!(msg(e).contains("`cols` = 4"));
    let e = softmax(&x, 3, &mut o[..5]).unwrap_err();
    assert!(msg(e).contains("out"));
    for t in [0.0f32, -1.0, f32::NAN, f32::INFINITY] {
        let e = softmax_temperature(&x, 3, t, &mut o).unwrap_err();
        assert!(msg(e).contains("temperature"), "{}", msg(e));
        let mut xi = x;
        assert!(
            msg(log_softmax_temperature_inplace(&mut xi, 3, t).unwrap_err())
                .contains("temperature")
        );
        assert!(
            msg(logsumexp_temperature(&x, 3, t, &mut o[..2]).unwrap_err()).contains("temperature")
        );
        assert!(
            msg(softmax_temperature_backward(&x, &x, 3, t, &mut o).unwrap_err())
                .contains("temperature")
        );
    }
    let e = logsumexp(&x, 3, &mut o[..3]).unwrap_err();
    assert!(matches!(
        e,
        nonlin::Error::LengthMismatch {
            arg: "out",
            expected: 2,
            found: 3
        }
    ));
    let e = softmax_backward(&x, &x[..5], 3, &mut o).unwrap_err();
    assert!(msg(e).contains("grad_out"));
    let e = log_softmax_backward(&x, &x, 3, &mut o[..3]).unwrap_err();
    assert!(msg(e).contains("grad_in"));
    let e = softmax_backward(&x, &x, 5, &mut o).unwrap_err();
    assert!(msg(e).contains("cols"));
    let mut xi = [1.0f64; 4];
    assert!(softmax_inplace(&mut xi, 3).is_err());
    assert_eq!(xi, [1.0; 4], "nothing written on error");
    let mut o2 = [7.0f32; 6];
    assert!(softmax_temperature(&x, 3, -1.0, &mut o2).is_err());
    assert_eq!(o2, [7.0; 6], "nothing written on error");
    // Empty input with a valid column count is fine.
    softmax::<f32>(&[], 3, &mut []).unwrap();
}

/// Rows built to stress the online pass: a slowly rising maximum (a new maximum in every
/// block), a staircase that moves the exponent reference many times, a descending row, and
/// one dominant entry at the very end of a long row. Each is held to the same budgets.
#[test]
fn adversarial_rows() {
    fn check<T: Tf>() {
        let mut total = W3::default();
        let cols = 50_000;
        let rows: Vec<Vec<f64>> = vec![
            (0..cols).map(|j| j as f64 * 1e-4).collect(),
            (0..cols).map(|j| j as f64 * 0.02).collect(),
            (0..cols)
                .map(|j| (j / 64) as f64 * 30.0 + (j % 7) as f64)
                .collect(),
            (0..cols).map(|j| -(j as f64) * 0.01).collect(),
            (0..cols)
                .map(|j| if j == cols - 1 { 90.0 } else { (j % 13) as f64 })
                .collect(),
        ];
        for r in rows {
            let x: Vec<T> = r.iter().map(|&v| T::round(v)).collect();
            merge(&mut total, measure(&x, cols, 1.0));
            merge(&mut total, measure(&x, cols, 0.3));
        }
        let n = T::NAME;
        assert_within(
            &format!("softmax adversarial {n}"),
            &total.sm,
            T::pick(B_SOFTMAX),
        );
        assert_within(
            &format!("log_softmax adversarial {n}"),
            &total.lsm,
            T::pick(B_LOG_SOFTMAX),
        );
        assert_within(
            &format!("logsumexp adversarial {n}"),
            &total.lse,
            T::pick(B_LOGSUMEXP),
        );
    }
    check::<f32>();
    check::<f64>();
}

/// Copies of a row's maximum spread over several 8 KiB blocks and sub-blocks of the fast
/// pass, with a lower maximum first (so the running maximum rises in a later block) and
/// copies before and after the block where it rose. The other entries are so far below that
/// `S` is `k` (the number of copies) to within `e^-150`: each copy must be exactly `1/k`
/// rounded once, as the write pass gives an entry it sees equal to the maximum. A copy
/// outside the range where the write pass compares would get `t (f_hi + f_lo)` from its
/// stored term instead, whose `exp` rounding leaves it off `1/k`.
#[test]
fn ties_of_the_maximum_across_blocks() {
    fn check<T: Tf>() {
        let cols = 12_000;
        // Several maxima, so that some stored term `e^{M - r}` is not exact.
        for (i, ties) in [
            vec![2_500usize, 2_501, 4_200, 9_000, 11_999],
            vec![3, 2_047, 2_048, 6_000],
            vec![130, 8_191, 8_192],
        ]
        .into_iter()
        .cycle()
        .take(48)
        .enumerate()
        {
            let k = ties.len() as f64;
            let mx = 0.37 * i as f64 - 6.0;
            let x: Vec<T> = (0..cols)
                .map(|j| {
                    T::round(if ties.contains(&j) {
                        mx
                    } else if j < 100 && j % 7 == 0 {
                        mx - 150.0
                    } else {
                        mx - 200.0 - (j % 97) as f64 * 0.03
                    })
                })
                .collect();
            let mut y = vec![T::ZERO; cols];
            softmax(&x, cols, &mut y).unwrap();
            let want = T::round(1.0 / k);
            for &j in &ties {
                assert_eq!(
                    y[j].to_f64().to_bits(),
                    want.to_f64().to_bits(),
                    "{} copy at {j} of {ties:?}",
                    T::NAME
                );
            }
            let w = measure(&x, cols, 1.0);
            assert_within(
                &format!("softmax ties {}", T::NAME),
                &w.sm,
                T::pick(B_SOFTMAX),
            );
        }
    }
    check::<f32>();
    check::<f64>();
}

/// `f32` logsumexp rows on both sides of the choice between the `f32`-lane pass (taken when
/// the row's maximum `M` guarantees `|result| >= 2`: `M >= 2`, or `M + ln(cols) <= -2`) and
/// the `f64` lanes: results as close to 2 in magnitude as that pass can give (a maximum
/// just above 2 with the rest far below it, or `cols` entries near `-2 - ln(cols)`), and
/// rows just across the boundary; among them rows of `cols - 1` equal entries just below
/// the maximum, whose terms all carry the same rounding error, so that none of it cancels
/// in `S` (the worst case of the pass). Every row is held to the budget; the rows of the
/// `f32` pass to 1 ULP, the bound of its error analysis (`0.5` for the rounding of the
/// result, up to about a third for the terms' `f32` roundings in `ln S`; the row at
/// `cols = 1503` below, found with an exact model of the `f32` terms, measures 0.81 ULP).
#[test]
fn logsumexp_f32_lane_pass_threshold() {
    let mut rng = Rng::new(4711);
    let mut fast = Worst::default();
    let mut all = Worst::default();
    let mut n_fast = 0usize;
    // Measures one row against MPFR; rows whose maximum selects the f32 pass also count
    // towards `fast`.
    let mut check = |row: &[f32]| {
        let cols = row.len();
        let mut got = [0.0f32];
        logsumexp(row, cols, &mut got).unwrap();
        let r64: Vec<f64> = row.iter().map(|&v| f64::from(v)).collect();
        let (_, _, want) = ref_row(&r64, 1.0);
        let u = ulp_f32(got[0], want.to_f64());
        let m = r64.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        all.see(u, m, f64::from(got[0]), want.to_f64());
        if m >= 2.0 || m + (cols as f64).ln() <= -2.0 {
            n_fast += 1;
            fast.see(u, m, f64::from(got[0]), want.to_f64());
        }
    };
    for &cols in &[1usize, 2, 3, 8, 9, 31, 1000, 3000] {
        let lnc = (cols as f64).ln();
        for _ in 0..400 {
            // Largest entry: near +2, or near -2 - ln(cols) (both sides of each edge).
            let top = if rng.unit() < 0.5 {
                2.0 + rng.uniform(-0.05, 0.5)
            } else {
                -2.0 - lnc + rng.uniform(-0.5, 0.05)
            };
            let spread = [1e-3, 0.1, 1.0, 5.0, 40.0][(rng.next_u64() % 5) as usize];
            let mut row: Vec<f32> = (0..cols)
                .map(|_| (top - spread * rng.unit()) as f32)
                .collect();
            row[(rng.next_u64() % cols as u64) as usize] = top as f32;
            check(&row);
        }
    }
    // Equal entries below the maximum, on the negative edge (M + ln(cols) just below -2),
    // and the worst row an exact model of the f32 terms found (measured 0.81 ULP here).
    let mut cases: Vec<(usize, f32, f32)> = vec![(
        1503,
        f32::from_bits(0xc115_7699),
        f32::from_bits(0xc115_76b0),
    )];
    for &cols in &[2usize, 3, 8, 31, 1000, 1503, 3000] {
        for _ in 0..60 {
            let top = (-2.0 - (cols as f64).ln() - rng.uniform(0.0, 0.3)) as f32;
            let d = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1][(rng.next_u64() % 6) as usize];
            cases.push((cols, top, (f64::from(top) - d * rng.unit()) as f32));
        }
    }
    for (cols, top, rest) in cases {
        let mut row = vec![rest; cols];
        row[0] = top;
        check(&row);
    }
    assert!(n_fast > 1000, "{n_fast} rows on the f32-lane pass");
    assert_within("logsumexp f32, rows of the f32-lane pass", &fast, 1.0);
    assert_within("logsumexp f32, all rows", &all, B_LOGSUMEXP.0);
}
