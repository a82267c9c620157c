#!/usr/bin/env bash
# Flash, RAM and stack cost of nonlin's kernels on a Cortex-M4F (thumbv7em-none-eabihf),
# at opt-level "s" and 3, with nonlin's default lanes and with its `scalar-lanes` feature;
# writes docs/embedded.md.
#
#   scripts/embedded-size.sh
#
# Flash/RAM: the `size_*` firmwares of tests/embedded differ from `size_baseline` only by
# the kernels they call; `arm-none-eabi-size` gives each section, and the table shows the
# difference from the baseline. Stack: the `kernels` test firmware paints the stack around
# every kernel call under QEMU (see scripts/embedded.sh) and reports the deepest use.
# Installs `qemu-system-arm binutils-arm-none-eabi` and the rustup target when missing.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET=thumbv7em-none-eabihf
OUT="$ROOT/docs/embedded.md"

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

cd "$ROOT/tests/embedded"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR_EMBEDDED:-$ROOT/target/embedded}"

VARIANTS=(sigmoid tanh gelu softmax cross_entropy goal scalar_sigmoid scalar_tanh scalar_gelu scalar_goal)
declare -A LABEL=(
    [sigmoid]='`sigmoid` f32'
    [tanh]='`tanh` f32'
    [gelu]='`gelu` f32'
    [softmax]='`softmax` f32'
    [cross_entropy]='`cross_entropy` f32 (mean)'
    [goal]='**sigmoid + softmax + cross_entropy f32** (goal ≤ 4 KiB at "s")'
    [scalar_sigmoid]='scalar loop: `nonlin::scalar::sigmoid` f32 (libm)'
    [scalar_tanh]='scalar loop: `nonlin::scalar::tanh` f32 (libm)'
    [scalar_gelu]='scalar loop: `nonlin::scalar::gelu` f32 (libm)'
    [scalar_goal]='naive libm sigmoid + softmax + cross_entropy f32 (for scale; no accuracy bound)'
)

# section sizes of one ELF: "text rodata data bss" (text includes the vector table).
sections() {
    arm-none-eabi-size -A "$1" | awk '
        $1 == ".vector_table" || $1 == ".text" { t += $2 }
        $1 == ".rodata" { r += $2 }
        $1 == ".data" { d += $2 }
        $1 == ".bss" || $1 == ".uninit" { b += $2 }
        END { print t + 0, r + 0, d + 0, b + 0 }'
}

# Each measurement in two builds: nonlin's default lanes (`wide`, key "wide") and its
# one-element lanes (feature `scalar-lanes`, key "sl"). The scalar_* rows use no lanes.
LANE_BUILDS=(wide sl)
declare -A FEAT=([wide]="" [sl]="--features scalar-lanes")

declare -A FLASH RAM
for lb in "${LANE_BUILDS[@]}"; do
    for prof in release release-o3; do
        echo "== building size firmwares ($prof ${FEAT[$lb]})"
        bins=(--bin size_baseline)
        for v in "${VARIANTS[@]}"; do bins+=(--bin "size_$v"); done
        # shellcheck disable=SC2086
        cargo build -q --profile "$prof" --target "$TARGET" ${FEAT[$lb]} "${bins[@]}"
        dir="$CARGO_TARGET_DIR/$TARGET/$prof"
        read -r bt br bd bb < <(sections "$dir/size_baseline")
        FLASH[$lb,$prof,baseline]=$((bt + br + bd))
        RAM[$lb,$prof,baseline]=$((bd + bb))
        for v in "${VARIANTS[@]}"; do
            read -r t r d b < <(sections "$dir/size_$v")
            FLASH[$lb,$prof,$v]=$((t + r - bt - br))
            RAM[$lb,$prof,$v]=$((d + b - bd - bb))
        done
    done
done

echo "== stack use (kernels firmware under QEMU, both opt-levels, both lane builds)"
declare -A STACK
for lb in "${LANE_BUILDS[@]}"; do
    for prof in release release-o3; do
        # shellcheck disable=SC2086
        cargo build -q --profile "$prof" --target "$TARGET" ${FEAT[$lb]} --bin kernels
        log="$(timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
            -semihosting-config enable=on,target=native \
            -kernel "$CARGO_TARGET_DIR/$TARGET/$prof/kernels")" || {
            echo "$log" | grep -v '^ok' >&2
            echo "kernels firmware failed ($prof ${FEAT[$lb]})" >&2
            exit 1
        }
        # "ok   softmax/8  f32 n=... stack 1772 B": the maximum per kernel and type.
        while read -r k dt s; do
            STACK[$lb,$prof,$k,$dt]=$s
        done < <(awk '$1 == "ok" && $NF == "B" && $(NF-2) == "stack" {
                      split($2, a, "/"); k = a[1] " " $3; s = $(NF-1)
                      if (s > m[k]) m[k] = s }
                  END { for (k in m) print k, m[k] }' <<<"$log")
    done
done

kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
verdict() { if (($1 <= 4096)); then echo "met"; else echo "**not met**"; fi; }
goal_s=${FLASH[wide,release,goal]}
goal_sl=${FLASH[sl,release,goal]}
# The largest stack of any kernel call in a build.
max_stack() {
    local m=0 k
    for k in "${!STACK[@]}"; do
        [[ $k == "$1",* ]] && ((STACK[$k] > m)) && m=${STACK[$k]}
    done
    echo "$m"
}
stack_verdict() { if (($1 <= 512)); then echo "met"; else echo "**not met**"; fi; }
stack_d=$(max_stack wide)
stack_sl=$(max_stack sl)

{
    echo "# nonlin on a Cortex-M4F: flash, RAM and stack"
    echo
    echo "Generated by \`scripts/embedded-size.sh\` (do not edit by hand);"
    echo "$(rustc -V), target \`$TARGET\` (\`-C target-cpu=cortex-m4\`), \`lto = \"fat\"\`,"
    echo "\`codegen-units = 1\`, \`panic = \"abort\"\`. Accuracy and bit-identity on the same target:"
    echo "\`scripts/embedded.sh\`."
    echo
    echo "## Flash and RAM added to a firmware"
    echo
    echo "Bytes each kernel family adds to a minimal firmware (\`tests/embedded/src/bin/size_*.rs\`,"
    echo "forward entry points on f32 slices of unknown length), measured with \`arm-none-eabi-size\` as"
    echo "the difference from the same firmware without kernels (baseline: ${FLASH[wide,release,baseline]} B"
    echo "of flash at \"s\", ${FLASH[wide,release-o3,baseline]} B at 3). Flash = \`.text\` + \`.rodata\`;"
    echo "RAM = \`.data\` + \`.bss\` (stack below). Two builds of nonlin: the default lanes"
    echo "(\`wide\`'s f32x8 / f64x4, arrays of 8 / 4 floats on this target) and the \`scalar-lanes\`"
    echo "feature (the same kernels on one-element lanes, \`nonlin::Scalar1\`). The \"scalar loop\""
    echo "rows call \`nonlin::scalar::*\` (libm) and use no lanes in either build."
    echo
    echo "| kernels | flash, \"s\" | flash, 3 | flash, \"s\", \`scalar-lanes\` | flash, 3, \`scalar-lanes\` | RAM (\"s\" / 3) |"
    echo "|---|---:|---:|---:|---:|---:|"
    for v in "${VARIANTS[@]}"; do
        printf '| %s | %s B (%s KiB) | %s B (%s KiB) | %s B (%s KiB) | %s B (%s KiB) | %s / %s B |\n' "${LABEL[$v]}" \
            "${FLASH[wide,release,$v]}" "$(kib "${FLASH[wide,release,$v]}")" \
            "${FLASH[wide,release-o3,$v]}" "$(kib "${FLASH[wide,release-o3,$v]}")" \
            "${FLASH[sl,release,$v]}" "$(kib "${FLASH[sl,release,$v]}")" \
            "${FLASH[sl,release-o3,$v]}" "$(kib "${FLASH[sl,release-o3,$v]}")" \
            "${RAM[wide,release,$v]}" "${RAM[wide,release-o3,$v]}"
    done
    echo
    echo "Goal of issue #8 (sigmoid + softmax + cross_entropy f32 ≤ 4 KiB of flash at \"s\"):"
    echo "default lanes: $(verdict "$goal_s") (${goal_s} B); \`scalar-lanes\`: $(verdict "$goal_sl") (${goal_sl} B)."
    echo
    echo "## Stack per kernel call"
    echo
    echo "Deepest stack use of one call on the test vectors (painted stack, the calling closure's"
    echo "few bytes included), maximum over the cases of \`tests/embedded/data/vectors.bin\`."
    echo "Goal of issue #8: ≤ 512 B. Default lanes: $(stack_verdict "$stack_d") (largest ${stack_d} B);"
    echo "\`scalar-lanes\`: $(stack_verdict "$stack_sl") (largest ${stack_sl} B)."
    echo
    echo "| kernel | f32, \"s\" | f32, 3 | f64, \"s\" | f64, 3 | \`scalar-lanes\`: f32, \"s\" | f32, 3 | f64, \"s\" | f64, 3 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for k in sigmoid tanh gelu silu gelu_backward swiglu softmax log_softmax cross_entropy bce_with_logits; do
        printf '| `%s` | %s B | %s B | %s B | %s B | %s B | %s B | %s B | %s B |\n' "$k" \
            "${STACK[wide,release,$k,f32]:-?}" "${STACK[wide,release-o3,$k,f32]:-?}" \
            "${STACK[wide,release,$k,f64]:-?}" "${STACK[wide,release-o3,$k,f64]:-?}" \
            "${STACK[sl,release,$k,f32]:-?}" "${STACK[sl,release-o3,$k,f32]:-?}" \
            "${STACK[sl,release,$k,f64]:-?}" "${STACK[sl,release-o3,$k,f64]:-?}"
    done
} >"$OUT"
echo "wrote $OUT"
cat "$OUT"
