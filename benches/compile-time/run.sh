#!/usr/bin/env bash
# Compile-time benchmark: how long a cold dev build of a crate with N #[tool]
# functions takes, against two baselines with the same N functions:
#   floor            the plain functions, no #[tool]
#   rustchain        the functions with #[tool]
#   derive-per-tool  per function an args struct deriving serde::Deserialize +
#                    schemars::JsonSchema, a decode-and-call fn and a schema fn
#
# Usage: bash benches/compile-time/run.sh [N...]      (default: 1000)
#
# COMPILE_TIME_MACRO_OPT=3 writes `[profile.dev.build-override] opt-level = 3`
# into the generated workspace (the README's recommendation for a crate with
# hundreds of tools): the macro, syn and quote are then built optimized, once,
# untimed like every dependency.
#
# The crates are generated under target/compile-time/ (a workspace of its own,
# with its own build directory, target/compile-time/target). Dependencies are
# built once first and not timed; each timed figure is `cargo build -p CRATE`
# right after `cargo clean -p CRATE`. See README.md beside this file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
root="${COMPILE_TIME_DIR:-$repo/target/compile-time}"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000)
for n in "${sizes[@]}"; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "not a tool count: $n" >&2; exit 2; }
done

export CARGO_TARGET_DIR="$root/target"
export CARGO_TERM_COLOR=never
mkdir -p "$root"
log="$root/build.log"
: >"$log"

# Same dependency versions as the repository: start from its lock file.
cp "$repo/Cargo.lock" "$root/Cargo.lock"

cargo_in() { (cd "$root" && cargo "$@") >>"$log" 2>&1 || {
    echo "cargo $* failed; the end of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
}; }

# `cargo_in`, with a command (a timer) put before cargo.
cargo_in_timed() {
    local timer=()
    while [ $# -gt 0 ] && [ "$1" != build ]; do timer+=("$1"); shift; done
    (cd "$root" && "${timer[@]}" cargo "$@") >>"$log" 2>&1 || {
        echo "cargo $* failed; the end of $log:" >&2
        tail -n 40 "$log" >&2
        exit 1
    }
}

gen_args=()
[ -z "${COMPILE_TIME_MACRO_OPT:-}" ] || gen_args=(--macro-opt "$COMPILE_TIME_MACRO_OPT")
echo "rustc: $(rustc --version); $(nproc) cores; workspace: $root;" \
    "build-override opt-level: ${COMPILE_TIME_MACRO_OPT:-not set}" >&2
echo "building dependencies (not timed)..." >&2
python3 "$here/gen.py" --root "$root" --repo "$repo" --n 1 "${gen_args[@]}" >/dev/null
# One crate at a time, as timed below: cargo unifies features over the
# packages of one command, so `--workspace` could build other variants.
# COMPILE_TIME_VARIANTS picks columns (default all three): the derive column
# takes minutes at N = 1000 on 2 cores.
read -r -a variants <<<"${COMPILE_TIME_VARIANTS:-floor rustchain derive}"
for variant in "${variants[@]}"; do
    case "$variant" in floor | rustchain | derive) ;; *) echo "no variant named $variant" >&2; exit 2 ;; esac
done
for variant in "${variants[@]}"; do cargo_in build -p "ct-$variant"; done

declare -A seconds
for n in "${sizes[@]}"; do
    distinct=$(python3 "$here/gen.py" --root "$root" --repo "$repo" --n "$n" "${gen_args[@]}")
    echo "N=$n: $distinct distinct parameter lists" >&2
    for variant in "${variants[@]}"; do
        crate="ct-$variant"
        cargo_in clean -p "$crate"
        # Other builds on the machine skew the figure: show the 1-minute load.
        load=$(cut -d ' ' -f 1 /proc/loadavg 2>/dev/null || echo '?')
        # CPU time too (user + system of cargo and the compilers): other
        # builds inflate the wall-clock time far more than the CPU time.
        # (GNU time's `%U %S`; without /usr/bin/time the CPU shows as `?`.)
        cpu_file="$root/cpu.txt"
        rm -f "$cpu_file"
        timer=()
        [ ! -x /usr/bin/time ] || timer=(/usr/bin/time -f '%U %S' -o "$cpu_file")
        start=$(date +%s.%N)
        cargo_in_timed "${timer[@]}" build -p "$crate"
        end=$(date +%s.%N)
        seconds[$n,$variant]=$(echo "$start $end" | awk '{printf "%.1f", $2 - $1}')
        cpu=$(awk '{printf "%.1f", $1 + $2}' "$cpu_file" 2>/dev/null || echo '?')
        echo "  $variant: ${seconds[$n,$variant]} s, CPU ${cpu} s (load average before: $load)" >&2

        # Not timed: the program must see all N tools and run one.
        out=$("$CARGO_TARGET_DIR/debug/$crate")
        case "$variant" in
            rustchain) want="registry: $n tools" ;;
            derive) want="table: $n tools" ;;
            *) want="" ;;
        esac
        if [ -n "$want" ] && [ "$(head -n 1 <<<"$out")" != "$want" ]; then
            echo "$crate printed:" >&2
            echo "$out" >&2
            echo "expected the first line: $want" >&2
            exit 1
        fi
        [ -z "$want" ] || echo "    $(tr '\n' ' ' <<<"$out")" >&2
    done
done

printf '%-8s %10s %14s %20s\n' N "floor s" "rustchain s" "derive-per-tool s"
for n in "${sizes[@]}"; do
    printf '%-8s %10s %14s %20s\n' "$n" "${seconds[$n,floor]:--}" "${seconds[$n,rustchain]:--}" \
        "${seconds[$n,derive]:--}"
done
