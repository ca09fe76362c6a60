#!/usr/bin/env bash
# Regenerates rustchain-cli/hot-text.ld, the layout that keeps the code
# `mcp serve` runs together (D-52): builds the fixture in release without
# the layout, profiles `mcp serve` under callgrind (with and without the
# audit trail), writes the linker script, rebuilds with it and prints the
# peak RSS before and after. Needs valgrind and python3; takes a release
# build (minutes). Usage: benches/hot-text/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
target="${CARGO_TARGET_DIR:-$root/target}"
binary="$target/release/mcp-fixture-server"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

RUSTCHAIN_NO_HOT_TEXT=1 cargo build --release --quiet -p mcp-fixture-server
echo "without the layout: $(python3 benches/hot-text/drive.py "$binary")"
for mode in --no-audit --audit; do
    flag=()
    [[ $mode == --audit ]] && flag=(--audit)
    python3 benches/hot-text/drive.py "$binary" "${flag[@]}" --calls 300 \
        --prefix "valgrind --tool=callgrind --demangle=no --callgrind-out-file=$work/profile$mode" >/dev/null 2>"$work/valgrind.log" \
        || { cat "$work/valgrind.log" >&2; exit 1; }
done
python3 benches/hot-text/generate.py "$binary" rustchain-cli/hot-text.ld "$work"/profile*
cargo build --release --quiet -p mcp-fixture-server
echo "with the layout:    $(python3 benches/hot-text/drive.py "$binary")"
