//! Parallel losses: the same sums as `nonlin::loss`, bit for bit.
//!
//! `nonlin` sums a loss in fixed blocks of [`BLOCK`] elements and folds the block results in
//! order. Here each block's partial sum ([`Dd`]) is computed on any thread by the loss's
//! `*_partial` function, the partials are collected in block order, and folded in that order
//! exactly as the serial call does; the fused gradient of each block is written by the
//! thread that computes it. The element-wise (`_none`) forms split like the activations.

use crate::{CHUNK, PAR_THRESHOLD};
use nonlin::loss::{self, Reduction};
use nonlin::reduce::{BLOCK, Dd};
use nonlin::{Error, Float};
use rayon::prelude::*;

/// The gradient scale of a reduction over `n` elements, as `nonlin` computes it.
fn grad_scale<T: Float>(n: usize, reduction: Reduction) -> T {
    match reduction {
        Reduction::Sum => T::ONE,
        Reduction::Mean => T::from_f64(1.0 / (n.max(1) as f64)),
    }
}

/// Folds per-block partials computed in parallel, in block order.
fn fold_blocks<T: Float>(
    n: usize,
    grad: Option<&mut [T]>,
    block: impl Fn(usize, usize, Option<&mut [T]>) -> Result<Dd, Error> + Sync,
) -> Result<Dd, Error> {
    let nblocks = n.div_ceil(BLOCK);
    let min_len = (CHUNK / BLOCK).max(1);
    let parts: Vec<Dd> = match grad {
        Some(g) => g
            .par_chunks_mut(BLOCK)
            .with_min_len(min_len)
            .enumerate()
            .map(|(b, gc)| block(b * BLOCK, (b * BLOCK + BLOCK).min(n), Some(gc)))
            .collect::<Result<_, _>>()?,
        None => (0..nblocks)
            .into_par_iter()
            .with_min_len(min_len)
            .map(|b| block(b * BLOCK, (b * BLOCK + BLOCK).min(n), None))
            .collect::<Result<_, _>>()?,
    };
    Ok(parts.into_iter().fold(Dd::ZERO, Dd::add))
}

fn sub<T>(s: &[T], a: usize, b: usize) -> &[T] {
    s.get(a..b).unwrap_or(&[])
}

macro_rules! pair_loss {
    ($name:ident, $with_grad:ident, $partial:ident, ($($p:ident),*)) => {
        #[doc = concat!("Parallel [`nonlin::loss::", stringify!($name), "`]: same bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::loss::", stringify!($name), "`].")]
        pub fn $name<T: Float>(pred: &[T], target: &[T], $($p: T,)* reduction: Reduction) -> Result<T, Error> {
            if pred.len() < PAR_THRESHOLD || pred.len() != target.len() {
                return loss::$name(pred, target, $($p,)* reduction);
            }
            loss::$partial::<T>(&[], &[], $($p,)* T::ONE, None)?;
            let n = pred.len();
            let total = fold_blocks::<T>(n, None, |a, b, _| loss::$partial(sub(pred, a, b), sub(target, a, b), $($p,)* T::ONE, None))?;
            Ok(loss::finish_loss(total, n, reduction))
        }

        #[doc = concat!("Parallel [`nonlin::loss::", stringify!($with_grad), "`]: same bits (value and gradient), same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::loss::", stringify!($with_grad), "`].")]
        pub fn $with_grad<T: Float>(pred: &[T], target: &[T], $($p: T,)* reduction: Reduction, grad: &mut [T]) -> Result<T, Error> {
            if pred.len() < PAR_THRESHOLD || pred.len() != target.len() || grad.len() != pred.len() {
                return loss::$with_grad(pred, target, $($p,)* reduction, grad);
            }
            let n = pred.len();
            let scale = grad_scale::<T>(n, reduction);
            loss::$partial::<T>(&[], &[], $($p,)* scale, None)?;
            let total = fold_blocks(n, Some(grad), |a, b, g| loss::$partial(sub(pred, a, b), sub(target, a, b), $($p,)* scale, g))?;
            Ok(loss::finish_loss(total, n, reduction))
        }
    };
}

pair_loss!(mse, mse_with_grad, mse_partial, ());
pair_loss!(l1, l1_with_grad, l1_partial, ());
pair_loss!(huber, huber_with_grad, huber_partial, (delta));
pair_loss!(smooth_l1, smooth_l1_with_grad, smooth_l1_partial, (beta));
pair_loss!(
    sigmoid_focal_loss,
    sigmoid_focal_loss_with_grad,
    sigmoid_focal_loss_partial,
    (alpha, gamma)
);

/// Parallel [`nonlin::loss::bce_with_logits`]: same bits, same errors.
///
/// # Errors
/// As [`nonlin::loss::bce_with_logits`].
pub fn bce_with_logits<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    reduction: Reduction,
) -> Result<T, Error> {
    let n = logits.len();
    if n < PAR_THRESHOLD
        || target.len() != n
        || weight.is_some_and(|w| w.len() != n)
        || pos_weight.is_some_and(|p| p.is_empty() || !n.is_multiple_of(p.len()))
    {
        return loss::bce_with_logits(logits, target, weight, pos_weight, reduction);
    }
    loss::bce_with_logits(
        &logits[..0],
        &target[..0],
        weight.map(|w| &w[..0]),
        pos_weight,
        reduction,
    )?;
    let total = fold_blocks::<T>(n, None, |a, b, _| {
        loss::bce_with_logits_partial(
            sub(logits, a, b),
            sub(target, a, b),
            weight.map(|w| sub(w, a, b)),
            pos_weight,
            a,
            T::ONE,
            None,
        )
    })?;
    Ok(loss::finish_loss(total, n, reduction))
}

/// Parallel [`nonlin::loss::bce_with_logits_with_grad`]: same bits, same errors.
///
/// # Errors
/// As [`nonlin::loss::bce_with_logits_with_grad`].
pub fn bce_with_logits_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    let n = logits.len();
    if n < PAR_THRESHOLD
        || target.len() != n
        || grad.len() != n
        || weight.is_some_and(|w| w.len() != n)
        || pos_weight.is_some_and(|p| p.is_empty() || !n.is_multiple_of(p.len()))
    {
        return loss::bce_with_logits_with_grad(
            logits, target, weight, pos_weight, reduction, grad,
        );
    }
    loss::bce_with_logits(
        &logits[..0],
        &target[..0],
        weight.map(|w| &w[..0]),
        pos_weight,
        reduction,
    )?;
    let scale = grad_scale::<T>(n, reduction);
    let total = fold_blocks(n, Some(grad), |a, b, g| {
        loss::bce_with_logits_partial(
            sub(logits, a, b),
            sub(target, a, b),
            weight.map(|w| sub(w, a, b)),
            pos_weight,
            a,
            scale,
            g,
        )
    })?;
    Ok(loss::finish_loss(total, n, reduction))
}

