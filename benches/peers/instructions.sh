#!/usr/bin/env bash
# Instructions per call of `add(a, b)` among 32, counted by callgrind: the
# floor (a hand-written `match`) and the executor's paths, run N times and
# 0 times by examples/profile.rs; the difference over N is one call. The
# counts do not depend on the machine's load, so they stand where criterion's
# times on a shared machine cannot.
#
#   benches/peers/instructions.sh [--calls N] [--json PATH] [--build-only] [PATH ...]
#
#   --calls N     calls per counted run (default 20,000)
#   --json PATH   also write the figures as JSON (benches/figures.py reads it)
#   --build-only  build the profile program and stop
#   PATH ...      the paths to count (default: all of them)
#
# Paths: floor, call_blocking (no policy), call_blocking_allowed (a policy
# allowing `add` by name), call_blocking_timeout ([limits] timeout = "30s"),
# call_async (`call(..).await` on a current-thread runtime, each call in a
# `block_on` of its own), call_async_in_runtime (the calls awaited inside
# one `block_on`: `.await` without entering the runtime each time).
#
# Needs valgrind (its callgrind tool). The atomic read-modify-write
# instructions per call are counted too: callgrind's per-instruction counts
# summed over the addresses where `objdump -d` shows a `lock` prefix or an
# `xchg` in the profile program (libc's are not counted).
set -euo pipefail
all=(floor call_blocking call_blocking_allowed call_blocking_timeout call_async call_async_in_runtime)

calls=20000 json="" build_only=0 paths=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --calls)
            [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "instructions.sh: --calls needs a number ≥ 1" >&2; exit 1; }
            calls=$2
            shift 2
            ;;
        --json)
            [[ -n "${2:-}" ]] || { echo "instructions.sh: --json needs a path" >&2; exit 1; }
            json=$(realpath -m -- "$2")
            shift 2
            ;;
        --build-only) build_only=1; shift ;;
        -h | --help) sed -n '7,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "instructions.sh: unknown argument $1" >&2; exit 1 ;;
        *)
            [[ " ${all[*]} " == *" $1 "* ]] || { echo "instructions.sh: no path $1; the paths: ${all[*]}" >&2; exit 1; }
            paths+=("$1")
            shift
            ;;
    esac
done
[[ ${#paths[@]} -gt 0 ]] || paths=("${all[@]}")
cd "$(dirname "$0")"

cargo build --quiet --release --example profile
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
program="$target/release/examples/profile"
[[ $build_only == 1 ]] && exit 0
command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind (callgrind)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The program's atomic instructions, by their offset in the file's address space.
objdump -d --no-show-raw-insn "$program" \
    | awk '/^ *[0-9a-f]+:\t(lock |xchg)/ { sub(":", "", $1); print $1 }' >"$work/atomics"

for path in "${paths[@]}"; do
    for n in "$calls" 0; do
        echo "counting $path, $n calls" >&2
        valgrind --tool=callgrind --dump-instr=yes --compress-pos=no --compress-strings=no \
            --dump-line=no --callgrind-out-file="$work/$path-$n.out" \
            --log-file="$work/$path-$n.log" "$program" "$path" "$n" >/dev/null
    done
done

python3 - "$work" "$program" "$calls" "$json" "${paths[@]}" <<'EOF'
import json, subprocess, sys
from pathlib import Path

work, program, calls, json_path, *paths = sys.argv[1:]
work, calls = Path(work), int(calls)
atomics = {int(line, 16) for line in (work / "atomics").read_text().split()}
program_name = Path(program).resolve()


def count(out):
    """(instructions, atomic instructions in the program) of one run.

    Callgrind writes each object's addresses as that object's own (as
    objdump shows them), whatever address it was loaded at."""
    total = atomic = 0
    in_program = skip_next = False
    for line in out.read_text().splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            total = int(line.split()[1])
        elif line.startswith("ob="):
            in_program = Path(line[3:]).resolve() == program_name
        elif line.startswith("calls="):
            skip_next = True  # the next line is the call's inclusive cost
        elif skip_next:
            skip_next = False
        elif in_program and line[:2] == "0x":
            address, cost = line.split()[:2]
            if int(address, 16) in atomics:
                atomic += int(cost)
    return total, atomic


rows = []
for path in paths:
    many, many_atomic = count(work / f"{path}-{calls}.out")
    none, none_atomic = count(work / f"{path}-0.out")
    rows.append({
        "id": path,
        "instructions_per_call": (many - none) / calls,
        "atomics_per_call": (many_atomic - none_atomic) / calls,
    })
floor = next((r["instructions_per_call"] for r in rows if r["id"] == "floor"), None)
version = subprocess.run(["valgrind", "--version"], capture_output=True, text=True).stdout.strip()
print(f"instructions per call, {calls:,} calls less 0 ({version}):")
print(f"  {'path':<24} {'instructions':>12} {'vs floor':>9} {'atomics':>8}")
for row in rows:
    ratio = f"{row['instructions_per_call'] / floor:.2f}x" if floor else ""
    print(f"  {row['id']:<24} {row['instructions_per_call']:>12,.1f} {ratio:>9} {row['atomics_per_call']:>8.1f}")
if json_path:
    Path(json_path).write_text(json.dumps({"calls": calls, "valgrind": version, "paths": rows}, indent=2) + "\n")
EOF
