//! # nonlin-parallel
//!
//! The `nonlin` kernels over all cores with rayon, **bit-identical to the serial calls** for
//! any number of threads.
//!
//! Same names, signatures and errors as `nonlin`. Element-wise kernels are position
//! independent (an element's result depends only on its value), so any split gives the
//! serial bits; row-wise kernels split between rows; loss sums use `nonlin`'s fixed block
//! structure and combine the blocks in order.
//!
//! - **Never slower than serial:** below [`PAR_THRESHOLD`] elements a call runs serially on
//!   the calling thread; above it, work is split into chunks of at least [`CHUNK`] elements.
//!   The threshold's measurement (command, flags, numbers) is documented on
//!   [`PAR_THRESHOLD`].
//! - **Every operation:** the activations (also through [`activation`] for the runtime
//!   [`Activation`] enum), the softmax family (rows split between threads), every loss in
//!   [`loss`] with its fused gradient and `_none` forms, and the diagnostics
//!   ([`activation_stats`], [`saturated_fraction`]).
//! - **Runs in the caller's pool:** inside `ThreadPool::install` the work runs on that pool;
//!   [`in_pool`] is a shorthand. This crate keeps no global state of its own.
//! - **Errors before threads:** every argument is checked before any thread starts; on `Err`
//!   nothing has been written.
//!
//! ```
//! let x: Vec<f32> = (0..1_000_000).map(|i| i as f32 * 1e-5 - 5.0).collect();
//! let mut par = vec![0.0f32; x.len()];
//! let mut ser = vec![0.0f32; x.len()];
//! nonlin_parallel::gelu(&x, &mut par)?;
//! nonlin::gelu(&x, &mut ser)?;
//! assert!(par.iter().zip(&ser).all(|(a, b)| a.to_bits() == b.to_bits()));
//! # Ok::<(), nonlin::Error>(())
//! ```

use nonlin::{Error, Float};
use rayon::prelude::*;

pub use nonlin::{Activation, ActivationStats, Squash};

/// Below this many elements a call runs serially on the calling thread (for `nll_loss`
/// without a gradient, which reads one element per row: below this many rows).
///
/// # How it was chosen
/// Measured with
/// `cargo run --release -p nonlin-benches --bin par_threshold` (default `RUSTFLAGS`, i.e.
/// x86-64 baseline SSE2, no FMA): in a 2-thread rayon pool, for relu (cheap, copy-bound),
/// sigmoid (mid), gelu and mish (expensive), softmax and `cross_entropy_with_grad` on rows
/// of 1000, at 1K..256K f32 elements, it times the serial call, the same call split in two
/// halves through `rayon::join` (the best split at that size, whatever the threshold), and
/// this crate's call, interleaved, median of 31 samples of ~0.2 ms batches.
///
/// - At 4,096 elements this crate's call is the serial call: measured 0.99x-1.02x of
///   serial for every kernel (relu 0.91x, timer noise at 0.6 us), within the 5% required.
/// - Serial per-element costs (default build): relu 0.15 ns, sigmoid 4.9 ns, gelu 10.5 ns,
///   mish 9.7 ns, softmax 2.6 ns, `cross_entropy_with_grad` 2.7 ns. A wake-and-join of a
///   sleeping rayon worker costs about 5-20 us, so a split cannot pay below ~10 us of work
///   per half: for relu that is above 64K elements, for gelu about 2K-4K.
/// - The crossover of the two-way split could not be observed on the loaded machine (2
///   cores shared with other builds, load average 6-10): `split2 / serial` stayed at
///   0.97-1.08 at every size up to 256K for every kernel.
/// - Rerun on the idle machine (load average below 1, nothing else running; three runs
///   of the binary, default build): the best samples put the two-way split's 10% gain
///   at 2K-8K elements for gelu, mish and the softmax / cross-entropy rows, 8K-256K for
///   sigmoid, never for relu up to 256K; the medians moved between 2K and "none up to
///   256K" from one run to the next, and in every run `split2` measured directly after
///   the serial call was 4-13% slower than serial at 64K-128K elements, where this
///   crate's own call at 64K was 0.53-0.85x of serial. The spread is the wake-up of a
///   parked rayon worker (5-20 us), paid by whichever call runs first after it parked,
///   not the work; a measurement that separates the two is needed before a per-class
///   threshold (about 8K for gelu, mish and softmax rows) could be defended.
/// - 64K is therefore kept: the value at which the cheapest kernel's work per half
///   (~5 us) is of the order of the join cost, so the split costs at most a few percent
///   where it does not gain, and at which every kernel's measured crossover (best
///   samples) has been passed.
///
/// Rerun the binary (and with `RUSTFLAGS='-C target-cpu=native'` in its own
/// `CARGO_TARGET_DIR`) before changing this value.
pub const PAR_THRESHOLD: usize = 1 << 16;

