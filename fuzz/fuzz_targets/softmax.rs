//! Softmax family invariants on arbitrary rows (f32 and f64): rows sum to 1 within the
//! stated bound, outputs in [0, 1], log_softmax <= 0, logsumexp >= the row max, no NaN from
//! finite rows, the documented results for rows with ±inf, and errors for bad shapes.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Case {
    cols: u8,
    f64: bool,
    temperature: f64,
    data: Vec<f64>,
}

macro_rules! check {
    ($t:ty, $case:expr) => {{
        let case = $case;
        let x: Vec<$t> = case.data.iter().take(256).map(|&v| v as $t).collect();
        let cols = case.cols as usize % 41;
        let n = x.len();
        let mut y = vec![0.0 as $t; n];
        let r = nonlin::softmax(&x, cols, &mut y);
        if cols == 0 || n % cols != 0 {
            assert!(r.is_err(), "bad shape accepted: len {n}, cols {cols}");
            return;
        }
        r.expect("valid shape");
        let mut ly = vec![0.0 as $t; n];
        nonlin::log_softmax(&x, cols, &mut ly).expect("log_softmax");
        let mut lse = vec![0.0 as $t; n / cols];
        nonlin::logsumexp(&x, cols, &mut lse).expect("logsumexp");
        for (r, ((row, out), lrow)) in x
            .chunks(cols)
            .zip(y.chunks(cols))
            .zip(ly.chunks(cols))
            .enumerate()
        {
            let has_nan = row.iter().any(|v| v.is_nan());
            let all_neg_inf = row.iter().all(|&v| v == <$t>::NEG_INFINITY);
            let n_pos_inf = row.iter().filter(|&&v| v == <$t>::INFINITY).count();
            if has_nan {
                assert!(
                    out.iter().all(|v| v.is_nan()),
                    "row {r}: NaN row must give NaN"
                );
                continue;
            }
            if all_neg_inf {
                assert!(
                    out.iter().all(|&v| v == 0.0),
                    "row {r}: all -inf row gives zeros"
                );
                assert!(lrow.iter().all(|&v| v == <$t>::NEG_INFINITY));
                assert_eq!(lse[r], <$t>::NEG_INFINITY);
                continue;
            }
            if n_pos_inf > 0 {
                for (&xi, &yi) in row.iter().zip(out) {
                    let want = if xi == <$t>::INFINITY {
                        1.0 / n_pos_inf as f64
                    } else {
                        0.0
                    };
                    assert!(
                        (yi as f64 - want).abs() <= 1e-6 * want.max(1e-30),
                        "row {r}: +inf row"
                    );
                }
                assert_eq!(lse[r], <$t>::INFINITY);
                continue;
            }
            let mut sum = 0.0f64;
            let m = row.iter().cloned().fold(<$t>::NEG_INFINITY, <$t>::max) as f64;
            for (&yi, &li) in out.iter().zip(lrow) {
                assert!(
                    !yi.is_nan() && !li.is_nan(),
                    "row {r}: NaN from a finite row"
                );
                assert!(
                    (0.0..=1.0).contains(&yi),
                    "row {r}: softmax {yi} outside [0, 1]"
                );
                assert!(li <= 0.0, "row {r}: log_softmax {li} > 0");
                sum += yi as f64;
            }
            // Each output is within 4 ULP of exact, so the sum is within 4 * cols ULP of 1.
            let tol = 4.0 * cols as f64 * <$t>::EPSILON as f64;
            assert!((sum - 1.0).abs() <= tol, "row {r}: sum {sum}");
            assert!(
                lse[r] as f64 >= m,
                "row {r}: logsumexp {} < max {m}",
                lse[r]
            );
        }
        // Temperature: invalid values refused, valid ones give the same invariants' basics.
        let t = case.temperature as $t;
        let mut yt = vec![0.0 as $t; n];
        let rt = nonlin::softmax_temperature(&x, cols, t, &mut yt);
        if !(t.is_finite() && t > 0.0) {
            assert!(rt.is_err(), "temperature {t} accepted");
        } else {
            rt.expect("valid temperature");
            assert!(yt.iter().all(|v| v.is_nan() || (0.0..=1.0).contains(v)));
        }
    }};
}

fuzz_target!(|case: Case| {
    if case.f64 {
        check!(f64, case)
    } else {
        check!(f32, case)
    }
});
