#!/usr/bin/env bash
# Runs the benchmark set behind BENCHMARKS.md, each in one criterion run so
# every figure has its baselines beside it, and keeps the output in
# target/bench-logs/. Usage: benches/run.sh [--quick]
#
#   dispatch   the registry + invoke under the executor, against a hand-written match
#   executor   call_blocking with no policy, a default timeout, policy, audit, fsync
#   audit      one append per fsync setting; 16 threads sharing batches
#   lookup     lookup by name at 10 to 100,000 tools against hashbrown and std
#   peers      add(a, b) among 32: this framework, rmcp's ToolRouter, the floor
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
logs="$CARGO_TARGET_DIR/bench-logs"
mkdir -p "$logs"
extra=()
if [[ "${1:-}" == "--quick" ]]; then extra=(-- --quick); fi
for bench in dispatch executor audit lookup; do
    echo "== $bench"
    cargo bench --bench "$bench" "${extra[@]}" 2>&1 | tee "$logs/$bench.txt"
done
echo "== peers"
(cd benches/peers && cargo bench --bench peers "${extra[@]}") 2>&1 | tee "$logs/peers.txt"
{
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo "kernel: $(uname -r); rustc: $(rustc --version)"
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$logs/machine.txt"
echo "logs in $logs; copy the medians into BENCHMARKS.md"