/// Minimum elements per parallel chunk (a multiple of every lane width): 32K f32 elements
/// are 128 KiB per slice, large enough that scheduling costs are noise and small enough to
/// stay in L2 with its output.
pub const CHUNK: usize = 1 << 15;

/// Runs `f` on `pool` (a shorthand for `pool.install(f)`): every `nonlin_parallel` call made
/// inside uses that pool's threads.
pub fn in_pool<R: Send>(pool: &rayon::ThreadPool, f: impl FnOnce() -> R + Send) -> R {
    pool.install(f)
}

fn chunk_len(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    // A few chunks per thread for balance, never below CHUNK.
    let per = n.div_ceil(threads * 4);
    per.max(CHUNK).next_multiple_of(64)
}

/// `out = f(x)` split across threads, after `check` validated the arguments.
fn par_map<T: Float>(
    x: &[T],
    out: &mut [T],
    f: impl Fn(&[T], &mut [T]) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    if x.len() != out.len() {
        // The serial call reports the exact error (argument name and lengths), writing nothing.
        return f(x, out);
    }
    // Validate parameters on an empty call before any thread starts.
    f(&[], &mut [])?;
    if x.len() < PAR_THRESHOLD {
        return f(x, out);
    }
    let c = chunk_len(x.len());
    x.par_chunks(c)
        .zip(out.par_chunks_mut(c))
        .try_for_each(|(xc, oc)| f(xc, oc))
}

/// `grad_in = f(x, grad_out)` split across threads.
fn par_map2<T: Float>(
    x: &[T],
    g: &[T],
    out: &mut [T],
    f: impl Fn(&[T], &[T], &mut [T]) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    if x.len() != g.len() || x.len() != out.len() {
        // The serial call produces the exact error (argument name and lengths).
        return f(x, g, out);
    }
    f(&[], &[], &mut [])?;
    if x.len() < PAR_THRESHOLD {
        return f(x, g, out);
    }
    let c = chunk_len(x.len());
    x.par_chunks(c)
        .zip(g.par_chunks(c))
        .zip(out.par_chunks_mut(c))
        .try_for_each(|((xc, gc), oc)| f(xc, gc, oc))
}

/// In-place map split across threads.
fn par_inplace<T: Float>(
    x: &mut [T],
    f: impl Fn(&mut [T]) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    f(&mut [])?;
    if x.len() < PAR_THRESHOLD {
        return f(x);
    }
    let c = chunk_len(x.len());
    x.par_chunks_mut(c).try_for_each(&f)
}

macro_rules! unary {
    ($($name:ident, $inplace:ident, $deriv:ident, $backward:ident;)*) => {$(
        #[doc = concat!("Parallel [`nonlin::", stringify!($name), "`]: same result bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($name), "`].")]
        pub fn $name<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
            par_map(x, out, |a, b| nonlin::$name(a, b))
        }
        #[doc = concat!("Parallel [`nonlin::", stringify!($inplace), "`].")]
        pub fn $inplace<T: Float>(x: &mut [T]) {
            let _ = par_inplace(x, |a| {
                nonlin::$inplace(a);
                Ok(())
            });
        }
        #[doc = concat!("Parallel [`nonlin::", stringify!($deriv), "`].")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($deriv), "`].")]
        pub fn $deriv<T: Float>(x: &[T], out: &mut [T]) -> Result<(), Error> {
            par_map(x, out, |a, b| nonlin::$deriv(a, b))
        }
        #[doc = concat!("Parallel [`nonlin::", stringify!($backward), "`].")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($backward), "`].")]
        pub fn $backward<T: Float>(x: &[T], grad_out: &[T], grad_in: &mut [T]) -> Result<(), Error> {
            par_map2(x, grad_out, grad_in, |a, g, b| nonlin::$backward(a, g, b))
        }
    )*};
}

