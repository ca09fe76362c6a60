#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 120), one after another,
# and fails on the first crash (a panic or abort), hang (one input over
# TIMEOUT seconds, default 10) or memory blow-up (RSS over RSS_MB, default
# 2048). Findings land in fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [SECONDS]          all targets
#   TARGETS="policy_load" fuzz/run.sh 60
#
# Stable toolchain: libFuzzer comes from the `libfuzzer-sys` crate and the
# coverage from LLVM's sancov pass, which `-Cpasses` and `-Cllvm-args` reach
# on stable rustc. RUSTC_BOOTSTRAP is not needed (no sanitizer: the code is
# safe Rust, and panics, overflow checks and debug assertions do the finding).
set -euo pipefail

seconds="${1:-120}"
timeout="${TIMEOUT:-10}"
rss_mb="${RSS_MB:-2048}"
here="$(cd "$(dirname "$0")" && pwd)"
targets="${TARGETS:-decode_args policy_load audit_verify mcp_framing}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

# What `cargo fuzz build --sanitizer none` passes, minus its nightly-only flags.
export RUSTFLAGS="${RUSTFLAGS:-} --cfg fuzzing -Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cdebug-assertions -Coverflow-checks"

cd "$here"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros,
# which run on the host and have no libFuzzer to link. One job at a time by
# default: the machine is shared.
triple="$(rustc -vV | sed -n 's/^host: //p')"
cargo build --release --locked --jobs "${JOBS:-1}" --bins --target "$triple"
bin="$CARGO_TARGET_DIR/$triple/release"

status=0
for target in $targets; do
    corpus="$here/corpus/$target"
    artifacts="$here/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    dict=()
    if [ -f "$here/dict/$target.dict" ]; then
        dict=(-dict="$here/dict/$target.dict")
    fi
    # The audit target writes real trails (made by the current writer) into
    # its corpus before it starts.
    export RUSTCHAIN_FUZZ_SEEDS="$corpus"
    echo "== $target: ${seconds}s (timeout ${timeout}s per input, rss ${rss_mb} MB)"
    # Committed seeds, where a target has any (audit_verify makes its own).
    seeds=()
    if [ -d "$here/seeds/$target" ]; then
        seeds=("$here/seeds/$target")
    fi
    if ! "$bin/$target" "$corpus" "${seeds[@]}" \
        "${dict[@]}" \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
        -malloc_limit_mb="$rss_mb" -max_len=65536 \
        -artifact_prefix="$artifacts/" -print_final_stats=1; then
        echo "== $target: FOUND SOMETHING, see $artifacts" >&2
        status=1
    fi
done
exit "$status"
