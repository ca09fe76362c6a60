#!/usr/bin/env python3
"""Collects the figures of `benches/run.sh` and rewrites BENCHMARKS.md's
generated section (Python 3, standard library only).

    python3 benches/figures.py OUT [--markdown FILE] [--json] [--no-write]

OUT is the folder run.sh filled:

    OUT/meta.txt                      key=value lines: command, date, HEAD, machine,
                                      load before and after, runs, benches, quick,
                                      command.NAME (each bench's own command)
    OUT/run-K/NAME/criterion/         CRITERION_HOME of bench NAME in run K; each
                                      benchmark's OUT/.../new/benchmark.json (its id)
                                      and new/estimates.json (median.point_estimate, ns)
    OUT/run-K/NAME.log                the bench's output (the peers bench prints
                                      its allocations per call there)
    OUT/run-K/wire.json               the wire bench's figures (`--json PATH`)
    OUT/run-K/instructions.json       benches/peers/instructions.sh's counts (`--json PATH`)

For every benchmark the generated table gives the median of the run
medians, their spread (min-max), and its ratio against the floor and each
peer of its group, taken within each run and then the median of those. A
benchmark missing from a run, a floor or peer a group should have, or a row
the previous table had and this one lacks is reported on stderr and in the
section, never dropped silently (exit status 2 after writing).

BENCHMARKS.md keeps the section between `<!-- bench:begin -->` and
`<!-- bench:end -->`, one block per bench starting at
`<!-- bench:block NAME -->`; only the blocks of the benches that ran are
replaced, and nothing outside the markers is touched. The file is written
to a temporary file and renamed over the original.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"
BLOCK = re.compile(r"^<!-- bench:block ([a-z_]+) -->$", re.M)

# The set, in the order of BENCHMARKS.md, with what each measures.
BENCHES = {
    "dispatch": "the registry's lookup and invoke under the executor, "
    "against a hand-written `match`",
    "executor": "`call_blocking` with no policy, a default timeout, a policy, "
    "an audit trail with and without fsync",
    "audit": "one audit append per fsync setting; 16 threads sharing batches",
    "lookup": "lookup by name at 10 to 100,000 tools, "
    "against hashbrown + foldhash and std's `HashMap`",
    "peers": "`add(a, b)` among 32 tools: this framework, rmcp's `ToolRouter`, "
    "rig's tools, the floor",
    "instructions": "instructions per call of `add(a, b)` among 32, counted by "
    "callgrind (load-independent): the floor and the executor's paths",
    "wire": "MCP `tools/call` over stdio: `mcp serve` against rmcp and FastMCP",
}

# What a benchmark is to the others of its group, by its function id (the
# last part of its criterion id, or the wire bench's server id).
FLOOR = "hand_written_match"
PEERS = {
    "rmcp_tool_router": "rmcp",
    "rig_dynamic_tools": "rig",
    "hashbrown_foldhash": "hashbrown",
    "std_hashmap": "std HashMap",
    "rmcp_stdio": "rmcp stdio()",
    "rmcp_stdio_pipes": "rmcp stdio_pipes()",
    "fastmcp": "FastMCP",
}

# The floor and peers each bench's groups must have (group patterns: `*`
# ends a prefix; a group named without one must exist).
EXPECTED = {
    "dispatch": {"dispatch_add": [FLOOR]},
    "lookup": {
        "lookup_hit/*": ["hashbrown_foldhash", "std_hashmap"],
        "lookup_miss/*": ["hashbrown_foldhash", "std_hashmap"],
    },
    "peers": {"add_among_32": [FLOOR, "rmcp_tool_router", "rig_dynamic_tools"]},
    "instructions": {"instructions_per_call": [FLOOR]},
    "wire": {
        group: ["rmcp_stdio", "rmcp_stdio_pipes", "fastmcp"]
        for group in ("sequential", "16_in_flight", "peak_rss", "first_reply")
    },
}

# Units, and whether lower is better.
LOWER_IS_BETTER = {
    "ns": True,
    "ms": True,
    "MiB": True,
    "calls/s": False,
    "instructions": True,
    "atomics": True,
}

# The wire bench's figures: (group, unit, its JSON key, scale).
WIRE_FIGURES = [
    ("sequential", "calls/s", "sequential_calls_per_s", 1.0),
    ("16_in_flight", "calls/s", "in_flight_16_calls_per_s", 1.0),
    ("peak_rss", "MiB", "peak_rss_kib", 1 / 1024),
    ("first_reply", "ms", "first_reply_ms", 1.0),
]

ALLOCATIONS = re.compile(r"^\s+(\S+)\s+([\d.]+) allocations\s+([\d.]+) bytes\s*$", re.M)


class Failure(Exception):
    """Something that stops the rewrite; the message says what and where."""


def read_meta(out):
    path = out / "meta.txt"
    try:
        text = path.read_text()
    except OSError as err:
        raise Failure(f"{path}: {err.strerror}") from err
    meta = {}
    for line in text.splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            meta[key.strip()] = value.strip()
    return meta


def criterion_runs(folder):
    """{id: benchmark} of one bench's run: its group, function, median (ns)
    and the elements per iteration its throughput declares, if any."""
    found = {}
    for described in sorted(folder.glob("**/new/benchmark.json")):
        benchmark = json.loads(described.read_text())
        estimates = json.loads((described.parent / "estimates.json").read_text())
        group = benchmark["group_id"]
        function = "/".join(
            part for part in (benchmark.get("function_id"), benchmark.get("value_str")) if part
        )
        throughput = benchmark.get("throughput") or {}
        elements = throughput.get("Elements") or throughput.get("ElementsAndBytes", {}).get(
            "elements"
        )
        found[f"{group}/{function}"] = {
            "group": group,
            "function": function,
            "unit": "ns",
            "value": float(estimates["median"]["point_estimate"]),
            "elements": elements,
        }
    return found


def wire_run(path):
    """The wire bench's figures of one run, as benchmarks."""
    figures = json.loads(path.read_text())
    found = {}
    for server in figures["servers"]:
        for group, unit, key, scale in WIRE_FIGURES:
            if server.get(key) is None:
                continue
            found[f"{group}/{server['id']}"] = {
                "group": group,
                "function": server["id"],
                "unit": unit,
                "value": float(server[key]) * scale,
                "elements": None,
            }
    return found


