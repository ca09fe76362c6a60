"""Tests of benches/figures.py on a fake run folder, as benches/run.sh
leaves it: `python3 -m unittest discover -s benches -p test_figures.py`
(or `benches/run.sh --self-test`; .ci/run runs it)."""

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import figures

MARKDOWN = """# Benchmarks

Prose before the section, kept as it is, even where it quotes
`<!-- bench:begin -->` and `<!-- bench:end -->`.

<!-- bench:begin -->
<!-- bench:block lookup -->
### lookup: an older table

| benchmark | median |
|---|---:|
| `lookup_hit/10/perfect_index` | 1 ns |
| `lookup_hit/10/renamed_away` | 2 ns |

<!-- bench:block dispatch -->
### dispatch: left alone when dispatch does not run
<!-- bench:end -->

## Hand-written history

| kept | as is |
"""

PEERS_LOG = """Benchmarking add_among_32/hand_written_match
allocations per call (1,000 calls):
  hand_written_match            1.0 allocations      128 bytes
  rustchain_call_blocking       1.0 allocations      128 bytes
  rmcp_tool_router              8.0 allocations     1017 bytes
"""


def criterion_benchmark(root, group, function, median_ns, elements=None):
    """What criterion 0.8 writes for one benchmark (the fields read)."""
    folder = root / group / function / "new"
    folder.mkdir(parents=True)
    throughput = {"Elements": elements} if elements else None
    (folder / "benchmark.json").write_text(
        json.dumps(
            {
                "group_id": group,
                "function_id": function,
                "value_str": None,
                "throughput": throughput,
                "full_id": f"{group}/{function}",
                "directory_name": f"{group}/{function}",
                "title": f"{group}/{function}",
            }
        )
    )
    estimate = {
        "confidence_interval": {
            "confidence_level": 0.95,
            "lower_bound": median_ns * 0.9,
            "upper_bound": median_ns * 1.1,
        },
        "point_estimate": median_ns,
        "standard_error": 1.0,
    }
    (folder / "estimates.json").write_text(
        json.dumps({"mean": dict(estimate, point_estimate=median_ns * 2), "median": estimate})
    )


class Run:
    """A fake OUT folder of benches/run.sh with a BENCHMARKS.md beside it."""

    def __init__(self, benches, runs):
        self.temporary = tempfile.TemporaryDirectory()
        root = Path(self.temporary.name)
        self.out = root / "out"
        self.out.mkdir()
        self.markdown = root / "BENCHMARKS.md"
        self.markdown.write_text(MARKDOWN)
        meta = {
            "command": f"benches/run.sh --runs {runs}",
            "date": "2026-12-02 14:00 UTC",
            "head": "abc1234",
            "machine": "2 cores (Test CPU), Linux 6.18, rustc 1.95.0",
            "runs": str(runs),
            "quick": "0",
            "benches": ",".join(benches),
            "load_before": "0.10 0.20 0.30",
            "load_after": "0.40 0.50 0.60",
        }
        meta.update({f"command.{b}": f"cargo bench --bench {b}" for b in benches})
        (self.out / "meta.txt").write_text("".join(f"{k}={v}\n" for k, v in meta.items()))

    def criterion(self, run, bench):
        return self.out / f"run-{run}" / bench / "criterion"

    def rewrite(self, *extra):
        stderr, stdout = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            status = figures.main([str(self.out), "--markdown", str(self.markdown), *extra])
        return status, stdout.getvalue(), stderr.getvalue()

    def close(self):
        self.temporary.cleanup()


def lookup_run(run, k, scale=1.0, with_std=True, with_renamed=False):
    folder = run.criterion(k, "lookup")
    for size in (10, 1000):
        group = f"lookup_hit/{size}"
        criterion_benchmark(folder, group, "perfect_index", 5000.0 * scale, 1000)
        criterion_benchmark(folder, group, "hashbrown_foldhash", 10000.0, 1000)
        if with_std:
            criterion_benchmark(folder, group, "std_hashmap", 20000.0, 1000)
    if with_renamed:
        criterion_benchmark(folder, "lookup_hit/10", "renamed_away", 1.0)


def row(text, benchmark):
    """The cells of the table row of `benchmark`."""
    for line in text.splitlines():
        if line.startswith(f"| `{benchmark}`"):
            return [cell.strip() for cell in line.strip("|").split("|")]
    raise AssertionError(f"no row for {benchmark} in:\n{text}")


