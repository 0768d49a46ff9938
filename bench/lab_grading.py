"""Whole-lab grading time and peak memory, pinned to one core, against Gradescope's defaults.

    python bench/lab_grading.py [--labs znode,fle,...] [--worst]

For each lab, `zablab lab grade` runs under `taskset -c 0` on the reference solution (all
tests run to the end) and on the untouched starter (every test fails fast). `--worst` adds a
submission whose every method loops forever, so each test runs into its timeout and the lab's
time budget decides. Printed per run: wall time, peak memory of the whole process tree (RSS
summed, sampled every 50 ms) and of its largest process, and both as a ratio of Gradescope's
default limits (10 min; the target for a lab is 5 min) and 768 MB.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from zablab.labs.registry import get_lab, lab_names

TARGET_SECONDS = 300.0
LIMIT_MB = 768.0
HANG_CLASS = {"znode": "ZNodeTree", "fle": "Election"}  # the class each lab's file defines
# labs whose file defines functions: each one loops forever
HANG_FUNCTIONS = {
    "paxos": ("on_prepare", "on_accept", "recover"),
    "zab": ("choose_sync", "follower_step", "commit_point"),
}
HANG_FUNCTION = """
def {name}(*args, **kwargs):
    while True:
        pass
"""
HANG = '''
class {cls}:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        def forever(*args, **kwargs):
            while True:
                pass
        return forever
'''


def tree_rss(proc: psutil.Process) -> tuple[int, int]:
    """(sum, max) RSS in bytes over a process and its descendants."""
    total = biggest = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    for p in procs:
        try:
            rss = p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
        total += rss
        biggest = max(biggest, rss)
    return total, biggest


def grade(lab: str, submission: Path, results: Path) -> tuple[float, float, float, float]:
    """(seconds, peak tree MB, peak single-process MB, score) of one pinned grading run."""
    cmd = [sys.executable, "-m", "zablab", "lab", "grade", lab, "--submission", str(submission),
           "--results", str(results), "--secret", "bench"]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(p.pid)
    peak_sum = peak_one = 0
    while p.poll() is None:
        s, m = tree_rss(proc)
        peak_sum, peak_one = max(peak_sum, s), max(peak_one, m)
        time.sleep(0.05)
    seconds = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"grading {lab} failed: {p.stderr.read() if p.stderr else ''}")
    import json

    score = float(json.loads(results.read_text())["score"])
    return seconds, peak_sum / 2**20, peak_one / 2**20, score


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--labs", default=",".join(lab_names()))
    ap.add_argument("--worst", action="store_true", help="also a submission that hangs everywhere")
    args = ap.parse_args()
    print(f"one core (taskset -c 0: {'yes' if shutil.which('taskset') else 'not found'}); "
          f"target {TARGET_SECONDS:g} s and {LIMIT_MB:g} MB per lab")
    print(f"{'lab':<10} {'submission':<10} {'score':>9} {'seconds':>8} {'÷300s':>6} "
          f"{'tree MB':>8} {'max MB':>7} {'÷768MB':>7}")
    with tempfile.TemporaryDirectory(prefix="zablab-bench-") as tmp:
        for name in args.labs.split(","):
            lab = get_lab(name)
            subs = {"reference": "reference", "starter": "starter"}
            runs: list[tuple[str, Path]] = []
            for label, kind in subs.items():
                d = Path(tmp) / f"{name}-{label}"
                d.mkdir()
                if kind == "reference" and lab.reference_submission is not None:
                    lab.reference_submission(d, "bench")  # bughunt: what its hunter finds
                    runs.append((label, d))
                    continue
                for f in lab.student_files:
                    shutil.copyfile(lab.resource(kind, f), d / f)
                runs.append((label, d))
            if args.worst and name in HANG_CLASS:
                d = Path(tmp) / f"{name}-hang"
                d.mkdir()
                for f in lab.student_files:
                    if name in HANG_FUNCTIONS:
                        text = "".join(HANG_FUNCTION.replace("{name}", fn)
                                       for fn in HANG_FUNCTIONS[name])
                    else:
                        text = HANG.replace("{cls}", HANG_CLASS[name])
                    (d / f).write_text(text)
                runs.append(("hangs", d))
            for label, d in runs:
                sec, tree_mb, one_mb, score = grade(name, d, Path(tmp) / f"{name}-{label}.json")
                print(f"{name:<10} {label:<10} {score:>4g}/{lab.max_points:<4g} {sec:>8.1f} "
                      f"{sec / TARGET_SECONDS:>6.2f} {tree_mb:>8.0f} {one_mb:>7.0f} "
                      f"{tree_mb / LIMIT_MB:>7.2f}", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
