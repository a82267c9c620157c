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