macro_rules! unary_param {
    ($($name:ident, $inplace:ident, $deriv:ident, $backward:ident, $p:ident;)*) => {$(
        #[doc = concat!("Parallel [`nonlin::", stringify!($name), "`]: same result bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($name), "`].")]
        pub fn $name<T: Float>(x: &[T], $p: T, out: &mut [T]) -> Result<(), Error> {
            par_map(x, out, |a, b| nonlin::$name(a, $p, b))
        }
        #[doc = concat!("Parallel [`nonlin::", stringify!($inplace), "`].")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($inplace), "`].")]
        pub fn $inplace<T: Float>(x: &mut [T], $p: T) -> Result<(), Error> {
            par_inplace(x, |a| nonlin::$inplace(a, $p))
        }
        #[doc = concat!("Parallel [`nonlin::", stringify!($deriv), "`].")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($deriv), "`].")]
        pub fn $deriv<T: Float>(x: &[T], $p: T, out: &mut [T]) -> Result<(), Error> {
            par_map(x, out, |a, b| nonlin::$deriv(a, $p, b))
        }
        #[doc = concat!("Parallel [`nonlin::", stringify!($backward), "`].")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($backward), "`].")]
        pub fn $backward<T: Float>(x: &[T], grad_out: &[T], $p: T, grad_in: &mut [T]) -> Result<(), Error> {
            par_map2(x, grad_out, grad_in, |a, g, b| nonlin::$backward(a, g, $p, b))
        }
    )*};
}

unary! {
    sigmoid, sigmoid_inplace, sigmoid_derivative, sigmoid_backward;
    tanh, tanh_inplace, tanh_derivative, tanh_backward;
    relu, relu_inplace, relu_derivative, relu_backward;
    relu6, relu6_inplace, relu6_derivative, relu6_backward;
    selu, selu_inplace, selu_derivative, selu_backward;
    gelu, gelu_inplace, gelu_derivative, gelu_backward;
    gelu_tanh, gelu_tanh_inplace, gelu_tanh_derivative, gelu_tanh_backward;
    silu, silu_inplace, silu_derivative, silu_backward;
    mish, mish_inplace, mish_derivative, mish_backward;
    log_sigmoid, log_sigmoid_inplace, log_sigmoid_derivative, log_sigmoid_backward;
    hardsigmoid, hardsigmoid_inplace, hardsigmoid_derivative, hardsigmoid_backward;
    hardswish, hardswish_inplace, hardswish_derivative, hardswish_backward;
    softsign, softsign_inplace, softsign_derivative, softsign_backward;
}

unary_param! {
    leaky_relu, leaky_relu_inplace, leaky_relu_derivative, leaky_relu_backward, slope;
    elu, elu_inplace, elu_derivative, elu_backward, alpha;
    celu, celu_inplace, celu_derivative, celu_backward, alpha;
    swish, swish_inplace, swish_derivative, swish_backward, beta;
    softplus, softplus_inplace, softplus_derivative, softplus_backward, beta;
}

pub mod loss;
mod softmax;
pub use softmax::*;

macro_rules! gated {
    ($($name:ident, $backward:ident;)*) => {$(
        #[doc = concat!("Parallel [`nonlin::", stringify!($name), "`]: same bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($name), "`].")]
        pub fn $name<T: Float>(value: &[T], gate: &[T], out: &mut [T]) -> Result<(), Error> {
            par_map2(value, gate, out, |v, g, o| nonlin::$name(v, g, o))
        }

        #[doc = concat!("Parallel [`nonlin::", stringify!($backward), "`]: same bits, same errors.")]
        ///
        /// # Errors
        #[doc = concat!("As [`nonlin::", stringify!($backward), "`].")]
        pub fn $backward<T: Float>(
            value: &[T],
            gate: &[T],
            grad_out: &[T],
            grad_value: &mut [T],
            grad_gate: &mut [T],
        ) -> Result<(), Error> {
            let n = value.len();
            if n < PAR_THRESHOLD || gate.len() != n || grad_out.len() != n || grad_value.len() != n || grad_gate.len() != n {
                return nonlin::$backward(value, gate, grad_out, grad_value, grad_gate);
            }
            let c = chunk_len(n);
            value
                .par_chunks(c)
                .zip(gate.par_chunks(c))
                .zip(grad_out.par_chunks(c))
                .zip(grad_value.par_chunks_mut(c))
                .zip(grad_gate.par_chunks_mut(c))
                .try_for_each(|((((v, g), go), gv), gg)| nonlin::$backward(v, g, go, gv, gg))
        }
    )*};
}

gated! {
    glu, glu_backward;
    swiglu, swiglu_backward;
    geglu, geglu_backward;
}