def instructions_run(path):
    """The instruction counts of one run, as benchmarks: instructions per
    call (the floor under its group's floor id) and, apart from them, the
    atomic read-modify-write instructions per call of the executor's paths
    (the floor has none, so no ratio is taken there)."""
    figures = json.loads(path.read_text())
    found = {}
    for counted in figures["paths"]:
        function = FLOOR if counted["id"] == "floor" else counted["id"]
        found[f"instructions_per_call/{function}"] = {
            "group": "instructions_per_call",
            "function": function,
            "unit": "instructions",
            "value": float(counted["instructions_per_call"]),
            "elements": None,
        }
        atomics = counted.get("atomics_per_call")
        if function != FLOOR and atomics is not None:
            found[f"atomics_per_call/{function}"] = {
                "group": "atomics_per_call",
                "function": function,
                "unit": "atomics",
                "value": float(atomics),
                "elements": None,
            }
    return found


def allocations_of(log):
    """{function: (allocations, bytes) per call} from the peers bench's output."""
    try:
        text = log.read_text()
    except OSError:
        return {}
    _, marker, rest = text.partition("allocations per call")
    if not marker:
        return {}
    return {m[1]: (float(m[2]), float(m[3])) for m in ALLOCATIONS.finditer(rest)}


def collect(out, bench, runs):
    """Every run's benchmarks of `bench`: a list of {id: benchmark}, and the
    peers' allocation counts per run."""
    per_run, allocations = [], []
    for run in range(1, runs + 1):
        folder = out / f"run-{run}"
        if bench in ("wire", "instructions"):
            path = folder / f"{bench}.json"
            if not path.exists():
                raise Failure(f"{bench}: run {run} left no {path}")
            per_run.append(wire_run(path) if bench == "wire" else instructions_run(path))
        else:
            home = folder / bench / "criterion"
            found = criterion_runs(home)
            if not found:
                raise Failure(f"{bench}: run {run} left no criterion estimates under {home}")
            per_run.append(found)
        if bench == "peers":
            allocations.append(allocations_of(folder / "peers.log"))
    return per_run, allocations


