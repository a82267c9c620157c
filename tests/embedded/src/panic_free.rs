//! Link-time proof that nonlin's public API has no panic path on this target: every public
//! slice entry point is called, for `f32` and `f64`, on inputs, lengths and parameters the
//! compiler cannot see (`black_box`), and the panic handler is the only code that calls
//! `panic_path_reached`, a symbol no object file defines. After link-time optimisation a
//! panic handler nothing calls is dropped, so this firmware links only if no call left in
//! nonlin (argument checks, indexing, arithmetic) can panic; a panic path anywhere, even
//! one the tests never reach, is a link error naming that symbol (the handler is in
//! `src/no_panic.rs`; `panic_canary` shows that a panic path does fail the link).
//! `scripts/embedded-link-check.sh` builds them at opt-level "s" with and without
//! `scalar-lanes`.
//!
//! To find a panic path after such a link error, link anyway and look for the calls into
//! `core::panicking`:
//! `RUSTFLAGS="-C link-arg=--noinhibit-exec -C link-arg=-Tlink.x -C target-cpu=cortex-m4"
//! cargo build --release --target thumbv7em-none-eabihf --bin panic_free_f32`, then
//! `arm-none-eabi-objdump -d -l -C` on the firmware (the `.rs:` lines above each call).
//!
//! Never run: the outputs go to `black_box`, and `main` ends in a loop. Two firmwares,
//! `panic_free_f32` and `panic_free_f64` (both dtypes in one would not fit the 4 MiB of
//! flash with the default lanes).

use core::hint::black_box;
use nonlin::loss::{
    CrossEntropyOptions, FocalOptions, NllOptions, Reduction, bce, bce_none_with_grad,
    bce_with_grad, bce_with_logits, bce_with_logits_none_with_grad, bce_with_logits_with_grad,
    cross_entropy, cross_entropy_none_with_grad, cross_entropy_probs,
    cross_entropy_probs_none_with_grad, cross_entropy_probs_with_grad, cross_entropy_with_grad,
    huber_none_with_grad, huber_with_grad, kl_div_batchmean_with_grad, kl_div_none_with_grad,
    kl_div_with_grad, l1_none_with_grad, l1_with_grad, mse_none_with_grad, mse_with_grad, nll_loss,
    nll_loss_none_with_grad, nll_loss_with_grad, sigmoid_focal_loss,
    sigmoid_focal_loss_none_with_grad, sigmoid_focal_loss_with_grad, smooth_l1_none_with_grad,
    smooth_l1_with_grad, softmax_focal_loss, softmax_focal_loss_none_with_grad,
    softmax_focal_loss_with_grad,
};
use nonlin::{Activation, Float, MaskedRow, SoftmaxOptions, Squash};

/// Buffers of unknown length and content.
pub struct Io<T: 'static> {
    a: &'static [T],
    b: &'static [T],
    c: &'static [T],
    out: &'static mut [T],
    grad: &'static mut [T],
    grad2: &'static mut [T],
}

pub fn io<T: Float>(store: &'static mut [T; 96]) -> Io<T> {
    let (a, rest) = black_box(store).split_at_mut(16);
    let (b, rest) = rest.split_at_mut(16);
    let (c, rest) = rest.split_at_mut(16);
    let (out, rest) = rest.split_at_mut(16);
    let (grad, grad2) = rest.split_at_mut(16);
    let n = black_box(16);
    let cut = |s: &'static mut [T]| -> &'static mut [T] {
        let len = s.len();
        s.get_mut(..n.min(len)).unwrap_or(&mut [])
    };
    Io {
        a: black_box(cut(a)),
        b: black_box(cut(b)),
        c: black_box(cut(c)),
        out: cut(out),
        grad: cut(grad),
        grad2: cut(grad2),
    }
}

/// Every activation of the runtime enum, with parameters from `p`.
fn activations<T: Float>(p: T) -> [Activation<T>; 19] {
    [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Relu,
        Activation::Relu6,
        Activation::LeakyRelu { slope: p },
        Activation::Elu { alpha: p },
        Activation::Selu,
        Activation::Celu { alpha: p },
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
        Activation::Swish { beta: p },
        Activation::Mish,
        Activation::Softplus { beta: p },
        Activation::LogSigmoid,
        Activation::Hardsigmoid,
        Activation::Hardswish,
        Activation::Hardtanh { min: -p, max: p },
        Activation::Softsign,
    ]
}