/// Parallel [`nonlin::prelu`] (rows of `slopes.len()` channels split across threads).
///
/// # Errors
/// As [`nonlin::prelu`].
pub fn prelu<T: Float>(x: &[T], slopes: &[T], out: &mut [T]) -> Result<(), Error> {
    let ch = slopes.len();
    if x.len() < PAR_THRESHOLD || ch == 0 || !x.len().is_multiple_of(ch) || out.len() != x.len() {
        return nonlin::prelu(x, slopes, out);
    }
    let c = (CHUNK / ch).max(1) * ch;
    x.par_chunks(c)
        .zip(out.par_chunks_mut(c))
        .try_for_each(|(xc, oc)| nonlin::prelu(xc, slopes, oc))
}

/// Parallel [`nonlin::activation_stats`] (integer counts: identical for any split).
pub fn activation_stats<T: Float>(x: &[T]) -> ActivationStats {
    if x.len() < PAR_THRESHOLD {
        return nonlin::activation_stats(x);
    }
    x.par_chunks(chunk_len(x.len()))
        .map(nonlin::activation_stats)
        .reduce(ActivationStats::default, |a, b| ActivationStats {
            len: a.len + b.len,
            active: a.active + b.active,
            nan: a.nan + b.nan,
            inf: a.inf + b.inf,
        })
}

/// Parallel [`nonlin::hardtanh`]: same bits, same errors.
///
/// # Errors
/// As [`nonlin::hardtanh`].
pub fn hardtanh<T: Float>(x: &[T], min_val: T, max_val: T, out: &mut [T]) -> Result<(), Error> {
    par_map(x, out, |a, b| nonlin::hardtanh(a, min_val, max_val, b))
}

/// Parallel [`nonlin::hardtanh_inplace`].
///
/// # Errors
/// As [`nonlin::hardtanh_inplace`].
pub fn hardtanh_inplace<T: Float>(x: &mut [T], min_val: T, max_val: T) -> Result<(), Error> {
    par_inplace(x, |a| nonlin::hardtanh_inplace(a, min_val, max_val))
}

/// Parallel [`nonlin::hardtanh_derivative`].
///
/// # Errors
/// As [`nonlin::hardtanh_derivative`].
pub fn hardtanh_derivative<T: Float>(
    x: &[T],
    min_val: T,
    max_val: T,
    out: &mut [T],
) -> Result<(), Error> {
    par_map(x, out, |a, b| {
        nonlin::hardtanh_derivative(a, min_val, max_val, b)
    })
}

/// Parallel [`nonlin::hardtanh_backward`].
///
/// # Errors
/// As [`nonlin::hardtanh_backward`].
pub fn hardtanh_backward<T: Float>(
    x: &[T],
    grad_out: &[T],
    min_val: T,
    max_val: T,
    grad_in: &mut [T],
) -> Result<(), Error> {
    par_map2(x, grad_out, grad_in, |a, g, b| {
        nonlin::hardtanh_backward(a, g, min_val, max_val, b)
    })
}