class Figures(unittest.TestCase):
    def setUp(self):
        self.run = None

    def tearDown(self):
        if self.run:
            self.run.close()

    def test_the_table_gives_medians_spreads_and_ratios_of_the_same_run(self):
        self.run = Run(["lookup"], runs=3)
        for k, scale in ((1, 1.0), (2, 1.2), (3, 0.9)):
            lookup_run(self.run, k, scale, with_renamed=True)
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 0, stderr)
        text = self.run.markdown.read_text()
        # Median of 4.5, 5.0 and 6.0 µs; per element a thousandth; ratios per
        # run (0.45, 0.5, 0.6 of hashbrown), their median.
        self.assertEqual(
            row(text, "lookup_hit/10/perfect_index"),
            ["`lookup_hit/10/perfect_index`", "5.000 µs", "4.500 µs – 6.000 µs", "5.000 ns",
             "2.0x faster", "4.0x faster"],
        )
        self.assertEqual(
            row(text, "lookup_hit/1000/std_hashmap")[4:],
            ["2.0x slower", ""],  # a peer against a peer: not bold
        )
        self.assertIn("| benchmark | median of 3 runs | spread (min–max) | per element | vs hashbrown | vs std HashMap |", text)
        self.assertIn("No peer wins in this run.", text)
        self.assertIn("`benches/run.sh --runs 3` on 2026-12-02 14:00 UTC, HEAD abc1234", text)
        self.assertIn("2 cores (Test CPU), Linux 6.18, rustc 1.95.0", text)
        self.assertIn("0.10 0.20 0.30 before, 0.40 0.50 0.60 after", text)

    def test_text_outside_the_markers_and_other_benches_blocks_survive(self):
        self.run = Run(["lookup"], runs=1)
        lookup_run(self.run, 1, with_renamed=True)
        self.run.rewrite()
        text = self.run.markdown.read_text()
        before, _ = MARKDOWN.split(figures.BEGIN + "\n")
        _, after = MARKDOWN.split("\n" + figures.END)
        self.assertTrue(text.startswith(before + figures.BEGIN + "\n"))
        self.assertTrue(text.endswith("\n" + figures.END + after))
        self.assertIn("### dispatch: left alone when dispatch does not run", text)
        self.assertNotIn("an older table", text)
        # The set's order: dispatch's block before lookup's.
        self.assertLess(text.index("<!-- bench:block dispatch -->"), text.index("<!-- bench:block lookup -->"))

    def test_a_missing_benchmark_is_reported_not_dropped(self):
        self.run = Run(["lookup"], runs=2)
        lookup_run(self.run, 1, with_renamed=True)
        lookup_run(self.run, 2, with_std=False)
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 2)
        text = self.run.markdown.read_text()
        # In one run only: kept, with the run it is missing from.
        self.assertEqual(
            row(text, "lookup_hit/10/std_hashmap")[:2],
            ["`lookup_hit/10/std_hashmap` (missing from run 2)", "20.00 µs"],
        )
        self.assertIn("lookup: `lookup_hit/10/std_hashmap` is missing from run 2", stderr)
        self.assertIn("**Missing:** ", text)
        # In the previous table, in no run now.
        self.run.close()
        self.run = Run(["lookup"], runs=1)
        lookup_run(self.run, 1)
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 2)
        self.assertIn("`lookup_hit/10/renamed_away` was in the previous table and is missing now", stderr)
        self.assertIn("renamed_away` was in the previous table", self.run.markdown.read_text())

    def test_a_missing_baseline_is_reported(self):
        self.run = Run(["lookup"], runs=1)
        lookup_run(self.run, 1, with_std=False, with_renamed=True)
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 2)
        self.assertIn("`lookup_hit/10/std_hashmap` (a baseline) is missing", stderr)

    def test_a_run_without_figures_rewrites_nothing(self):
        self.run = Run(["lookup"], runs=2)
        lookup_run(self.run, 1, with_renamed=True)
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 1)
        self.assertIn("lookup: run 2 left no criterion estimates", stderr)
        self.assertEqual(self.run.markdown.read_text(), MARKDOWN)
        self.assertEqual([p.name for p in self.run.markdown.parent.iterdir() if p.name.startswith(".")], [])

    def test_without_markers_nothing_is_written(self):
        self.run = Run(["lookup"], runs=1)
        lookup_run(self.run, 1)
        self.run.markdown.write_text("# Benchmarks\n\nno markers\n")
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 1)
        self.assertIn("<!-- bench:begin -->", stderr)
        self.assertEqual(self.run.markdown.read_text(), "# Benchmarks\n\nno markers\n")

    def test_the_peers_allocations_and_a_winning_peer(self):
        self.run = Run(["peers"], runs=1)
        folder = self.run.criterion(1, "peers")
        criterion_benchmark(folder, "add_among_32", "hand_written_match", 140.0)
        criterion_benchmark(folder, "add_among_32", "rustchain_call_blocking", 460.0)
        criterion_benchmark(folder, "add_among_32", "rmcp_tool_router", 400.0)
        criterion_benchmark(folder, "add_among_32", "rig_dynamic_tools", 2300.0)
        (self.run.out / "run-1" / "peers.log").write_text(PEERS_LOG)
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 0, stderr)
        text = self.run.markdown.read_text()
        self.assertEqual(
            row(text, "add_among_32/rustchain_call_blocking"),
            ["`add_among_32/rustchain_call_blocking`", "460.0 ns", "460.0 ns – 460.0 ns",
             "3.3x", "**1.1x slower**", "5.0x faster", "1", "128"],
        )
        # The floor comes first; a peer's row without counts stays empty.
        self.assertLess(text.index("hand_written_match`"), text.index("rustchain_call_blocking`"))
        self.assertEqual(row(text, "add_among_32/rig_dynamic_tools")[-2:], ["", ""])
        self.assertIn("Where a peer wins: rmcp beats `add_among_32/rustchain_call_blocking` (1.1x).", text)

    def test_the_wire_bench_and_json_output(self):
        self.run = Run(["wire"], runs=2)
        for k, ours in ((1, 30000.0), (2, 34000.0)):
            (self.run.out / f"run-{k}").mkdir()
            servers = [
                {"id": "mcp_serve_no_audit", "label": "ours", "sequential_calls_per_s": ours,
                 "in_flight_16_calls_per_s": 140000.0, "peak_rss_kib": 10240.0, "first_reply_ms": 4.6},
                {"id": "rmcp_stdio_pipes", "label": "rmcp", "sequential_calls_per_s": 20000.0,
                 "in_flight_16_calls_per_s": 40000.0, "peak_rss_kib": 5120.0, "first_reply_ms": 2.6},
            ]
            (self.run.out / f"run-{k}" / "wire.json").write_text(
                json.dumps({"calls": 2000, "rounds": 1, "servers": servers})
            )
        status, stdout, stderr = self.run.rewrite("--json", "--no-write")
        self.assertEqual(self.run.markdown.read_text(), MARKDOWN)
        # rmcp stdio() and FastMCP did not run: reported.
        self.assertEqual(status, 2)
        self.assertIn("`sequential/fastmcp` (a baseline) is missing", stderr)
        result = json.loads(stdout)
        sequential = next(
            r for r in result["benches"]["wire"] if r["id"] == "sequential/mcp_serve_no_audit"
        )
        self.assertEqual(sequential["runs"], [30000.0, 34000.0])
        self.assertEqual(sequential["median"], 32000.0)
        # The ratio of each run (0.667, 0.588), then their median.
        self.assertAlmostEqual(sequential["ratios"]["rmcp_stdio_pipes"], (20 / 30 + 20 / 34) / 2)
        self.run.rewrite()
        text = self.run.markdown.read_text()
        self.assertEqual(row(text, "sequential/mcp_serve_no_audit")[1:], ["32,000", "30,000 – 34,000", "1.6x faster"])
        self.assertEqual(row(text, "peak_rss/mcp_serve_no_audit")[1:], ["10.00 MiB", "10.00 MiB – 10.00 MiB", "**2.0x more**"])
        self.assertIn("rmcp stdio_pipes() beats `first_reply/mcp_serve_no_audit` (1.8x)", text)

    def test_the_instruction_counts_against_the_floor(self):
        self.run = Run(["instructions"], runs=2)
        for k in (1, 2):
            (self.run.out / f"run-{k}").mkdir()
            paths = [
                {"id": "floor", "instructions_per_call": 1062.0, "atomics_per_call": 0.0},
                {"id": "call_blocking", "instructions_per_call": 2302.0 + k, "atomics_per_call": 9.0},
                {"id": "call_async", "instructions_per_call": 3477.0, "atomics_per_call": None},
            ]
            (self.run.out / f"run-{k}" / "instructions.json").write_text(
                json.dumps({"calls": 20000, "valgrind": "valgrind-3.19.0", "paths": paths})
            )
        status, _, stderr = self.run.rewrite()
        self.assertEqual(status, 0, stderr)
        text = self.run.markdown.read_text()
        self.assertIn("### instructions: instructions per call", text)
        self.assertEqual(
            row(text, "instructions_per_call/call_blocking")[1:],
            ["2,304", "2,303 – 2,304", "2.17x"],
        )
        self.assertEqual(row(text, "instructions_per_call/hand_written_match")[1:3], ["1,062", "1,062 – 1,062"])
        # Atomics are a group of their own with no floor to divide by;
        # a path counted without them has no row there.
        self.assertEqual(row(text, "atomics_per_call/call_blocking")[1:], ["9.0", "9.0 – 9.0", ""])
        self.assertNotIn("atomics_per_call/call_async", text)
        self.assertNotIn("atomics_per_call/hand_written_match", text)