/// Parallel [`nonlin::loss::kl_div`]: same bits, same errors.
///
/// # Errors
/// As [`nonlin::loss::kl_div`].
pub fn kl_div<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    reduction: Reduction,
) -> Result<T, Error> {
    let n = input.len();
    if n < PAR_THRESHOLD || target.len() != n {
        return loss::kl_div(input, target, log_target, reduction);
    }
    let total = fold_blocks::<T>(n, None, |a, b, _| {
        loss::kl_div_partial(
            sub(input, a, b),
            sub(target, a, b),
            log_target,
            T::ONE,
            None,
        )
    })?;
    Ok(loss::finish_loss(total, n, reduction))
}

/// Parallel [`nonlin::loss::kl_div_with_grad`]: same bits, same errors.
///
/// # Errors
/// As [`nonlin::loss::kl_div_with_grad`].
pub fn kl_div_with_grad<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    let n = input.len();
    if n < PAR_THRESHOLD || target.len() != n || grad.len() != n {
        return loss::kl_div_with_grad(input, target, log_target, reduction, grad);
    }
    let scale = grad_scale::<T>(n, reduction);
    let total = fold_blocks(n, Some(grad), |a, b, g| {
        loss::kl_div_partial(sub(input, a, b), sub(target, a, b), log_target, scale, g)
    })?;
    Ok(loss::finish_loss(total, n, reduction))
}

// ---------------------------------------------------------------------------------------
// bce on probabilities

/// Index of the first element outside `[0, 1]` (NaN passes), searched in parallel chunks.
fn first_bad_probability<T: Float>(p: &[T]) -> Option<usize> {
    let c = crate::chunk_len(p.len());
    p.par_chunks(c)
        .enumerate()
        .filter_map(|(i, ch)| {
            ch.iter()
                .position(|&v| v < T::ZERO || v > T::ONE)
                .map(|j| i * c + j)
        })
        .min()
}

/// The serial checks of [`nonlin::loss::bce`] on the whole input (lengths first, then the
/// first probability outside `[0, 1]`), before anything is written.
fn bce_validate<T: Float>(pred: &[T], target: &[T], weight: Option<&[T]>) -> Result<(), Error> {
    // Lengths: the serial call on an empty prefix reports them exactly.
    let n = pred.len();
    if target.len() != n || weight.is_some_and(|w| w.len() != n) {
        return loss::bce_partial(pred, target, weight, T::ONE, None).map(|_| ());
    }
    match first_bad_probability(pred) {
        // The serial check on that element gives the serial error (it names the value).
        Some(i) => loss::bce_partial(
            sub(pred, i, i + 1),
            sub(target, i, i + 1),
            weight.map(|w| sub(w, i, i + 1)),
            T::ONE,
            None,
        )
        .map(|_| ()),
        None => Ok(()),
    }
}

/// Parallel [`nonlin::loss::bce`] (binary cross-entropy on probabilities):
/// `ℓ_i = -w_i [t_i max(ln p_i, -100) + (1 - t_i) max(ln(1 - p_i), -100)]`, reduced by
/// `reduction`.
///
/// The same bits as the serial call for any number of threads: each [`BLOCK`] of elements is
/// summed by [`nonlin::loss::bce_partial`] on some thread and the blocks are combined in
/// order. Domain, special values and accuracy are those of [`nonlin::loss::bce`] (per term
/// ≤ 3 ULP in f32 and f64). Below [`PAR_THRESHOLD`] elements it is the serial call.
///
/// # Errors
/// As [`nonlin::loss::bce`]: [`Error::LengthMismatch`] naming `target` or `weight`;
/// [`Error::InvalidParameter`] naming `pred` and the first value outside `[0, 1]`. Checked
/// before any work.
///
/// # Example
/// ```
/// use nonlin::loss::Reduction;
/// let p: Vec<f32> = (0..100_000).map(|i| (i % 97) as f32 / 97.0).collect();
/// let t: Vec<f32> = (0..100_000).map(|i| (i % 2) as f32).collect();
/// let par = nonlin_parallel::loss::bce(&p, &t, None, Reduction::Mean)?;
/// assert_eq!(par.to_bits(), nonlin::loss::bce(&p, &t, None, Reduction::Mean)?.to_bits());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    reduction: Reduction,
) -> Result<T, Error> {
    let n = pred.len();
    if n < PAR_THRESHOLD {
        return loss::bce(pred, target, weight, reduction);
    }
    bce_validate(pred, target, weight)?;
    let total = fold_blocks::<T>(n, None, |a, b, _| {
        loss::bce_partial(
            sub(pred, a, b),
            sub(target, a, b),
            weight.map(|w| sub(w, a, b)),
            T::ONE,
            None,
        )
    })?;
    Ok(loss::finish_loss(total, n, reduction))
}

/// Parallel [`nonlin::loss::bce_with_grad`]: [`bce`] and its gradient
/// `grad[i] = s w_i (p_i - t_i) / max(p_i (1 - p_i), 1e-12)` (`s = 1/N` for the mean),
/// each block's gradient written by the thread that sums it. Same bits (value and
/// gradient) and accuracy as the serial call.
///
/// # Errors
/// As [`nonlin::loss::bce_with_grad`] (also [`Error::LengthMismatch`] naming `grad`).
/// Checked before anything is written.
///
/// # Example
/// ```
/// use nonlin::loss::Reduction;
/// let p = vec![0.25f64; 70_000];
/// let t = vec![1.0f64; 70_000];
/// let mut g = vec![0.0; 70_000];
/// nonlin_parallel::loss::bce_with_grad(&p, &t, None, Reduction::Sum, &mut g)?;
/// assert!(g.iter().all(|&v| v == -4.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    reduction: Reduction,
    grad: &mut [T],
) -> Result<T, Error> {
    let n = pred.len();
    if n < PAR_THRESHOLD || grad.len() != n || target.len() != n {
        return loss::bce_with_grad(pred, target, weight, reduction, grad);
    }
    bce_validate(pred, target, weight)?;
    let scale = grad_scale::<T>(n, reduction);
    let total = fold_blocks(n, Some(grad), |a, b, g| {
        loss::bce_partial(
            sub(pred, a, b),
            sub(target, a, b),
            weight.map(|w| sub(w, a, b)),
            scale,
            g,
        )
    })?;
    Ok(loss::finish_loss(total, n, reduction))
}

