//! Parallel row-wise softmax family: rows are split across threads (each row is computed
//! by exactly the serial kernel, so the bits are the serial bits).

use crate::CHUNK;
use crate::PAR_THRESHOLD;
use nonlin::{Error, Float, SoftmaxOptions};
use rayon::prelude::*;

/// Rows per parallel task: about [`CHUNK`] elements, at least one row.
fn rows_per_task(cols: usize) -> usize {
    (CHUNK / cols.max(1)).max(1)
}

fn shape_ok(len: usize, cols: usize) -> bool {
    cols > 0 && len.is_multiple_of(cols)
}

macro_rules! rows_fwd {
    ($($name:ident ($($p:ident: $pt:ty),*) => $out_per_row:expr;)*) => {$(
        #[doc = concat!("Parallel [`nonlin::", stringify!($name), "`](fn@nonlin::", stringify!($name), ") (rows split across threads): same bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($name), "`](fn@nonlin::", stringify!($name), ").")]
        pub fn $name<T: Float>(x: &[T], cols: usize, $($p: $pt,)* out: &mut [T]) -> Result<(), Error> {
            let per_row: usize = $out_per_row(cols);
            let rows = if cols > 0 { x.len() / cols } else { 0 };
            if x.len() < PAR_THRESHOLD || !shape_ok(x.len(), cols) || out.len() != rows * per_row {
                return nonlin::$name(x, cols, $($p,)* out);
            }
            // Parameters checked before any thread starts.
            nonlin::$name(&x[..0], cols, $($p,)* &mut out[..0])?;
            let r = rows_per_task(cols);
            x.par_chunks(r * cols)
                .zip(out.par_chunks_mut(r * per_row))
                .try_for_each(|(xc, oc)| nonlin::$name(xc, cols, $($p,)* oc))
        }
    )*};
}

rows_fwd! {
    softmax() => |c| c;
    log_softmax() => |c| c;
    logsumexp() => |_| 1;
    softmax_temperature(temperature: T) => |c| c;
    log_softmax_temperature(temperature: T) => |c| c;
    logsumexp_temperature(temperature: T) => |_| 1;
    softmax_with(options: SoftmaxOptions<T>) => |c| c;
    log_softmax_with(options: SoftmaxOptions<T>) => |c| c;
}

macro_rules! rows_bwd {
    ($($name:ident ($($p:ident: $pt:ty),*);)*) => {$(
        #[doc = concat!("Parallel [`nonlin::", stringify!($name), "`](fn@nonlin::", stringify!($name), ") (rows split across threads): same bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($name), "`](fn@nonlin::", stringify!($name), ").")]
        pub fn $name<T: Float>(y: &[T], grad_out: &[T], cols: usize, $($p: $pt,)* grad_in: &mut [T]) -> Result<(), Error> {
            if y.len() < PAR_THRESHOLD || !shape_ok(y.len(), cols) || grad_out.len() != y.len() || grad_in.len() != y.len() {
                return nonlin::$name(y, grad_out, cols, $($p,)* grad_in);
            }
            nonlin::$name(&y[..0], &grad_out[..0], cols, $($p,)* &mut grad_in[..0])?;
            let c = rows_per_task(cols) * cols;
            y.par_chunks(c)
                .zip(grad_out.par_chunks(c))
                .zip(grad_in.par_chunks_mut(c))
                .try_for_each(|((yc, gc), ic)| nonlin::$name(yc, gc, cols, $($p,)* ic))
        }
    )*};
}

rows_bwd! {
    softmax_backward();
    log_softmax_backward();
    softmax_temperature_backward(temperature: T);
    log_softmax_temperature_backward(temperature: T);
}