def natural(text):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def role_order(function):
    if function == FLOOR:
        return 0
    return 2 if function in PEERS else 1


def cost(value, unit):
    """A value where lower is better, so that ratios read alike."""
    return value if LOWER_IS_BETTER[unit] else 1.0 / value


def summarise(bench, per_run, allocations, previous_ids):
    """The benchmarks of one bench with medians, spreads and ratios, and what
    is missing."""
    first = {}
    for run in per_run:
        for benchmark, figure in run.items():
            first.setdefault(benchmark, figure)

    def order(benchmark):
        figure = first[benchmark]
        return natural(figure["group"]), role_order(figure["function"]), natural(benchmark)

    rows = [summarise_one(b, first[b], per_run, allocations) for b in sorted(first, key=order)]
    missing = [
        f"{bench}: `{row['id']}` is missing from run {', '.join(map(str, absent))}"
        for row in rows
        if (absent := row["missing_from_runs"])
    ]
    for pattern, baselines in EXPECTED.get(bench, {}).items():
        groups = {f["group"] for f in first.values() if group_matches(pattern, f["group"])}
        if not groups and not pattern.endswith("*"):
            missing.append(f"{bench}: no group `{pattern}`")
        missing += [
            f"{bench}: `{group}/{baseline}` (a baseline) is missing"
            for group in sorted(groups, key=natural)
            for baseline in baselines
            if f"{group}/{baseline}" not in first
        ]
    if bench == "peers" and not any("allocations" in row for row in rows):
        missing.append("peers: no allocation counts in the bench's output")
    for gone in sorted(set(previous_ids) - set(first), key=natural):
        missing.append(f"{bench}: `{gone}` was in the previous table and is missing now")
    return rows, missing


def summarise_one(benchmark, first, per_run, allocations):
    """One benchmark over the runs: the median of its run medians, their
    spread, and per baseline of its group the median of the runs' ratios."""
    values = [run[benchmark]["value"] for run in per_run if benchmark in run]
    unit = first["unit"]
    row = {
        "id": benchmark,
        "group": first["group"],
        "function": first["function"],
        "unit": unit,
        "runs": values,
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "elements": first["elements"],
        "missing_from_runs": [k for k, run in enumerate(per_run, 1) if benchmark not in run],
        "ratios": {},
    }
    for baseline in [FLOOR, *PEERS]:
        other = f"{first['group']}/{baseline}"
        ratios = [
            cost(run[benchmark]["value"], unit) / cost(run[other]["value"], unit)
            for run in per_run
            if benchmark in run
            and other in run
            and baseline != first["function"]
            and run[other]["value"] > 0
        ]
        if ratios:
            row["ratios"]["floor" if baseline == FLOOR else baseline] = statistics.median(ratios)
    counts = [a[first["function"]] for a in allocations if first["function"] in a]
    if counts:
        row["allocations"] = statistics.median(c[0] for c in counts)
        row["bytes"] = statistics.median(c[1] for c in counts)
    return row


def group_matches(pattern, group):
    if pattern.endswith("*"):
        return group.startswith(pattern[:-1])
    return group == pattern


def fmt_number(value):
    """Four significant digits, thousands separated."""
    if value == 0:
        return "0"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{3 - int(math.floor(math.log10(value))) if value >= 1 else 3}f}"