/// Parallel [`nonlin::loss::bce_none`] (element-wise [`bce`]).
///
/// # Errors
/// As [`nonlin::loss::bce_none`]; checked before anything is written.
///
/// # Example
/// ```
/// let mut o = vec![0.0f64; 70_000];
/// nonlin_parallel::loss::bce_none(&vec![1.0; 70_000], &vec![0.0; 70_000], None, &mut o)?;
/// assert!(o.iter().all(|&v| v == 100.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_none<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    out: &mut [T],
) -> Result<(), Error> {
    let n = pred.len();
    if n < PAR_THRESHOLD || out.len() != n || target.len() != n {
        return loss::bce_none(pred, target, weight, out);
    }
    bce_validate(pred, target, weight)?;
    let c = crate::chunk_len(n);
    out.par_chunks_mut(c).enumerate().try_for_each(|(i, oc)| {
        let (a, b) = (i * c, i * c + oc.len());
        loss::bce_none(
            sub(pred, a, b),
            sub(target, a, b),
            weight.map(|w| sub(w, a, b)),
            oc,
        )
    })
}

/// Parallel [`nonlin::loss::bce_none_with_grad`] (element-wise [`bce`] and its gradient).
///
/// # Errors
/// As [`nonlin::loss::bce_none_with_grad`]; checked before anything is written.
///
/// # Example
/// ```
/// let (mut o, mut g) = (vec![0.0f32; 70_000], vec![0.0f32; 70_000]);
/// nonlin_parallel::loss::bce_none_with_grad(&vec![0.5; 70_000], &vec![0.0; 70_000], None, &mut o, &mut g)?;
/// assert!(g.iter().all(|&v| v == 2.0));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_none_with_grad<T: Float>(
    pred: &[T],
    target: &[T],
    weight: Option<&[T]>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    let n = pred.len();
    if n < PAR_THRESHOLD || out.len() != n || grad.len() != n || target.len() != n {
        return loss::bce_none_with_grad(pred, target, weight, out, grad);
    }
    bce_validate(pred, target, weight)?;
    let c = crate::chunk_len(n);
    out.par_chunks_mut(c)
        .zip(grad.par_chunks_mut(c))
        .enumerate()
        .try_for_each(|(i, (oc, gc))| {
            let (a, b) = (i * c, i * c + oc.len());
            loss::bce_none_with_grad(
                sub(pred, a, b),
                sub(target, a, b),
                weight.map(|w| sub(w, a, b)),
                oc,
                gc,
            )
        })
}

// ---------------------------------------------------------------------------------------
// Row losses: cross_entropy, cross_entropy_probs, nll_loss, softmax_focal_loss.
//
// `nonlin` computes each row's loss in f64, sums the row losses in blocks of BLOCK rows
// combined in order, and divides by the mean's denominator. Here the whole input is
// checked first (`*_prepare`, the serial checks), the row losses (and gradient rows) are
// computed on whole-row pieces on any thread into a buffer of f64 losses, the buffer is
// summed in BLOCK-row pieces (`row_losses_partial`) and the pieces are combined in order.

/// Rows per parallel task for a `rows x cols` input: about [`crate::chunk_len`] elements,
/// whole rows, at least one.
fn task_rows(rows: usize, cols: usize) -> usize {
    let cols = cols.max(1);
    (crate::chunk_len(rows * cols) / cols).max(1)
}

/// The reduced value of a row loss over `rows` rows: `f(r0, r1, losses, grad)` fills the
/// f64 losses (and the gradient rows) of rows `r0..r1` on some thread; the losses are then
/// summed with the serial block structure.
fn rows_reduced<T: Float>(
    rows: usize,
    cols: usize,
    d: f64,
    reduction: Reduction,
    grad: Option<&mut [T]>,
    f: impl Fn(usize, usize, &mut [f64], Option<&mut [T]>) -> Result<(), Error> + Sync,
) -> Result<T, Error> {
    let mut losses = vec![0.0f64; rows];
    let r = task_rows(rows, cols);
    match grad {
        Some(g) => losses
            .par_chunks_mut(r)
            .zip(g.par_chunks_mut(r * cols.max(1)))
            .enumerate()
            .try_for_each(|(i, (lc, gc))| f(i * r, i * r + lc.len(), lc, Some(gc)))?,
        None => losses
            .par_chunks_mut(r)
            .enumerate()
            .try_for_each(|(i, lc)| f(i * r, i * r + lc.len(), lc, None))?,
    }
    let parts: Vec<(Dd, f64)> = losses
        .par_chunks(BLOCK)
        .map(loss::row_losses_partial)
        .collect();
    let (total, special) = parts
        .into_iter()
        .fold((Dd::ZERO, 0.0), |(t, s), (pt, ps)| (t.add(pt), s + ps));
    Ok(loss::finish_row_losses(total, special, d, reduction))
}

/// The per-row (`_none`) form of a row loss: `f(r0, r1, out, grad)` runs the serial
/// `_none` call on rows `r0..r1` (each row's result does not depend on the others).
fn rows_none<T: Float>(
    cols: usize,
    out: &mut [T],
    grad: Option<&mut [T]>,
    f: impl Fn(usize, usize, &mut [T], Option<&mut [T]>) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    let r = task_rows(out.len(), cols);
    match grad {
        Some(g) => out
            .par_chunks_mut(r)
            .zip(g.par_chunks_mut(r * cols.max(1)))
            .enumerate()
            .try_for_each(|(i, (oc, gc))| f(i * r, i * r + oc.len(), oc, Some(gc))),
        None => out
            .par_chunks_mut(r)
            .enumerate()
            .try_for_each(|(i, oc)| f(i * r, i * r + oc.len(), oc, None)),
    }
}

