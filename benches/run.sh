#!/usr/bin/env bash
# Runs the benchmark set behind BENCHMARKS.md several times and rewrites the
# generated section of BENCHMARKS.md with each benchmark's median of the run
# medians, their spread, and its ratios against the floor and the peers of
# the same run (benches/figures.py does the collecting and the rewriting).
#
#   benches/run.sh [--runs N] [--quick] [--only NAME,...] [--json] [--no-write]
#   benches/run.sh --self-test          # benches/figures.py's unit tests, seconds
#
#   --runs N     runs of the whole selection (default 3), one bench after the
#                other in each run, so a load from others falls on all alike
#   --quick      criterion's --quick (and 2,000 calls, 1 round for wire)
#   --only A,B   these benches only; the others' blocks in BENCHMARKS.md stay
#   --json       print the collected figures as JSON on stdout
#   --no-write   leave BENCHMARKS.md alone
#
# The set:
#   dispatch   the registry + invoke under the executor, against a hand-written match
#   executor   call_blocking with no policy, a default timeout, policy, audit, fsync
#   audit      one append per fsync setting; 16 threads sharing batches
#   lookup     lookup by name at 10 to 100,000 tools against hashbrown and std
#   peers      add(a, b) among 32: this framework, rmcp's ToolRouter, rig, the floor
#   instructions  the same call's instructions per call under callgrind, the
#              floor and the executor's paths (benches/peers/instructions.sh;
#              needs valgrind); counts that do not move with the load
#   wire       MCP over stdio against rmcp and FastMCP; needs RUSTCHAIN_PYTHON (a
#              Python with .ci/requirements.txt; .ci/run makes .ci/venv)
#
# Every bench is built before the first run. Each run's output stays in
# target/bench-runs/DATE/run-K/ (NAME.log, NAME/criterion/). A bench that
# fails stops the script with its name and log; BENCHMARKS.md is rewritten
# only after every run finished (a temporary file renamed over it).
# Exit status: 0 done; 1 a bench or the collecting failed, nothing written;
# 2 written, but a benchmark is missing (listed on stderr and in the section).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
all=(dispatch executor audit lookup peers instructions wire)

usage() { sed -n '7,27p' "$0" | sed 's/^# \{0,1\}//'; }

runs=3 quick=0 only="" json=0 write=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --runs)
            [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: --runs needs a number ≥ 1" >&2; exit 1; }
            runs=$2
            shift 2
            ;;
        --quick) quick=1; shift ;;
        --only)
            [[ -n "${2:-}" ]] || { echo "run.sh: --only needs names: ${all[*]}" >&2; exit 1; }
            only=$2
            shift 2
            ;;
        --json) json=1; shift ;;
        --no-write) write=0; shift ;;
        --self-test) exec python3 -m unittest discover -s benches -p 'test_figures.py' ;;
        -h | --help) usage; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; usage >&2; exit 1 ;;
    esac
done

benches=("${all[@]}")
if [[ -n "$only" ]]; then
    IFS=, read -ra benches <<<"$only"
    for bench in "${benches[@]}"; do
        [[ " ${all[*]} " == *" $bench "* ]] || { echo "run.sh: no bench $bench; the set: ${all[*]}" >&2; exit 1; }
    done
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
for bench in "${benches[@]}"; do
    if [[ "$bench" == wire && -z "${RUSTCHAIN_PYTHON:-}" ]]; then
        echo "run.sh: wire needs RUSTCHAIN_PYTHON, a Python with .ci/requirements.txt (.ci/run makes .ci/venv)" >&2
        exit 1
    fi
done

# The command that runs `bench` from the repository's root, as BENCHMARKS.md shows it.
command_of() {
    local extra=""
    [[ $quick == 1 ]] && extra=" -- --quick"
    case "$1" in
        peers) echo "cd benches/peers && cargo bench --bench peers$extra" ;;
        instructions) echo "benches/peers/instructions.sh$([[ $quick == 1 ]] && echo ' --calls 2000')" ;;
        wire)
            [[ $quick == 1 ]] && extra=" -- 2000 --rounds 1"
            echo "RUSTCHAIN_PYTHON=$RUSTCHAIN_PYTHON cargo bench -p mcp-fixture-server --bench wire$extra"
            ;;
        *) echo "cargo bench --bench $1$extra" ;;
    esac
}

# Runs `bench` with cargo's `$1` (`--no-run` to build) and the bench's own
# arguments after it, from the right folder.
cargo_bench() {
    local bench=$1 mode=$2
    shift 2
    case "$bench" in
        peers) (cd benches/peers && cargo bench $mode --bench peers "$@") ;;
        instructions)
            if [[ $mode == --no-run ]]; then
                benches/peers/instructions.sh --build-only
            else
                shift # the `--` before the bench's own arguments
                benches/peers/instructions.sh "$@"
            fi
            ;;
        wire) cargo bench $mode -p mcp-fixture-server --bench wire "$@" ;;
        *) cargo bench $mode --bench "$bench" "$@" ;;
    esac
}

out="$CARGO_TARGET_DIR/bench-runs/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
for bench in "${benches[@]}"; do
    log="$out/build-$bench.log"
    echo "building $bench" >&2
    if ! cargo_bench "$bench" --no-run >"$log" 2>&1; then
        echo "run.sh: building $bench failed; log: $log" >&2
        exit 1
    fi
done

load() { cut -d' ' -f1-3 /proc/loadavg; }
{
    echo "command=benches/run.sh --runs $runs$([[ $quick == 1 ]] && echo ' --quick')$([[ -n $only ]] && echo " --only $only")"
    echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "head=$(git rev-parse --short HEAD)$([[ -n $(git status --porcelain --untracked-files=no) ]] && echo ' (with uncommitted changes)')"
    echo "machine=$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -sr), $(rustc --version)"
    echo "runs=$runs"
    echo "quick=$quick"
    echo "benches=$(IFS=,; echo "${benches[*]}")"
    for bench in "${benches[@]}"; do echo "command.$bench=$(command_of "$bench")"; done
    echo "load_before=$(load)"
} >"$out/meta.txt"

for run in $(seq 1 "$runs"); do
    mkdir -p "$out/run-$run"
    for bench in "${benches[@]}"; do
        log="$out/run-$run/$bench.log"
        args=()
        case "$bench" in
            wire)
                [[ $quick == 1 ]] && args=(2000 --rounds 1)
                args+=(--json "$out/run-$run/wire.json")
                ;;
            instructions)
                [[ $quick == 1 ]] && args=(--calls 2000)
                args+=(--json "$out/run-$run/instructions.json")
                ;;
            *) [[ $quick == 1 ]] && args=(--quick) ;;
        esac
        echo "run $run of $runs: $bench (log: $log)" >&2
        started=$SECONDS
        if ! CRITERION_HOME="$out/run-$run/$bench/criterion" cargo_bench "$bench" "" -- "${args[@]}" >"$log" 2>&1; then
            echo "run.sh: $bench failed in run $run of $runs; log: $log (BENCHMARKS.md left as it was)" >&2
            exit 1
        fi
        echo "  $((SECONDS - started)) s" >&2
    done
done
echo "load_after=$(load)" >>"$out/meta.txt"

collect=(python3 benches/figures.py "$out" --markdown BENCHMARKS.md)
[[ $json == 1 ]] && collect+=(--json)
[[ $write == 0 ]] && collect+=(--no-write)
"${collect[@]}"