def fmt_value(value, unit):
    if unit == "ns":
        for scale, name in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
            if value >= scale:
                return f"{fmt_number(value / scale)} {name}"
        return f"{fmt_number(value)} ns"
    if unit == "calls/s":
        return f"{value:,.0f}"
    if unit == "instructions":
        return f"{value:,.0f}"
    if unit == "atomics":
        return f"{value:.1f}"
    return f"{fmt_number(value)} {unit}"


def fmt_ratio(ratio):
    if ratio >= 10:
        return f"{ratio:,.0f}x"
    if ratio >= 1.095 or ratio <= 0.905:
        return f"{ratio:.1f}x"
    return f"{ratio:.2f}x"


def against_peer(ratio, unit, ours):
    """Words for a cost ratio against a peer; bold where the peer beats ours."""
    better, worse = ("less", "more") if unit == "MiB" else ("faster", "slower")
    if abs(ratio - 1.0) < 0.005:
        return "even"
    if ratio < 1.0:
        return f"{fmt_ratio(1 / ratio)} {better}"
    return f"**{fmt_ratio(ratio)} {worse}**" if ours else f"{fmt_ratio(ratio)} {worse}"


def render_block(bench, rows, missing, meta):
    """The markdown block of one bench."""
    runs = meta.get("runs", "?")
    lines = [f"<!-- bench:block {bench} -->", f"### {bench}: {BENCHES[bench]}", ""]
    command = meta.get(f"command.{bench}", "")
    quick = ""
    if meta.get("quick") == "1":
        quick = " (criterion's `--quick`: a fast pass, wider spread)"
    lines += [
        f"`{meta.get('command', 'benches/run.sh')}` on {meta.get('date', '?')}, HEAD "
        f"{meta.get('head', '?')}, {runs} run{'' if runs == '1' else 's'} of `{command}`{quick}. "
        f"{meta.get('machine', '')}; load average (1, 5, 15 min) {meta.get('load_before', '?')} "
        f"before, {meta.get('load_after', '?')} after.",
        "",
    ]
    present = {key for row in rows for key in row["ratios"]}
    baselines = [b for b in ["floor", *PEERS] if b in present]
    per_element = any(row["elements"] for row in rows)
    with_allocations = any("allocations" in row for row in rows)
    header = ["benchmark", f"median of {runs} run{'' if runs == '1' else 's'}", "spread (min–max)"]
    if per_element:
        header.append("per element")
    header += [f"vs {'the floor' if b == 'floor' else PEERS[b]}" for b in baselines]
    if with_allocations:
        header += ["allocations / call", "bytes / call"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * (len(header) - 1))
    wins = []
    for row in rows:
        unit = row["unit"]
        ours = row["function"] != FLOOR and row["function"] not in PEERS
        name = f"`{row['id']}`"
        if row["missing_from_runs"]:
            name += f" (missing from run {', '.join(map(str, row['missing_from_runs']))})"
        cells = [
            name,
            fmt_value(row["median"], unit),
            f"{fmt_value(row['min'], unit)} – {fmt_value(row['max'], unit)}",
        ]
        if per_element:
            elements = row["elements"]
            cells.append(fmt_value(row["median"] / elements, unit) if elements else "")
        for baseline in baselines:
            ratio = row["ratios"].get(baseline)
            if ratio is None:
                cells.append("")
            elif baseline == "floor" and unit == "instructions":
                # Exact counts: the second decimal is real (and the targets
                # are 2x and 2.5x the floor).
                cells.append(f"{ratio:.2f}x")
            elif baseline == "floor":
                cells.append(fmt_ratio(ratio))
            else:
                cells.append(against_peer(ratio, unit, ours))
                if ours and ratio >= 1.005:
                    wins.append(f"{PEERS[baseline]} beats `{row['id']}` ({fmt_ratio(ratio)})")
        if with_allocations:
            if "allocations" in row:
                cells += [f"{row['allocations']:g}", f"{row['bytes']:,.0f}"]
            else:
                cells += ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if any(b != "floor" for b in baselines):
        if wins:
            lines.append("Where a peer wins: " + "; ".join(wins) + ".")
        else:
            lines.append("No peer wins in this run.")
        lines.append("")
    if missing:
        lines.append("**Missing:** " + "; ".join(missing) + ".")
        lines.append("")
    return "\n".join(lines)