/// One call of every public slice entry point; `ok` collects the results so that none is
/// optimised away.
pub fn all<T: Float>(io: Io<T>) -> bool {
    let Io {
        a,
        b,
        c,
        out,
        grad,
        grad2,
    } = io;
    let p = black_box(T::ONE);
    let cols = black_box(4usize);
    let targets: &[i64] = black_box(&[0, 1, 2, 3]);
    let red = black_box(Reduction::Mean);
    let mut ok = true;
    macro_rules! chk {
        ($call:expr) => {
            ok &= black_box($call).is_ok()
        };
    }

    for act in activations(p) {
        let act = black_box(act);
        chk!(act.forward(a, out));
        chk!(act.forward_inplace(out));
        chk!(act.derivative(a, out));
        chk!(act.backward(a, b, out));
    }
    chk!(nonlin::prelu(a, c, out));
    chk!(nonlin::prelu_inplace(out, c));
    chk!(nonlin::prelu_derivative(a, c, out));
    chk!(nonlin::prelu_backward(a, b, c, out, grad));
    chk!(nonlin::glu(a, b, out));
    chk!(nonlin::glu_inplace(out, b));
    chk!(nonlin::glu_backward(a, b, c, grad, grad2));
    chk!(nonlin::swiglu(a, b, out));
    chk!(nonlin::swiglu_inplace(out, b));
    chk!(nonlin::swiglu_backward(a, b, c, grad, grad2));
    chk!(nonlin::geglu(a, b, out));
    chk!(nonlin::geglu_inplace(out, b));
    chk!(nonlin::geglu_backward(a, b, c, grad, grad2));
    chk!(nonlin::glu_rows(a, cols, out));
    chk!(nonlin::glu_rows_backward(a, cols, b, grad));
    let stats = nonlin::activation_stats(a);
    ok &= black_box(stats.active_fraction()) >= 0.0;
    let squash = black_box(Squash::Tanh);
    chk!(nonlin::saturated_fraction(a, squash, 1e-3).map(drop));

    let opts = SoftmaxOptions {
        temperature: p,
        masked_row: black_box(MaskedRow::Nan),
    };
    chk!(nonlin::softmax(a, cols, out));
    chk!(nonlin::softmax_inplace(out, cols));
    chk!(nonlin::log_softmax(a, cols, out));
    chk!(nonlin::log_softmax_inplace(out, cols));
    chk!(nonlin::softmax_temperature(a, cols, p, out));
    chk!(nonlin::softmax_temperature_inplace(out, cols, p));
    chk!(nonlin::log_softmax_temperature(a, cols, p, out));
    chk!(nonlin::log_softmax_temperature_inplace(out, cols, p));
    chk!(nonlin::softmax_with(a, cols, opts, out));
    chk!(nonlin::softmax_with_inplace(out, cols, opts));
    chk!(nonlin::log_softmax_with(a, cols, opts, out));
    chk!(nonlin::log_softmax_with_inplace(out, cols, opts));
    chk!(nonlin::logsumexp(a, cols, out));
    chk!(nonlin::logsumexp_temperature(a, cols, p, out));
    chk!(nonlin::softmax_backward(a, b, cols, out));
    chk!(nonlin::softmax_temperature_backward(a, b, cols, p, out));
    chk!(nonlin::log_softmax_backward(a, b, cols, out));
    chk!(nonlin::log_softmax_temperature_backward(a, b, cols, p, out));

    let w = black_box(Some(c));
    let ce = CrossEntropyOptions {
        weight: w,
        ignore_index: black_box(Some(-100)),
        label_smoothing: black_box(T::ZERO),
    };
    let nll = NllOptions {
        weight: w,
        ignore_index: black_box(Some(-100)),
    };
    let focal = FocalOptions {
        alpha: w,
        gamma: p,
        ignore_index: black_box(None),
    };
    chk!(cross_entropy(a, targets, cols, &ce, red));
    chk!(cross_entropy_with_grad(a, targets, cols, &ce, red, grad));
    chk!(cross_entropy_probs(a, b, cols, &ce, red));
    chk!(cross_entropy_probs_with_grad(a, b, cols, &ce, red, grad));
    chk!(nll_loss(a, targets, cols, &nll, red));
    chk!(nll_loss_with_grad(a, targets, cols, &nll, red, grad));
    chk!(softmax_focal_loss(a, targets, cols, &focal, red));
    chk!(softmax_focal_loss_with_grad(
        a, targets, cols, &focal, red, grad
    ));
    chk!(bce_with_logits(a, b, w, w, red));
    chk!(bce_with_logits_with_grad(a, b, w, w, red, grad));
    chk!(bce(a, b, w, red));
    chk!(bce_with_grad(a, b, w, red, grad));
    chk!(sigmoid_focal_loss(a, b, p, p, red));
    chk!(sigmoid_focal_loss_with_grad(a, b, p, p, red, grad));
    chk!(kl_div_with_grad(a, b, black_box(true), red, grad));
    chk!(kl_div_batchmean_with_grad(
        a,
        b,
        black_box(false),
        cols,
        grad
    ));
    chk!(mse_with_grad(a, b, red, grad));
    chk!(l1_with_grad(a, b, red, grad));
    chk!(huber_with_grad(a, b, p, red, grad));
    chk!(smooth_l1_with_grad(a, b, p, red, grad));
    chk!(cross_entropy_none_with_grad(
        a, targets, cols, &ce, out, grad
    ));
    chk!(cross_entropy_probs_none_with_grad(
        a, b, cols, &ce, out, grad
    ));
    chk!(nll_loss_none_with_grad(a, targets, cols, &nll, out, grad));
    chk!(softmax_focal_loss_none_with_grad(
        a, targets, cols, &focal, out, grad
    ));
    chk!(bce_with_logits_none_with_grad(a, b, w, w, out, grad));
    chk!(bce_none_with_grad(a, b, w, out, grad));
    chk!(sigmoid_focal_loss_none_with_grad(a, b, p, p, out, grad));
    chk!(kl_div_none_with_grad(a, b, black_box(true), out, grad));
    chk!(mse_none_with_grad(a, b, out, grad));
    chk!(l1_none_with_grad(a, b, out, grad));
    chk!(huber_none_with_grad(a, b, p, out, grad));
    chk!(smooth_l1_none_with_grad(a, b, p, out, grad));
    ok
}

/// The entry point of a firmware for one element type (`panic_free_f32`, `panic_free_f64`).
macro_rules! entry {
    ($t:ty) => {
        #[cortex_m_rt::entry]
        fn main() -> ! {
            static mut BUF: [$t; 96] = [0.5; 96];
            // `cortex_m_rt::entry` turns the `static mut` into a `&'static mut`, handed out
            // once.
            core::hint::black_box(panic_free::all(panic_free::io::<$t>(BUF)));
            #[allow(clippy::empty_loop)]
            loop {}
        }
    };
}
pub(crate) use entry;
