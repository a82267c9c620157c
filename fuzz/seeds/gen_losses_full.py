#!/usr/bin/env python3
"""Writes the edge-value seeds of the `losses` fuzz target into seeds/losses_full/.

The byte layout is the one `decode` in fuzz_targets/losses_full.rs reads:
loss, flags, shape, cols, p1, p2, x[], t[], w[], w2[], classes (one i8 per x), ignore;
each [] is a length byte then tagged values (tag 0: raw f64 LE, 1: i16/64, 2: u16/65535,
3: index into SPECIALS). Run from fuzz/: python3 seeds/gen_losses_full.py
"""
import os
import struct

# Indices into SPECIALS (fuzz_targets/losses_full.rs).
Z, NZ, INF, NINF, NAN, ONE, MONE, HALF, SUB32, BELOW32, SUB64, MIN64, MAX32, NMAX32, MAX64 = range(15)
TINY300, CUT32, UNDER32, CUT64, UNDER64, H100, M100, H30, M30, E12, BELOW1_32, BELOW1_64, EM100 = range(15, 28)
H1E30, M1E30 = 28, 29

# loss selectors: loss % 6 -> 0 regression (loss / 6 % 4: mse, l1, huber, smooth_l1),
# 1 binary (loss / 6 % 3: bce, bce_with_logits, sigmoid_focal), 2 kl_div, 3 kl_div_batchmean,
# 4/5 rows ((loss / 6) * 2 + loss % 6 - 4) % 4: cross_entropy, cross_entropy_probs, nll, focal.
def reg(k): return 6 * k
def binary(k): return 1 + 6 * k
KL, KLB = 2, 3
CE, CEP, NLL, SFOCAL = 4, 5, 10, 11

F64, SUM, W_FIT, W_RAW, W2_FIT, W2_RAW, IGNORE, SWITCH = 1, 2, 4, 8, 16, 32, 64, 128


def sp(i): return bytes([3, i])
def raw(v): return bytes([0]) + struct.pack('<d', v)
def small(v): return bytes([1]) + struct.pack('<h', int(round(v * 64)))
def unit(v): return bytes([2]) + struct.pack('<H', int(round(v * 65535)))


def vec(vals): return bytes([len(vals)]) + b''.join(vals)


def case(loss, flags=0, shape=0, cols=0, p1=small(1), p2=small(2), x=(), t=(), w=(), w2=(),
         classes=None, ignore=0):
    out = bytes([loss, flags, shape, cols]) + p1 + p2 + vec(list(x)) + vec(list(t))
    out += vec(list(w)) + vec(list(w2))
    cl = classes if classes is not None else [0] * len(x)
    out += bytes([c & 0xff for c in cl]) + bytes([ignore & 0xff])
    return out


EDGE = [sp(i) for i in (Z, NZ, INF, NINF, NAN, SUB32, BELOW32, SUB64, MIN64, MAX32, NMAX32,
                        TINY300, CUT32, UNDER32, CUT64, UNDER64, H100, M100, H1E30, M1E30)]
SMALL = [small(v) for v in (-3.5, -1, -0.25, 0, 0.5, 1, 2, 7.75, 17.3, -17.3)]
UNIT = [unit(v) for v in (0, 0.25, 0.5, 0.75, 1)] + [sp(BELOW1_32), sp(E12), sp(EM100)]

