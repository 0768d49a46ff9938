"""Linearizability checker speed and memory on porcupine's corpus, beside porcupine's figures.

    python bench/checker_porcupine.py [--repeat N] [--baseline]

Porcupine (Go) reports, for its own test run on this class of machine: all 102 etcd histories
in about 0.4 s, c50-ok in 0.17 s and c50-bad in 0.07 s. The ratios printed are zablab's time
over those figures (target: at most 2). Each figure is the best of --repeat runs, because other
work on the machine only ever adds time. `--baseline` also times the search with the crashed-op
prunings switched off, in the same run, to show what they buy. Peak memory is the process's
maximum resident set size (the target is under 1 GB for the whole etcd corpus).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from pathlib import Path

from zablab.checkers.linearizable import check_linearizable, pair_ops
from zablab.checkers.models import KV, CasRegister
from zablab.history.formats import read_etcd_log, read_kv_log

PORCUPINE = {"etcd (102 histories)": 0.4, "kv/c50-ok": 0.17, "kv/c50-bad": 0.07}


def corpus() -> Path:
    base = os.environ.get("ZABLAB_CORPORA")
    root = Path(base) if base else Path(__file__).resolve().parents[2] / "shared" / "corpora"
    return root / "porcupine"


def best_time(fn, repeat: int) -> tuple[float, float, object]:
    """Best wall-clock and best CPU seconds of `repeat` runs, and the last result."""
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
    return best, best_cpu, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", action="store_true", help="also time the unpruned search")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    root = corpus()
    if not (root / "expected.json").is_file():
        print(f"porcupine corpus not found at {root} (set ZABLAB_CORPORA)")
        return 1
    expected = json.loads((root / "expected.json").read_text())["linearizable"]
    etcd = sorted(n for n in expected if n.startswith("etcd/"))
    parsed = {n: pair_ops(read_etcd_log(root / n)) for n in etcd}
    for n in ("kv/c50-ok.txt", "kv/c50-bad.txt", "kv/c10-ok.txt", "kv/c10-bad.txt"):
        parsed[n] = pair_ops(read_kv_log(root / n))
    wrong: list[str] = []

    def run(names: list[str], prune: bool = True) -> list[tuple[str, float]]:
        out = []
        for n in names:
            model = CasRegister() if n.startswith("etcd/") else KV()
            t = time.perf_counter()
            r = check_linearizable(parsed[n], model, timeout=args.timeout, prune=prune)
            out.append((n, time.perf_counter() - t))
            if prune and r.valid is not expected[n]:
                wrong.append(f"{n}: got {r.valid}, expected {expected[n]}")
        return out

    rows = []
    t_etcd, c_etcd, per = best_time(lambda: run(etcd), args.repeat)
    rows.append(("etcd (102 histories)", t_etcd, c_etcd))
    slowest = sorted(per, key=lambda x: -x[1])[:4]  # type: ignore[union-attr]
    for name in ("kv/c50-ok", "kv/c50-bad", "kv/c10-ok", "kv/c10-bad"):
        t, c, _ = best_time(lambda name=name: run([name + ".txt"]), args.repeat)
        rows.append((name, t, c))
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time suffers under load)"
    )
    print(
        f"{'history':<22} {'wall s':>8} {'cpu s':>8} {'porcupine s':>12} {'ratio wall':>11} {'ratio cpu':>10}"
    )
    for name, t, c in rows:
        ref = PORCUPINE.get(name)
        rw = f"{t / ref:11.2f}" if ref else "          -"
        rc = f"{c / ref:10.2f}" if ref else "         -"
        print(f"{name:<22} {t:8.3f} {c:8.3f} {ref if ref else '-':>12} {rw} {rc}")
    print(
        "slowest etcd histories: " + ", ".join(f"{n.split('/')[1]} {t:.3f} s" for n, t in slowest)
    )
    print(f"slowest single history: {max(t for _, t in per):.3f} s (limit 10 s)")  # type: ignore[union-attr]
    if args.baseline:
        t_base, _, _ = best_time(lambda: run(etcd, prune=False), 1)
        print(
            f"etcd without crashed-op pruning: {t_base:.3f} s; pruning speed-up {t_base / t_etcd:.1f}x"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS of this process): {peak:.0f} MB (limit 1024 MB)")
    if wrong:
        print("WRONG VERDICTS:\n  " + "\n  ".join(wrong))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