/// Parallel [`nonlin::saturated_fraction`]: the fraction of `x` whose sigmoid or tanh output
/// is within `eps` of its bounds (`|x|` above the exact threshold; ±inf counts, NaN does
/// not). The count is an integer summed over chunks, so the result is the serial one for
/// any number of threads.
///
/// # Errors
/// As [`nonlin::saturated_fraction`]: [`Error::InvalidParameter`] naming `eps` unless it is
/// in `(0, 0.5)`, checked before any thread starts.
///
/// # Example
/// ```
/// use nonlin::Squash;
/// let x: Vec<f32> = (0..200_001).map(|i| (i % 20) as f32 - 10.0).collect();
/// let f = nonlin_parallel::saturated_fraction(&x, Squash::Tanh, 1e-3)?;
/// assert_eq!(f, nonlin::saturated_fraction(&x, Squash::Tanh, 1e-3)?);
/// assert!(nonlin_parallel::saturated_fraction(&x, Squash::Sigmoid, 0.7).is_err());
/// # Ok::<(), nonlin::Error>(())
/// ```
pub fn saturated_fraction<T: Float>(x: &[T], squash: Squash, eps: f64) -> Result<f64, Error> {
    nonlin::saturated_fraction(&x[..0], squash, eps)?;
    if x.len() < PAR_THRESHOLD {
        return nonlin::saturated_fraction(x, squash, eps);
    }
    let c = chunk_len(x.len());
    // Each chunk's fraction is `count / len` rounded once, so `fraction * len` rounds back to
    // the exact count (the error is below 1/2 for any count under 2^51).
    let count: usize = x
        .par_chunks(c)
        .map(|ch| {
            nonlin::saturated_fraction(ch, squash, eps)
                .map(|f| (f * ch.len() as f64).round() as usize)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    Ok(count as f64 / x.len() as f64)
}

/// The [`Activation`] enum's entry points over all cores: the same dispatch as
/// [`Activation::forward`], [`Activation::forward_inplace`], [`Activation::derivative`]
/// and [`Activation::backward`], with the same bits and errors.
pub mod activation {
    use crate::{par_inplace, par_map, par_map2};
    use nonlin::{Activation, Error, Float};

    /// Parallel [`Activation::forward`]: `out[i] = f(x[i])` for the activation `act`.
    ///
    /// Accuracy: the kernel's own (see its `nonlin` function). Same bits as the serial call.
    ///
    /// # Errors
    /// As [`Activation::forward`] (length mismatch, invalid parameter), before any thread
    /// starts.
    ///
    /// # Example
    /// ```
    /// use nonlin::Activation;
    /// let x: Vec<f32> = (0..100_000).map(|i| i as f32 * 1e-4 - 5.0).collect();
    /// let act = Activation::LeakyRelu { slope: 0.01 };
    /// let (mut par, mut ser) = (vec![0.0f32; x.len()], vec![0.0f32; x.len()]);
    /// nonlin_parallel::activation::forward(&act, &x, &mut par)?;
    /// act.forward(&x, &mut ser)?;
    /// assert_eq!(par, ser);
    /// # Ok::<(), nonlin::Error>(())
    /// ```
    pub fn forward<T: Float>(act: &Activation<T>, x: &[T], out: &mut [T]) -> Result<(), Error> {
        par_map(x, out, |a, b| act.forward(a, b))
    }

    /// Parallel [`Activation::forward_inplace`]: `x[i] = f(x[i])`.
    ///
    /// # Errors
    /// As [`Activation::forward_inplace`] (an invalid parameter), before anything is
    /// written.
    ///
    /// # Example
    /// ```
    /// let mut x = vec![-1.0f64; 100_000];
    /// nonlin_parallel::activation::forward_inplace(&nonlin::Activation::Relu, &mut x)?;
    /// assert!(x.iter().all(|&v| v == 0.0));
    /// # Ok::<(), nonlin::Error>(())
    /// ```
    pub fn forward_inplace<T: Float>(act: &Activation<T>, x: &mut [T]) -> Result<(), Error> {
        par_inplace(x, |a| act.forward_inplace(a))
    }

    /// Parallel [`Activation::derivative`]: `out[i] = f'(x[i])`.
    ///
    /// # Errors
    /// As [`Activation::derivative`], before any thread starts.
    ///
    /// # Example
    /// ```
    /// let x = vec![2.0f32; 100_000];
    /// let mut d = vec![0.0f32; 100_000];
    /// nonlin_parallel::activation::derivative(&nonlin::Activation::Relu, &x, &mut d)?;
    /// assert!(d.iter().all(|&v| v == 1.0));
    /// # Ok::<(), nonlin::Error>(())
    /// ```
    pub fn derivative<T: Float>(act: &Activation<T>, x: &[T], out: &mut [T]) -> Result<(), Error> {
        par_map(x, out, |a, b| act.derivative(a, b))
    }

    /// Parallel [`Activation::backward`]: `grad_in[i] = grad_out[i] * f'(x[i])`.
    ///
    /// # Errors
    /// As [`Activation::backward`], before any thread starts.
    ///
    /// # Example
    /// ```
    /// let x = vec![2.0f32; 100_000];
    /// let g = vec![0.5f32; 100_000];
    /// let mut gi = vec![0.0f32; 100_000];
    /// nonlin_parallel::activation::backward(&nonlin::Activation::Relu, &x, &g, &mut gi)?;
    /// assert!(gi.iter().all(|&v| v == 0.5));
    /// # Ok::<(), nonlin::Error>(())
    /// ```
    pub fn backward<T: Float>(
        act: &Activation<T>,
        x: &[T],
        grad_out: &[T],
        grad_in: &mut [T],
    ) -> Result<(), Error> {
        par_map2(x, grad_out, grad_in, |a, g, b| act.backward(a, g, b))
    }
}
