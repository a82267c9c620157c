#!/usr/bin/env bash
# Cross-builds nonlin for aarch64-unknown-linux-gnu (NEON through `wide`) and runs the core
# crate's unit and doc tests and the whole accuracy / position-independence suite
# (`nonlin-tests`) under qemu-user.
#
#   scripts/aarch64.sh            # everything
#   scripts/aarch64.sh --core     # only `cargo test -p nonlin` (fast)
#   scripts/aarch64.sh -- ARGS    # extra arguments for `cargo test -p nonlin-tests` (e.g. --test kernels)
#
# Installs `qemu-user gcc-aarch64-linux-gnu` (apt-get) and the rustup target when missing.
# The linker and runner are given through CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_* variables
# (no .cargo/config.toml that would affect other builds) and the build uses its own target
# directory, target/aarch64.
#
# MPFR/GMP (the f64 reference, through rug -> gmp-mpfr-sys) are built from source for
# aarch64 with the cross gcc. gmp-mpfr-sys refuses to cross-compile unless its
# `force-cross` feature is on; rug does not forward that feature, so the build script is
# told through the variable cargo would set for it (CARGO_FEATURE_FORCE_CROSS), which build
# scripts inherit. The cross-built libraries are cached by gmp-mpfr-sys in
# ~/.cache/gmp-mpfr-sys, so only the first build pays for them.
#
# Under emulation the f64 MPFR sampling dominates: NONLIN_SAMPLE_SCALE (default 0.1 here)
# scales the f64 sample counts (`sample_f64`); the f32 sweeps and every other test run in
# full. Set NONLIN_SAMPLE_SCALE=1 for the full counts.
#
# Cost (2 shared cores, measured): --core ~8 s warm; the full suite is slow under emulation
# (its f32 sweeps are not scaled by NONLIN_SAMPLE_SCALE): e.g. sigmoid 484 s, softmax 258 s,
# cross_entropy 309 s. For a CI gate, run --core plus chosen files (-- --test NAME ...).
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=aarch64-unknown-linux-gnu
SYSROOT=/usr/aarch64-linux-gnu

need=()
command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
command -v aarch64-linux-gnu-gcc >/dev/null || need+=(gcc-aarch64-linux-gnu)
if ((${#need[@]})); then
    echo "installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $SYSROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_AARCH64:-target/aarch64}"
export NONLIN_SAMPLE_SCALE="${NONLIN_SAMPLE_SCALE:-0.1}"
# The C compiler for the target (GMP/MPFR configure); host C code keeps gcc.
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export HOST_CC=gcc
export CARGO_FEATURE_FORCE_CROSS=1

core_only=0
extra=()
while (($#)); do
    case "$1" in
    --core) core_only=1 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

echo "== cargo test -p nonlin --target $TARGET (unit + doc tests, under qemu-aarch64)"
cargo test -q -p nonlin --target "$TARGET"
if ((core_only)); then
    exit 0
fi

echo "== cargo test -p nonlin-tests --target $TARGET (NONLIN_SAMPLE_SCALE=$NONLIN_SAMPLE_SCALE)"
# gmp-mpfr-sys reads plain CC for GMP's configure.
CC=aarch64-linux-gnu-gcc cargo test -q -p nonlin-tests --target "$TARGET" "${extra[@]}"
echo "aarch64: all tests passed"
