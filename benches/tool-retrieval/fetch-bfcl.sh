#!/usr/bin/env bash
# Fetches the labelled tool-retrieval set the `tool_retrieval` benchmark reads:
# the "live" categories of the Berkeley Function Calling Leaderboard (BFCL v4),
# queries contributed by real users with the function that answers each,
# as the `bfcl-eval` package on PyPI ships them (Apache-2.0). The data is not
# committed: this script puts it in DIR (default target/bfcl).
#
#   benches/tool-retrieval/fetch-bfcl.sh [DIR]
#   cargo bench --bench tool_retrieval -- target/bfcl
set -euo pipefail

VERSION=2026.3.23
dir=${1:-target/bfcl}
python=${PYTHON:-python3}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"$python" -m pip download --quiet --no-deps --dest "$scratch" "bfcl-eval==$VERSION"
mkdir -p "$dir"
"$python" - "$scratch"/bfcl_eval-"$VERSION"-*.whl "$dir" <<'PY'
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
wanted = ("BFCL_v4_live_simple.json", "BFCL_v4_live_multiple.json")
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.endswith(wanted) and name.startswith("bfcl_eval/data/"):
            kind = "answers" if "/possible_answer/" in name else "queries"
            target = f"{out}/{kind}-{name.rsplit('/', 1)[1]}"
            with open(target, "wb") as file:
                file.write(archive.read(name))
            print(target)
PY