seeds = {
    # regression with edge values, delta / beta cut-offs and invalid parameters
    'mse_edges_f32': case(reg(0), 0, x=EDGE, t=list(reversed(EDGE))),
    'l1_zero_diff_f64': case(reg(1), F64 | SUM, x=SMALL, t=SMALL),
    'huber_kink_f32': case(reg(2), 0, p1=small(1), x=SMALL, t=[small(0)] * len(SMALL)),
    'huber_bad_delta_f64': case(reg(2), F64, p1=sp(NZ), x=SMALL, t=SMALL),
    'huber_overflowing_diff_f32': case(reg(2), 0, p1=raw(1e-30), x=[sp(MAX32)], t=[sp(NMAX32)]),
    'smooth_l1_beta0_f32': case(reg(3), SUM, p1=sp(Z), x=SMALL, t=[small(0.5)] * len(SMALL)),
    'smooth_l1_subnormal_beta_f64': case(reg(3), F64, p1=sp(SUB64), x=EDGE, t=SMALL),
    # binary: probabilities at 0/1 and the -100 clamp, logits at the exp cut-offs
    'bce_clamp_f32': case(binary(0), SWITCH | W_FIT, x=UNIT, t=list(reversed(UNIT)), w=[small(2)]),
    'bce_bad_prob_f64': case(binary(0), F64, x=[small(1.5), small(0.5)], t=[unit(1), unit(0)]),
    'bce_logits_pw_f32': case(binary(1), SWITCH | W_FIT | W2_FIT, cols=1, x=EDGE, t=UNIT * 3,
                              w=[small(1), small(0)], w2=[small(3), small(0)]),
    'bce_logits_bad_pw_f64': case(binary(1), F64 | W2_RAW, x=SMALL[:5], t=UNIT[:5], w2=[small(1)] * 3),
    'bce_logits_soft_f64': case(binary(1), F64 | SWITCH | SUM, x=[sp(M30), small(-17.3), sp(H30), sp(CUT64)],
                                t=[sp(E12), unit(0.5), sp(BELOW1_64), unit(1)]),
    'sigmoid_focal_sat_f32': case(binary(2), SWITCH, p1=small(0.25), p2=small(0.5),
                                  x=[sp(M100), sp(H100), sp(M30), sp(H30), small(0)], t=[unit(1), unit(0), unit(1), unit(0), unit(0.5)]),
    'sigmoid_focal_bad_gamma_f64': case(binary(2), F64, p1=small(0.25), p2=small(-1), x=SMALL, t=UNIT),
    'sigmoid_focal_no_alpha_f64': case(binary(2), F64 | SWITCH, p1=small(-1), p2=small(2), x=SMALL, t=UNIT * 2),
    # KL: zero probabilities, -inf log targets, batchmean shapes
    'kl_zero_prob_f32': case(KL, 0, x=[sp(NINF), small(-0.69), sp(NAN), small(0)], t=[unit(0), unit(0.5), unit(0), unit(0.5)]),
    'kl_log_target_f64': case(KL, F64 | SWITCH | SUM, x=[small(-0.69)] * 4, t=[sp(NINF), small(-0.69), small(-1.39), small(-1.39)]),
    'kl_batchmean_f32': case(KLB, 0, cols=1, x=[small(-0.69)] * 4, t=[unit(0.5)] * 4),
    'kl_batchmean_zero_batch_f64': case(KLB, F64, shape=4, cols=0, x=[small(-0.69)] * 4, t=[unit(0.5)] * 4),
    # rows: ignore_index rows, all-ignored batch, -inf/+inf/NaN logits, weights, smoothing
    'ce_ignore_rows_f32': case(CE, IGNORE | W_FIT, cols=2, p1=small(0.1), x=SMALL[:8], w=[small(1), small(0), small(2)],
                               classes=[0, -100, 1, 2, 0, 0, 0, 0], ignore=-100),
    'ce_all_ignored_f64': case(CE, F64 | IGNORE, cols=3, x=SMALL[:9], classes=[7] * 9, ignore=7),
    'ce_masked_rows_f32': case(CE, SUM, cols=3, x=[sp(NINF), sp(NINF), sp(NINF), sp(INF), small(0), sp(INF),
                                                   small(80), small(0), sp(NINF)], classes=[1, 1, 2]),
    'ce_bad_target_f64': case(CE, F64 | SWITCH, cols=2, x=SMALL[:4], classes=[0, 5]),
    'ce_confident_f32': case(CE, 0, cols=1, x=[small(80), small(0)], classes=[0, 0]),
    'ce_probs_smooth_f64': case(CEP, F64 | W_FIT, cols=3, p1=small(0.5), x=SMALL[:6], t=UNIT[:6], w=[small(1), small(3)]),
    'ce_probs_bad_smoothing_f32': case(CEP, 0, shape=4, cols=2, p1=small(1.5), x=SMALL[:4], t=UNIT[:4]),
    'nll_weights_f32': case(NLL, W_FIT | IGNORE, cols=2, x=[small(-0.5), small(-1.5), sp(NINF), small(-0.25)],
                            w=[small(0), small(3)], classes=[0, 0], ignore=-1),
    'nll_bad_weight_f64': case(NLL, F64 | W_FIT, cols=2, x=SMALL[:4], w=[small(-1)]),
    'softmax_focal_sat_f32': case(SFOCAL, W2_FIT, cols=2, p2=small(0.5), x=[small(30), small(0), small(0), small(40)],
                                  w2=[unit(0.25), unit(0.75)], classes=[0, 1]),
    'softmax_focal_gamma0_f64': case(SFOCAL, F64 | SUM | IGNORE, cols=4, p2=sp(Z), x=SMALL[:8], classes=[3, -3], ignore=-3),
    'softmax_focal_bad_alpha_f32': case(SFOCAL, W2_FIT, cols=2, p2=small(2), x=SMALL[:4], w2=[sp(NAN)]),
    # broken lengths
    'mse_target_len_f32': case(reg(0), 0, shape=1, x=SMALL, t=SMALL),
    'ce_out_len_f64': case(CE, F64, shape=2, cols=2, x=SMALL[:4]),
    'focal_grad_len_f32': case(binary(2), SWITCH, shape=3, p1=small(0.25), x=SMALL, t=UNIT),
}

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "losses_full")
os.makedirs(here, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(here, name), 'wb') as fh:
        fh.write(data)
print(f'{len(seeds)} seeds in {here}')
