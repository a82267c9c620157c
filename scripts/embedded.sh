#!/usr/bin/env bash
# Runs nonlin's kernels on a Cortex-M4F (thumbv7em-none-eabihf) under QEMU (mps2-an386):
# accuracy against host-computed exact values, bit-identity with the host build, chunking,
# error paths, stack use, and the panic path; then the kernels again with nonlin's
# `scalar-lanes` feature; then a link check that no panic path is left in nonlin's public
# API. Exits non-zero on any failure.
#
#   scripts/embedded.sh
#
# Installs `qemu-system-arm binutils-arm-none-eabi` (apt-get) and the rustup target when
# missing. The firmware is tests/embedded (its own cargo workspace); its test vectors are
# made on the host by `cargo run --manifest-path tests/embedded/gen/Cargo.toml`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET=thumbv7em-none-eabihf

need=()
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v arm-none-eabi-size >/dev/null || need+=(binutils-arm-none-eabi)
if ((${#need[@]})); then
    echo "installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"

# tests/embedded/.cargo/config.toml holds the link flags (cortex-m-rt's link.x).
cd "$ROOT/tests/embedded"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_EMBEDDED:-$ROOT/target/embedded}"
cargo build -q --release --target "$TARGET" --bin kernels --bin panic_check
BIN="$CARGO_TARGET_DIR/$TARGET/release"

qemu() {
    timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
        -semihosting-config enable=on,target=native -kernel "$1"
}

echo "== firmware: kernels"
qemu "$BIN/kernels"

# The same firmware on nonlin's one-element lanes (feature `scalar-lanes`): within the
# budgets everywhere, the host's bits for the element-wise kernels (sums may differ).
echo "== firmware: kernels, --features scalar-lanes"
cargo build -q --release --target "$TARGET" --features scalar-lanes --bin kernels
qemu "$BIN/kernels"

echo "== firmware: panic_check (must report the panic and exit 1)"
set +e
out="$(qemu "$BIN/panic_check" 2>&1)"
status=$?
set -e
echo "$out"
if [ "$status" -ne 1 ] || ! grep -q "FAIL: panicked" <<<"$out"; then
    echo "panic_check: expected a reported panic and exit status 1, got status $status" >&2
    exit 1
fi
# No panic path in the public API (scripts/embedded-link-check.sh). CI runs it in another
# gate, next to the aarch64 tests, with NONLIN_SKIP_LINK_CHECK=1 here.
if [ "${NONLIN_SKIP_LINK_CHECK:-0}" != 1 ]; then
    "$ROOT/scripts/embedded-link-check.sh"
fi

echo "embedded: all checks passed"