def marker_lines(text, marker):
    """Where `marker` stands on a line of its own (prose may quote it)."""
    return [m.start() for m in re.finditer(rf"^{re.escape(marker)}[ \t]*$", text, re.M)]


def split_section(text, path):
    """(before, {bench: block}, after) of the generated section."""
    begins, ends = marker_lines(text, BEGIN), marker_lines(text, END)
    if len(begins) != 1 or len(ends) != 1 or begins[0] > ends[0]:
        raise Failure(
            f"{path} needs exactly one line `{BEGIN}` followed by one line `{END}` "
            "around the generated figures"
        )
    before = text[: begins[0]]
    inside = text[begins[0] + len(BEGIN) : ends[0]]
    after = text[ends[0] + len(END) :]
    blocks = {}
    starts = list(BLOCK.finditer(inside))
    for here, following in zip(starts, [*starts[1:], None]):
        end = following.start() if following else len(inside)
        blocks[here[1]] = inside[here.start() : end].strip("\n")
    return before, blocks, after


def previous_ids(block):
    return re.findall(r"^\| `([^`]+)`", block or "", re.M)


def join_section(before, blocks, after):
    ordered = [blocks[name] for name in BENCHES if name in blocks]
    ordered += [blocks[name] for name in blocks if name not in BENCHES]
    inside = "".join(f"{block.strip()}\n\n" for block in ordered)
    return f"{before}{BEGIN}\n{inside}{END}{after}"


def write_atomically(path, text):
    folder = path.parent
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(out, markdown, write):
    """Collects OUT, rewrites `markdown` (unless not `write`); returns the
    figures and what is missing."""
    meta = read_meta(out)
    benches = [b for b in meta.get("benches", "").split(",") if b]
    unknown = [b for b in benches if b not in BENCHES]
    if not benches or unknown:
        raise Failure(f"{out / 'meta.txt'}: benches= names none of {', '.join(BENCHES)}: {unknown}")
    try:
        runs = int(meta.get("runs", ""))
    except ValueError as err:
        raise Failure(f"{out / 'meta.txt'}: runs= is not a number") from err
    text = markdown.read_text() if write else None
    before, blocks, after = split_section(text, markdown) if write else ("", {}, "")
    figures, all_missing = {}, []
    for bench in benches:
        per_run, allocations = collect(out, bench, runs)
        rows, missing = summarise(bench, per_run, allocations, previous_ids(blocks.get(bench)))
        figures[bench] = rows
        all_missing += missing
        blocks[bench] = render_block(bench, rows, missing, meta)
    if write:
        write_atomically(markdown, join_section(before, blocks, after))
    return {"meta": meta, "benches": figures, "missing": all_missing}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder benches/run.sh filled")
    parser.add_argument("--markdown", type=Path, default=Path("BENCHMARKS.md"))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-write", action="store_true", help="leave the markdown file alone")
    args = parser.parse_args(argv)
    try:
        result = run(args.out, args.markdown, not args.no_write)
    except (Failure, OSError, ValueError, KeyError) as err:
        print(f"figures: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for bench, rows in result["benches"].items():
            print(f"{bench}: {len(rows)} benchmarks")
        if not args.no_write:
            print(f"rewrote the generated section of {args.markdown}")
    for line in result["missing"]:
        print(f"missing: {line}", file=sys.stderr)
    return 2 if result["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
