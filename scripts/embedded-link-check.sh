#!/usr/bin/env bash
# Link-time check that no panic path is left in nonlin's public API on a Cortex-M4F
# (thumbv7em-none-eabihf, opt-level "s", nonlin's default lanes and `scalar-lanes`).
#
#   scripts/embedded-link-check.sh
#
# panic_free_f32 / panic_free_f64 (tests/embedded/src/panic_free.rs) call every public slice
# entry point with a panic handler that references an undefined symbol: they link only if
# nothing in them can panic. panic_canary holds one out-of-range index and must fail that
# link, which shows that the check detects a panic path. Also run by scripts/embedded.sh.
# Installs the rustup target when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET=thumbv7em-none-eabihf
rustup target list --installed | grep -qx "$TARGET" || rustup target add "$TARGET"
cd "$ROOT/tests/embedded"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_EMBEDDED:-$ROOT/target/embedded}"

echo "== link check: no panic path in nonlin (opt-level s, default lanes and scalar-lanes)"
for feat in "" "--features scalar-lanes"; do
    # shellcheck disable=SC2086
    if ! cargo build -q --release --target "$TARGET" $feat --bin panic_free_f32 --bin panic_free_f64; then
        echo "a panic path is left in nonlin ${feat:-(default lanes)}: see tests/embedded/src/panic_free.rs" >&2
        exit 1
    fi
done
# The canary must fail for the intended reason: the handler's undefined symbol.
if canary="$(cargo build -q --release --target "$TARGET" --features scalar-lanes --bin panic_canary 2>&1)"; then
    echo "panic_canary linked: the link check no longer detects panic paths" >&2
    exit 1
fi
if ! grep -q "undefined symbol: panic_path_reached" <<<"$canary"; then
    echo "panic_canary failed to build for another reason:" >&2
    echo "$canary" >&2
    exit 1
fi
echo "no panic path: panic_free_f32 and panic_free_f64 link (both lane builds); panic_canary does not"
