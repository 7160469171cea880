"""Hash every CSV/JSON that the README's commands write on the demo, to check a refactor changes no output.

    python benchmarks/snapshot_outputs.py before.json      # on the old code
    python benchmarks/snapshot_outputs.py after.json       # on the new code
    python benchmarks/snapshot_outputs.py --diff before.json after.json

Run-time fields (solver seconds) are dropped from JSON before hashing; everything else must be byte-identical.
The commands run in a temporary folder with the repository's example scenarios copied in.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    ["run", "--output", "out/run"],
    ["run", "--standard", "qiqihar-2025", "--lang", "zh", "--output", "out/run-zh"],
    ["run", "--minutes", "5,10", "--speed", "slow", "--demand-method", "nodes", "--no-isochrones", "--output",
     "out/run-nodes"],
    ["suggest", "--new-sites", "3", "--output", "out/suggest"],
    ["suggest", "--method", "set-cover", "--target", "0.95", "--output", "out/suggest-cover"],
    ["suggest", "--method", "p-median", "--new-sites", "2", "--lang", "zh", "--output", "out/suggest-pmedian"],
    ["run", "baseline.yaml", "plan.yaml"],
    ["compare", "baseline.yaml", "plan.yaml", "--output", "out/compare"],
    ["init", "example.yaml"],
    ["run", "example.yaml"],
]
TIMING_KEYS = {"time_s", "elapsed_s", "seconds"}


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def snapshot() -> dict[str, str]:
    hashes: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("baseline.yaml", "plan.yaml"):
            shutil.copy(REPO / "data" / "scenarios" / name, work / name)
        for cmd in COMMANDS:
            done = subprocess.run([sys.executable, "-m", "carecircle", *cmd, "--quiet"] if cmd[0] != "init"
                                  else [sys.executable, "-m", "carecircle", *cmd], cwd=work, capture_output=True,
                                  text=True)
            hashes["$ carecircle " + " ".join(cmd)] = f"exit {done.returncode}"
            if done.returncode:
                print(done.stderr, file=sys.stderr)
        for path in sorted(work.rglob("*")):
            if path.suffix == ".csv" or path.suffix == ".yaml":
                hashes[str(path.relative_to(work))] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.suffix == ".json":
                data = json.dumps(_clean(json.loads(path.read_text(encoding="utf-8"))), ensure_ascii=False)
                data = data.replace(tmp, "<tmp>").replace(str(REPO), "<repo>")
                hashes[str(path.relative_to(work))] = hashlib.sha256(data.encode()).hexdigest()
    return hashes


def main(argv: list[str]) -> int:
    if argv[:1] == ["--diff"]:
        before, after = (json.loads(Path(p).read_text()) for p in argv[1:3])
        differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        for key in differ:
            print(f"differs: {key}: {before.get(key)} -> {after.get(key)}")
        print(f"{len(before)} before, {len(after)} after, {len(differ)} differ")
        return 1 if differ else 0
    Path(argv[0]).write_text(json.dumps(snapshot(), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
