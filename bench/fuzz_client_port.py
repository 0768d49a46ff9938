#!/usr/bin/env python3
"""Longer fuzz run of the client port: the CI fuzz test with more cases; prints cases/s.

    python bench/fuzz_client_port.py --cases 20000

It runs tests/node/test_fuzz.py::test_fuzz_client_port (one `zablab node`, hypothesis frames,
the same checks as CI) with ZABLAB_FUZZ_CASES=N, then prints the fuzz rate next to a baseline
measured in the same run against the same server: plain connect + ruok + close connections/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=20000, help="hypothesis examples (default 20000)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="zablab-fuzz-") as tmp:
        stats = Path(tmp) / "stats.json"
        env = dict(os.environ, ZABLAB_FUZZ_CASES=str(args.cases), ZABLAB_FUZZ_STATS=str(stats))
        test = "tests/node/test_fuzz.py::test_fuzz_client_port"
        cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", test]
        rc = subprocess.call(cmd + ["--timeout", "0"], cwd=ROOT, env=env)
        if rc != 0 or not stats.exists():
            print(f"fuzz run failed (pytest exit code {rc}); see the output above", file=sys.stderr)
            return 1
        s = json.loads(stats.read_text())
    rate = s["cases"] / s["seconds"]
    base = s["baseline_per_s"]
    print(f"cases:            {s['cases']}")
    print(f"seconds:          {s['seconds']:.1f}")
    print(f"fuzz cases/s:     {rate:.0f}")
    print(f"ruok conns/s:     {base:.0f}  (baseline, same server, same run)")
    print(f"ratio fuzz/ruok:  {rate / base:.2f}")
    print("by kind:          " + ", ".join(f"{k}={v}" for k, v in sorted(s["kinds"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