# A stand-in for cargo on the PATH of benches/run.sh: builds succeed; a run
# writes one criterion benchmark into $CRITERION_HOME, or fails where
# $FAKE_CARGO_FAIL says (`build` or `run`).
FAKE_CARGO = """#!PYTHON
import json, os, sys
from pathlib import Path
fail = os.environ.get("FAKE_CARGO_FAIL")
if "--no-run" in sys.argv:
    sys.exit(101 if fail == "build" else 0)
if fail == "run":
    print("thread 'main' panicked at benches/lookup.rs")
    sys.exit(101)
new = Path(os.environ["CRITERION_HOME"]) / "lookup_hit/10/perfect_index/new"
new.mkdir(parents=True)
(new / "benchmark.json").write_text(json.dumps(
    {"group_id": "lookup_hit/10", "function_id": "perfect_index", "value_str": None, "throughput": None}))
(new / "estimates.json").write_text(json.dumps({"median": {"point_estimate": 12.5}}))
print("quick" if "--quick" in sys.argv else "full")
"""


class RunScript(unittest.TestCase):
    """benches/run.sh itself, with a fake cargo: it stops on a failing bench
    with its name and log, and never touches BENCHMARKS.md then."""

    def setUp(self):
        self.temporary = tempfile.TemporaryDirectory()
        root = Path(self.temporary.name)
        bin_dir = root / "bin"
        bin_dir.mkdir()
        cargo = bin_dir / "cargo"
        cargo.write_text(FAKE_CARGO.replace("PYTHON", sys.executable))
        cargo.chmod(0o755)
        self.target = root / "target"
        self.env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
                        CARGO_TARGET_DIR=str(self.target))
        self.env.pop("FAKE_CARGO_FAIL", None)
        self.script = Path(__file__).resolve().parent / "run.sh"
        self.markdown = self.script.parent.parent / "BENCHMARKS.md"
        self.digest = hashlib.sha256(self.markdown.read_bytes()).hexdigest()

    def tearDown(self):
        self.assertEqual(
            hashlib.sha256(self.markdown.read_bytes()).hexdigest(), self.digest,
            "BENCHMARKS.md must be left alone",
        )
        self.temporary.cleanup()

    def run_script(self, *args, fail=None):
        env = dict(self.env, FAKE_CARGO_FAIL=fail) if fail else self.env
        return subprocess.run(["bash", str(self.script), *args], env=env,
                              capture_output=True, text=True, timeout=60)

    def test_a_failing_bench_stops_the_script_with_its_name_and_log(self):
        done = self.run_script("--only", "lookup", "--runs", "2", fail="run")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("run.sh: lookup failed in run 1 of 2; log: ", done.stderr)
        log = Path(done.stderr.split("log: ")[-1].split(" ")[0])
        self.assertIn("panicked", log.read_text())
        self.assertTrue(log.is_relative_to(self.target))

    def test_a_failing_build_stops_the_script_before_any_run(self):
        done = self.run_script("--only", "lookup", fail="build")
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("run.sh: building lookup failed; log: ", done.stderr)
        self.assertNotIn("run 1 of", done.stderr)

    def test_every_run_is_collected(self):
        done = self.run_script("--only", "lookup", "--runs", "2", "--quick", "--json", "--no-write")
        self.assertEqual(done.returncode, 2, done.stderr)  # the fake has no baselines
        result = json.loads(done.stdout)
        [row] = result["benches"]["lookup"]
        self.assertEqual((row["id"], row["runs"]), ("lookup_hit/10/perfect_index", [12.5, 12.5]))
        meta = result["meta"]
        self.assertEqual(meta["command"], "benches/run.sh --runs 2 --quick --only lookup")
        self.assertEqual(meta["command.lookup"], "cargo bench --bench lookup -- --quick")
        for key in ("date", "head", "machine", "load_before", "load_after"):
            self.assertTrue(meta[key], key)


if __name__ == "__main__":
    unittest.main()