macro_rules! row_loss {
    (
        $name:ident, $none:ident, $with_grad:ident, $none_with_grad:ident,
        prepare: $prepare:ident, rows: $rows:ident,
        target: $tt:ty, per_row: $per:expr, target_arg: $targ:expr,
        opts: $ot:ident, value_work: $work:expr,
        { $(#[$da:meta])* } { $(#[$db:meta])* } { $(#[$dc:meta])* } { $(#[$dd:meta])* }
    ) => {
        $(#[$da])*
        pub fn $name<T: Float>(
            logits: &[T],
            targets: &[$tt],
            cols: usize,
            opts: &$ot<'_, T>,
            reduction: Reduction,
        ) -> Result<T, Error> {
            if ($work)(logits.len(), targets.len()) < PAR_THRESHOLD {
                return loss::$name(logits, targets, cols, opts, reduction);
            }
            let (d, s) = loss::$prepare(logits.len(), ($targ)(targets), cols, opts, Some(reduction), None, None)?;
            let per: usize = ($per)(cols);
            rows_reduced(logits.len() / cols, cols, d, reduction, None, |r0, r1, l, g| {
                loss::$rows(sub(logits, r0 * cols, r1 * cols), sub(targets, r0 * per, r1 * per), cols, opts, s, l, g)
            })
        }

        $(#[$db])*
        pub fn $none<T: Float>(
            logits: &[T],
            targets: &[$tt],
            cols: usize,
            opts: &$ot<'_, T>,
            out: &mut [T],
        ) -> Result<(), Error> {
            if ($work)(logits.len(), targets.len()) < PAR_THRESHOLD {
                return loss::$none(logits, targets, cols, opts, out);
            }
            loss::$prepare(logits.len(), ($targ)(targets), cols, opts, None, Some(out.len()), None)?;
            let per: usize = ($per)(cols);
            rows_none(cols, out, None, |r0, r1, o, _| {
                loss::$none(sub(logits, r0 * cols, r1 * cols), sub(targets, r0 * per, r1 * per), cols, opts, o)
            })
        }

        $(#[$dc])*
        pub fn $with_grad<T: Float>(
            logits: &[T],
            targets: &[$tt],
            cols: usize,
            opts: &$ot<'_, T>,
            reduction: Reduction,
            grad: &mut [T],
        ) -> Result<T, Error> {
            if logits.len() < PAR_THRESHOLD {
                return loss::$with_grad(logits, targets, cols, opts, reduction, grad);
            }
            let (d, s) = loss::$prepare(logits.len(), ($targ)(targets), cols, opts, Some(reduction), None, Some(grad.len()))?;
            let per: usize = ($per)(cols);
            rows_reduced(logits.len() / cols, cols, d, reduction, Some(grad), |r0, r1, l, g| {
                loss::$rows(sub(logits, r0 * cols, r1 * cols), sub(targets, r0 * per, r1 * per), cols, opts, s, l, g)
            })
        }

        $(#[$dd])*
        pub fn $none_with_grad<T: Float>(
            logits: &[T],
            targets: &[$tt],
            cols: usize,
            opts: &$ot<'_, T>,
            out: &mut [T],
            grad: &mut [T],
        ) -> Result<(), Error> {
            if logits.len() < PAR_THRESHOLD {
                return loss::$none_with_grad(logits, targets, cols, opts, out, grad);
            }
            loss::$prepare(logits.len(), ($targ)(targets), cols, opts, None, Some(out.len()), Some(grad.len()))?;
            let per: usize = ($per)(cols);
            rows_none(cols, out, Some(grad), |r0, r1, o, g| match g {
                Some(g) => loss::$none_with_grad(sub(logits, r0 * cols, r1 * cols), sub(targets, r0 * per, r1 * per), cols, opts, o, g),
                None => Ok(()),
            })
        }
    };
}

use nonlin::loss::{CrossEntropyOptions, FocalOptions, NllOptions};

row_loss!(
    cross_entropy, cross_entropy_none, cross_entropy_with_grad, cross_entropy_none_with_grad,
    prepare: cross_entropy_prepare, rows: cross_entropy_rows,
    target: i64, per_row: |_: usize| 1usize, target_arg: core::convert::identity,
    opts: CrossEntropyOptions, value_work: |n: usize, _: usize| n,
    {
        /// Parallel [`nonlin::loss::cross_entropy`]: cross-entropy from logits with
        /// class-index targets, rows split across threads in whole rows.
        ///
        /// `ℓ_i = (1-ε) w_{t_i} (-log p_{i,t_i}) + (ε/C) Σ_c w_c (-log p_{i,c})`,
        /// `log p = log_softmax(logits)` per row of `cols` classes; [`Reduction::Mean`]
        /// divides by `Σ_i w_{t_i}` over the non-ignored rows (0 when that is 0). Options
        /// (`weight`, `ignore_index`, `label_smoothing`) as in [`CrossEntropyOptions`].
        ///
        /// Bit-identical to the serial call for any number of threads: each row's `f64`
        /// loss is the serial one, and the row losses are summed with the serial block
        /// structure ([`BLOCK`] rows per block, combined in order). Domain, special rows and
        /// accuracy are the serial ones (2 ULP f32 / 4 ULP f64). Below [`PAR_THRESHOLD`]
        /// elements it is the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy`] ([`Error::InvalidShape`] for `cols`,
        /// [`Error::LengthMismatch`] for `targets` or `weight`, [`Error::InvalidParameter`]
        /// for a weight or `label_smoothing`, [`Error::IndexOutOfRange`] with the position
        /// of the first bad target), checked on the whole input before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{CrossEntropyOptions, Reduction};
        /// let cols = 10;
        /// let x: Vec<f32> = (0..cols * 9_000).map(|i| ((i * 7919) % 1000) as f32 * 0.01).collect();
        /// let t: Vec<i64> = (0..9_000).map(|i| (i % cols) as i64).collect();
        /// let opts = CrossEntropyOptions { label_smoothing: 0.1, ..Default::default() };
        /// let par = nonlin_parallel::loss::cross_entropy(&x, &t, cols, &opts, Reduction::Mean)?;
        /// let ser = nonlin::loss::cross_entropy(&x, &t, cols, &opts, Reduction::Mean)?;
        /// assert_eq!(par.to_bits(), ser.to_bits());
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::cross_entropy_none`]: per-row [`cross_entropy`]
        /// (`out[i] = ℓ_i`, 0 for ignored rows), rows split across threads. Same bits and
        /// accuracy as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_none`]; checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::CrossEntropyOptions;
        /// let rows = 40_000;
        /// let x = vec![0.0f64; 2 * rows];
        /// let t: Vec<i64> = (0..rows).map(|i| (i % 2) as i64).collect();
        /// let mut out = vec![0.0; rows];
        /// nonlin_parallel::loss::cross_entropy_none(&x, &t, 2, &CrossEntropyOptions::default(), &mut out)?;
        /// assert!(out.iter().all(|&l| l == core::f64::consts::LN_2));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::cross_entropy_with_grad`]: [`cross_entropy`] and its
        /// gradient with respect to the logits,
        /// `grad[i, k] = s [p_k ((1-ε) w_t + (ε/C) W) - (1-ε) w_t δ_{k t} - (ε/C) w_k]`
        /// (`s = 1/Σ w_{t_i}` for the mean), each gradient row written by the thread that
        /// computes its loss. Same bits (value and gradient) and accuracy as the serial call
        /// (gradient within 4 ULP f32 / 6 ULP f64).
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_with_grad`]; checked before anything is written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{CrossEntropyOptions, Reduction};
        /// let rows = 40_000;
        /// let x = vec![0.0f32; 2 * rows];
        /// let t = vec![1i64; rows];
        /// let mut g = vec![0.0f32; 2 * rows];
        /// let opts = CrossEntropyOptions::default();
        /// nonlin_parallel::loss::cross_entropy_with_grad(&x, &t, 2, &opts, Reduction::Sum, &mut g)?;
        /// assert!(g.chunks(2).all(|r| r == [0.5, -0.5]));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::cross_entropy_none_with_grad`]: per-row
        /// [`cross_entropy`] and each row's gradient (no `1/N`). Same bits as the serial
        /// call.
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_none_with_grad`]; checked before anything is
        /// written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::CrossEntropyOptions;
        /// let rows = 40_000;
        /// let (mut out, mut g) = (vec![0.0f64; rows], vec![0.0f64; 2 * rows]);
        /// let t = vec![0i64; rows];
        /// let x = vec![0.0f64; 2 * rows];
        /// nonlin_parallel::loss::cross_entropy_none_with_grad(&x, &t, 2, &CrossEntropyOptions::default(), &mut out, &mut g)?;
        /// assert!(g.chunks(2).all(|r| r == [-0.5, 0.5]));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
);

row_loss!(
    cross_entropy_probs, cross_entropy_probs_none, cross_entropy_probs_with_grad,
    cross_entropy_probs_none_with_grad,
    prepare: cross_entropy_probs_prepare, rows: cross_entropy_probs_rows,
    target: T, per_row: |c: usize| c, target_arg: <[T]>::len,
    opts: CrossEntropyOptions, value_work: |n: usize, _: usize| n,
    {
        /// Parallel [`nonlin::loss::cross_entropy_probs`]: cross-entropy from logits with
        /// class-probability targets, `ℓ_i = -Σ_c w_c t'_{i,c} log p_{i,c}`,
        /// `t' = (1-ε) t + ε/C`; [`Reduction::Mean`] divides by the number of rows
        /// (`ignore_index` is not used). Rows split across threads in whole rows.
        ///
        /// Bit-identical to the serial call for any number of threads (the serial row
        /// losses, summed with the serial block structure); accuracy as the serial call
        /// (4 ULP f32 / 6 ULP f64 for targets without cancellation between classes).
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_probs`]; checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{CrossEntropyOptions, Reduction};
        /// let rows = 40_000;
        /// let x = vec![0.0f64; 2 * rows];
        /// let t: Vec<f64> = (0..2 * rows).map(|i| if i % 2 == 0 { 0.25 } else { 0.75 }).collect();
        /// let opts = CrossEntropyOptions::default();
        /// let l = nonlin_parallel::loss::cross_entropy_probs(&x, &t, 2, &opts, Reduction::Mean)?;
        /// assert_eq!(l.to_bits(), nonlin::loss::cross_entropy_probs(&x, &t, 2, &opts, Reduction::Mean)?.to_bits());
        /// assert!((l - core::f64::consts::LN_2).abs() < 1e-15);
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::cross_entropy_probs_none`]: per-row
        /// [`cross_entropy_probs`], rows split across threads. Same bits as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_probs_none`]; checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::CrossEntropyOptions;
        /// let rows = 40_000;
        /// let x = vec![0.0f32; 2 * rows];
        /// let t: Vec<f32> = (0..2 * rows).map(|i| (i % 2) as f32).collect();
        /// let mut out = vec![0.0f32; rows];
        /// nonlin_parallel::loss::cross_entropy_probs_none(&x, &t, 2, &CrossEntropyOptions::default(), &mut out)?;
        /// assert!(out.iter().all(|&l| l == core::f32::consts::LN_2));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::cross_entropy_probs_with_grad`]:
        /// [`cross_entropy_probs`] and its gradient `grad[i, k] = s (p_k Σ_c c_c - c_k)`,
        /// `c_k = w_k t'_k` (`s = 1/rows` for the mean). Same bits (value and gradient) as
        /// the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_probs_with_grad`]; checked before anything is
        /// written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{CrossEntropyOptions, Reduction};
        /// let rows = 40_000;
        /// let x = vec![0.0f64; 2 * rows];
        /// let t: Vec<f64> = (0..2 * rows).map(|i| if i % 2 == 0 { 0.25 } else { 0.75 }).collect();
        /// let mut g = vec![0.0; 2 * rows];
        /// let opts = CrossEntropyOptions::default();
        /// nonlin_parallel::loss::cross_entropy_probs_with_grad(&x, &t, 2, &opts, Reduction::Sum, &mut g)?;
        /// assert!(g.chunks(2).all(|r| r == [0.25, -0.25]));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::cross_entropy_probs_none_with_grad`]: per-row
        /// [`cross_entropy_probs`] and each row's gradient. Same bits as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::cross_entropy_probs_none_with_grad`]; checked before anything
        /// is written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::CrossEntropyOptions;
        /// let rows = 40_000;
        /// let x = vec![0.0f32; 2 * rows];
        /// let t: Vec<f32> = (0..2 * rows).map(|i| (i % 2) as f32).collect();
        /// let (mut out, mut g) = (vec![0.0f32; rows], vec![0.0f32; 2 * rows]);
        /// nonlin_parallel::loss::cross_entropy_probs_none_with_grad(&x, &t, 2, &CrossEntropyOptions::default(), &mut out, &mut g)?;
        /// assert!(g.chunks(2).all(|r| r == [0.5, -0.5]));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
);

row_loss!(
    nll_loss, nll_loss_none, nll_loss_with_grad, nll_loss_none_with_grad,
    prepare: nll_loss_prepare, rows: nll_loss_rows,
    target: i64, per_row: |_: usize| 1usize, target_arg: core::convert::identity,
    opts: NllOptions, value_work: |_: usize, rows: usize| rows,
    {
        /// Parallel [`nonlin::loss::nll_loss`]: negative log-likelihood on
        /// log-probabilities, `ℓ_i = -w_{t_i} logp[i, t_i]`; [`Reduction::Mean`] divides by
        /// `Σ w_{t_i}` over the non-ignored rows (0 when that is 0). Rows split across
        /// threads in whole rows.
        ///
        /// The value reads one element per row, so it runs serially below
        /// [`PAR_THRESHOLD`] *rows* (the `_with_grad` forms, which write every element,
        /// below [`PAR_THRESHOLD`] elements). Bit-identical to the serial call for any
        /// number of threads; accuracy as the serial call (1 ULP f32 / 2 ULP f64).
        ///
        /// # Errors
        /// As [`nonlin::loss::nll_loss`]; checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{NllOptions, Reduction};
        /// let rows = 70_000;
        /// let logp: Vec<f32> = (0..2 * rows).map(|i| -((i % 5) as f32) * 0.5).collect();
        /// let t: Vec<i64> = (0..rows).map(|i| (i % 2) as i64).collect();
        /// let opts = NllOptions { weight: None, ignore_index: Some(0) };
        /// let par = nonlin_parallel::loss::nll_loss(&logp, &t, 2, &opts, Reduction::Mean)?;
        /// assert_eq!(par.to_bits(), nonlin::loss::nll_loss(&logp, &t, 2, &opts, Reduction::Mean)?.to_bits());
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::nll_loss_none`]: per-row [`nll_loss`] (0 for ignored
        /// rows). Same bits as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::nll_loss_none`]; checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::NllOptions;
        /// let rows = 70_000;
        /// let logp = vec![-0.5f64; 2 * rows];
        /// let mut out = vec![0.0; rows];
        /// nonlin_parallel::loss::nll_loss_none(&logp, &vec![1; rows], 2, &NllOptions::default(), &mut out)?;
        /// assert!(out.iter().all(|&l| l == 0.5));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::nll_loss_with_grad`]: [`nll_loss`] and its gradient,
        /// `-s w_{t_i}` at `[i, t_i]` and 0 elsewhere (`s = 1/Σ w_t` for the mean). Same
        /// bits (value and gradient) as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::nll_loss_with_grad`]; checked before anything is written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{NllOptions, Reduction};
        /// let rows = 40_000;
        /// let logp = vec![-0.5f32; 2 * rows];
        /// let mut g = vec![9.0f32; 2 * rows];
        /// nonlin_parallel::loss::nll_loss_with_grad(&logp, &vec![1; rows], 2, &NllOptions::default(), Reduction::Sum, &mut g)?;
        /// assert!(g.chunks(2).all(|r| r == [0.0, -1.0]));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::nll_loss_none_with_grad`]: per-row [`nll_loss`] and each
        /// row's gradient. Same bits as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::nll_loss_none_with_grad`]; checked before anything is written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::NllOptions;
        /// let rows = 40_000;
        /// let (mut out, mut g) = (vec![0.0f64; rows], vec![0.0f64; 2 * rows]);
        /// nonlin_parallel::loss::nll_loss_none_with_grad(&vec![-0.5; 2 * rows], &vec![0; rows], 2, &NllOptions::default(), &mut out, &mut g)?;
        /// assert!(out.iter().all(|&l| l == 0.5) && g.chunks(2).all(|r| r == [-1.0, 0.0]));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
);

row_loss!(
    softmax_focal_loss, softmax_focal_loss_none, softmax_focal_loss_with_grad,
    softmax_focal_loss_none_with_grad,
    prepare: softmax_focal_loss_prepare, rows: softmax_focal_loss_rows,
    target: i64, per_row: |_: usize| 1usize, target_arg: core::convert::identity,
    opts: FocalOptions, value_work: |n: usize, _: usize| n,
    {
        /// Parallel [`nonlin::loss::softmax_focal_loss`]: multi-class focal loss from
        /// logits, `ℓ_i = -α_{t_i} (1 - p_{i,t_i})^γ log p_{i,t_i}` with
        /// `p = softmax(logits)` per row; [`Reduction::Mean`] divides by the number of
        /// non-ignored rows (0 when there are none). Rows split across threads.
        ///
        /// Bit-identical to the serial call for any number of threads (serial row losses,
        /// serial block structure); domain, special values and accuracy as the serial call
        /// (f32 within 4 ULP; f64 as documented there).
        ///
        /// # Errors
        /// As [`nonlin::loss::softmax_focal_loss`] (`gamma` negative or not finite, bad
        /// `alpha`, shapes, the first bad target); checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{FocalOptions, Reduction};
        /// let cols = 5;
        /// let x: Vec<f32> = (0..cols * 20_000).map(|i| ((i * 31) % 17) as f32 - 8.0).collect();
        /// let t: Vec<i64> = (0..20_000).map(|i| (i % cols) as i64).collect();
        /// let opts = FocalOptions { gamma: 0.5f32, ..Default::default() };
        /// let par = nonlin_parallel::loss::softmax_focal_loss(&x, &t, cols, &opts, Reduction::Mean)?;
        /// let ser = nonlin::loss::softmax_focal_loss(&x, &t, cols, &opts, Reduction::Mean)?;
        /// assert_eq!(par.to_bits(), ser.to_bits());
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::softmax_focal_loss_none`]: per-row
        /// [`softmax_focal_loss`] (0 for ignored rows). Same bits as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::softmax_focal_loss_none`]; checked before any thread starts.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::FocalOptions;
        /// let rows = 40_000;
        /// let mut out = vec![0.0f64; rows];
        /// let opts = FocalOptions { gamma: 2.0, ..Default::default() };
        /// nonlin_parallel::loss::softmax_focal_loss_none(&vec![0.0; 2 * rows], &vec![0; rows], 2, &opts, &mut out)?;
        /// assert!(out.iter().all(|&l| (l - 0.25 * core::f64::consts::LN_2).abs() < 1e-16));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::softmax_focal_loss_with_grad`]: [`softmax_focal_loss`]
        /// and its gradient `grad[i, k] = s α_t G (p_k - δ_{k t})`,
        /// `G = (1-p_t)^γ + γ p_t (-log p_t) (1-p_t)^{γ-1}` (`s = 1/N` counted rows for the
        /// mean). Same bits (value and gradient) as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::softmax_focal_loss_with_grad`]; checked before anything is
        /// written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::{FocalOptions, Reduction};
        /// let rows = 40_000;
        /// let mut g = vec![0.0f64; 2 * rows];
        /// let opts = FocalOptions { gamma: 0.0, ..Default::default() };
        /// nonlin_parallel::loss::softmax_focal_loss_with_grad(&vec![0.0; 2 * rows], &vec![1; rows], 2, &opts, Reduction::Sum, &mut g)?;
        /// assert!(g.chunks(2).all(|r| r == [0.5, -0.5])); // gamma = 0: cross-entropy
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
    {
        /// Parallel [`nonlin::loss::softmax_focal_loss_none_with_grad`]: per-row
        /// [`softmax_focal_loss`] and each row's gradient. Same bits as the serial call.
        ///
        /// # Errors
        /// As [`nonlin::loss::softmax_focal_loss_none_with_grad`]; checked before anything
        /// is written.
        ///
        /// # Example
        /// ```
        /// use nonlin::loss::FocalOptions;
        /// let rows = 40_000;
        /// let (mut out, mut g) = (vec![0.0f32; rows], vec![0.0f32; 2 * rows]);
        /// let x: Vec<f32> = (0..2 * rows).map(|i| if i % 2 == 0 { 40.0 } else { 0.0 }).collect();
        /// let opts = FocalOptions { gamma: 0.3, ..Default::default() };
        /// nonlin_parallel::loss::softmax_focal_loss_none_with_grad(&x, &vec![0; rows], 2, &opts, &mut out, &mut g)?;
        /// assert!(out.iter().all(|&l| l > 0.0) && g.iter().all(|v| v.is_finite()));
        /// # Ok::<(), nonlin::Error>(())
        /// ```
    }
);

// ---------------------------------------------------------------------------------------
// Element-wise (`_none`) forms of the element-wise losses, and kl_div_batchmean.

macro_rules! pair_none {
    ($none:ident, $none_grad:ident, ($($p:ident: $pt:ty),*), $ex:literal) => {
        #[doc = concat!("Parallel [`nonlin::loss::", stringify!($none), "`]: the element-wise loss (reduction \"none\"),")]
        /// split across threads like the activations. Each element's value is the serial one
        /// (the same lane code at any position), so the bits are the serial bits; formula,
        /// domain, special values and accuracy are those of the serial function.
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::loss::", stringify!($none), "`] (lengths, parameters), before any thread starts.")]
        ///
        /// # Example
        /// ```
        /// let n = 70_001;
        /// let p: Vec<f32> = (0..n).map(|i| (i % 13) as f32 * 0.1 - 0.6).collect();
        /// let t: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
        /// let (mut par, mut ser) = (vec![0.0f32; n], vec![0.0f32; n]);
        #[doc = concat!("nonlin_parallel::loss::", stringify!($none), "(&p, &t, ", $ex, "&mut par)?;")]
        #[doc = concat!("nonlin::loss::", stringify!($none), "(&p, &t, ", $ex, "&mut ser)?;")]
        /// assert_eq!(par, ser);
        /// # Ok::<(), nonlin::Error>(())
        /// ```
        pub fn $none<T: Float>(pred: &[T], target: &[T], $($p: $pt,)* out: &mut [T]) -> Result<(), Error> {
            let n = pred.len();
            if n < PAR_THRESHOLD || target.len() != n || out.len() != n {
                return loss::$none(pred, target, $($p,)* out);
            }
            loss::$none(&pred[..0], &target[..0], $($p,)* &mut out[..0])?;
            let c = crate::chunk_len(n);
            out.par_chunks_mut(c).enumerate().try_for_each(|(i, oc)| {
                let (a, b) = (i * c, i * c + oc.len());
                loss::$none(sub(pred, a, b), sub(target, a, b), $($p,)* oc)
            })
        }

        #[doc = concat!("Parallel [`nonlin::loss::", stringify!($none_grad), "`]: the element-wise loss and its")]
        /// gradient, split across threads; the serial bits, formula and accuracy.
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::loss::", stringify!($none_grad), "`], before any thread starts.")]
        ///
        /// # Example
        /// ```
        /// let n = 70_001;
        /// let p: Vec<f64> = (0..n).map(|i| (i % 13) as f64 * 0.1 - 0.6).collect();
        /// let t: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        /// let (mut o1, mut g1, mut o2, mut g2) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        #[doc = concat!("nonlin_parallel::loss::", stringify!($none_grad), "(&p, &t, ", $ex, "&mut o1, &mut g1)?;")]
        #[doc = concat!("nonlin::loss::", stringify!($none_grad), "(&p, &t, ", $ex, "&mut o2, &mut g2)?;")]
        /// assert!(o1 == o2 && g1 == g2);
        /// # Ok::<(), nonlin::Error>(())
        /// ```
        pub fn $none_grad<T: Float>(pred: &[T], target: &[T], $($p: $pt,)* out: &mut [T], grad: &mut [T]) -> Result<(), Error> {
            let n = pred.len();
            if n < PAR_THRESHOLD || target.len() != n || out.len() != n || grad.len() != n {
                return loss::$none_grad(pred, target, $($p,)* out, grad);
            }
            loss::$none_grad(&pred[..0], &target[..0], $($p,)* &mut out[..0], &mut grad[..0])?;
            let c = crate::chunk_len(n);
            out.par_chunks_mut(c).zip(grad.par_chunks_mut(c)).enumerate().try_for_each(|(i, (oc, gc))| {
                let (a, b) = (i * c, i * c + oc.len());
                loss::$none_grad(sub(pred, a, b), sub(target, a, b), $($p,)* oc, gc)
            })
        }
    };
}

pair_none!(mse_none, mse_none_with_grad, (), "");
pair_none!(l1_none, l1_none_with_grad, (), "");
pair_none!(huber_none, huber_none_with_grad, (delta: T), "0.5, ");
pair_none!(smooth_l1_none, smooth_l1_none_with_grad, (beta: T), "0.5, ");
pair_none!(
    sigmoid_focal_loss_none,
    sigmoid_focal_loss_none_with_grad,
    (alpha: T, gamma: T),
    "0.25, 2.0, "
);
pair_none!(kl_div_none, kl_div_none_with_grad, (log_target: bool), "true, ");

/// Element offsets of parallel chunks for `bce_with_logits` forms: a multiple of the class
/// count (so that each chunk starts at class 0, as the serial `_none` call assumes).
fn class_chunk(n: usize, classes: usize) -> usize {
    let c = classes.max(1);
    (crate::chunk_len(n) / c).max(1) * c
}

/// Parallel [`nonlin::loss::bce_with_logits_none`]: element-wise binary cross-entropy from
/// logits, `ℓ_i = w_i [pw_c t_i softplus(-x_i) + (1 - t_i) softplus(x_i)]`, split across
/// threads at multiples of the class count (`pos_weight.len()`). The serial bits, domain,
/// special values and accuracy (≤ 3 ULP per term, f32 and f64).
///
/// # Errors
/// As [`nonlin::loss::bce_with_logits_none`], before any thread starts.
///
/// # Example
/// ```
/// let n = 70_002;
/// let x: Vec<f32> = (0..n).map(|i| (i % 11) as f32 - 5.0).collect();
/// let t: Vec<f32> = (0..n).map(|i| (i % 2) as f32).collect();
/// let pw = [1.0f32, 3.0];
/// let (mut par, mut ser) = (vec![0.0f32; n], vec![0.0f32; n]);
/// nonlin_parallel::loss::bce_with_logits_none(&x, &t, None, Some(&pw), &mut par)?;
/// nonlin::loss::bce_with_logits_none(&x, &t, None, Some(&pw), &mut ser)?;
/// assert_eq!(par, ser);
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits_none<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    out: &mut [T],
) -> Result<(), Error> {
    let n = logits.len();
    let shape_ok = pos_weight.is_none_or(|p| !p.is_empty() && n.is_multiple_of(p.len()));
    if n < PAR_THRESHOLD
        || target.len() != n
        || out.len() != n
        || weight.is_some_and(|w| w.len() != n)
        || !shape_ok
    {
        return loss::bce_with_logits_none(logits, target, weight, pos_weight, out);
    }
    let c = class_chunk(n, pos_weight.map_or(1, <[T]>::len));
    out.par_chunks_mut(c).enumerate().try_for_each(|(i, oc)| {
        let (a, b) = (i * c, i * c + oc.len());
        loss::bce_with_logits_none(
            sub(logits, a, b),
            sub(target, a, b),
            weight.map(|w| sub(w, a, b)),
            pos_weight,
            oc,
        )
    })
}

/// Parallel [`nonlin::loss::bce_with_logits_none_with_grad`]: element-wise
/// [`bce_with_logits_none`] and its gradient `w_i [(1 - t_i) σ(x_i) - pw_c t_i σ(-x_i)]`.
/// The serial bits and accuracy.
///
/// # Errors
/// As [`nonlin::loss::bce_with_logits_none_with_grad`], before any thread starts.
///
/// # Example
/// ```
/// let n = 70_000;
/// let (mut o, mut g) = (vec![0.0f64; n], vec![0.0f64; n]);
/// nonlin_parallel::loss::bce_with_logits_none_with_grad(&vec![0.0; n], &vec![1.0; n], None, None, &mut o, &mut g)?;
/// assert!(g.iter().all(|&v| v == -0.5));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn bce_with_logits_none_with_grad<T: Float>(
    logits: &[T],
    target: &[T],
    weight: Option<&[T]>,
    pos_weight: Option<&[T]>,
    out: &mut [T],
    grad: &mut [T],
) -> Result<(), Error> {
    let n = logits.len();
    let shape_ok = pos_weight.is_none_or(|p| !p.is_empty() && n.is_multiple_of(p.len()));
    if n < PAR_THRESHOLD
        || target.len() != n
        || out.len() != n
        || grad.len() != n
        || weight.is_some_and(|w| w.len() != n)
        || !shape_ok
    {
        return loss::bce_with_logits_none_with_grad(logits, target, weight, pos_weight, out, grad);
    }
    let c = class_chunk(n, pos_weight.map_or(1, <[T]>::len));
    out.par_chunks_mut(c)
        .zip(grad.par_chunks_mut(c))
        .enumerate()
        .try_for_each(|(i, (oc, gc))| {
            let (a, b) = (i * c, i * c + oc.len());
            loss::bce_with_logits_none_with_grad(
                sub(logits, a, b),
                sub(target, a, b),
                weight.map(|w| sub(w, a, b)),
                pos_weight,
                oc,
                gc,
            )
        })
}

/// Parallel [`nonlin::loss::kl_div_batchmean`]: `Σ_i ℓ_i / batch` (PyTorch's
/// `reduction="batchmean"`), the sum in the serial block structure. Same bits and accuracy
/// as the serial call.
///
/// # Errors
/// As [`nonlin::loss::kl_div_batchmean`] (lengths; [`Error::InvalidShape`] naming `batch`
/// if it is 0 or does not divide the length), before any thread starts.
///
/// # Example
/// ```
/// let n = 70_000;
/// let x: Vec<f64> = (0..n).map(|i| -1.0 - (i % 7) as f64 * 0.1).collect();
/// let t: Vec<f64> = (0..n).map(|i| 0.1 + (i % 5) as f64 * 0.05).collect();
/// let par = nonlin_parallel::loss::kl_div_batchmean(&x, &t, false, 100)?;
/// assert_eq!(par.to_bits(), nonlin::loss::kl_div_batchmean(&x, &t, false, 100)?.to_bits());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_batchmean<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    batch: usize,
) -> Result<T, Error> {
    let n = input.len();
    if n < PAR_THRESHOLD || target.len() != n || batch == 0 || !n.is_multiple_of(batch) {
        return loss::kl_div_batchmean(input, target, log_target, batch);
    }
    let total = fold_blocks::<T>(n, None, |a, b, _| {
        loss::kl_div_partial(
            sub(input, a, b),
            sub(target, a, b),
            log_target,
            T::ONE,
            None,
        )
    })?;
    Ok(loss::finish_loss(total, batch, Reduction::Mean))
}

/// Parallel [`nonlin::loss::kl_div_batchmean_with_grad`]: [`kl_div_batchmean`] and its
/// gradient (`grad_i = -t_i / batch`, or `-e^{t_i} / batch` for log targets). Same bits.
///
/// # Errors
/// As [`nonlin::loss::kl_div_batchmean_with_grad`], before anything is written.
///
/// # Example
/// ```
/// let n = 70_000;
/// let mut g = vec![0.0f32; n];
/// nonlin_parallel::loss::kl_div_batchmean_with_grad(&vec![-1.0; n], &vec![0.5; n], false, 2, &mut g)?;
/// assert!(g.iter().all(|&v| v == -0.25));
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn kl_div_batchmean_with_grad<T: Float>(
    input: &[T],
    target: &[T],
    log_target: bool,
    batch: usize,
    grad: &mut [T],
) -> Result<T, Error> {
    let n = input.len();
    if n < PAR_THRESHOLD
        || target.len() != n
        || grad.len() != n
        || batch == 0
        || !n.is_multiple_of(batch)
    {
        return loss::kl_div_batchmean_with_grad(input, target, log_target, batch, grad);
    }
    let scale = grad_scale::<T>(batch, Reduction::Mean);
    let total = fold_blocks(n, Some(grad), |a, b, g| {
        loss::kl_div_partial(sub(input, a, b), sub(target, a, b), log_target, scale, g)
    })?;
    Ok(loss::finish_loss(total, batch, Reduction::Mean))
}
