"""Run many seeds of the deterministic ZAB simulation; print throughput and any failing seed.

    python bench/zab_seeds.py                      # 2000 seeds on 3 and on 5 replicas
    python bench/zab_seeds.py --seeds 10000 --jobs 2 --first 100000
    python bench/zab_seeds.py --bug diff-without-trunc --seeds 300   # how fast a bug is found

Figures: seeds/s, simulated events/s and virtual time per wall second, plus the ratio of the
faulty runs' rate to a fault-free baseline measured in the same invocation (the price of the
nemesis). Each failing seed is printed with the command that replays it; exit status 1 then.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace

from zablab.bugs import Layer, known
from zablab.errors import UserError
from zablab.sim import SimConfig, simulate


def run_range(args: tuple[SimConfig, int, int]) -> tuple[int, int, int, list[str], list[int]]:
    cfg, first, count = args
    events = virtual = 0
    failures: list[str] = []
    caught: list[int] = []
    for seed in range(first, first + count):
        r = simulate(seed, cfg)
        events += r.stats["events"]
        virtual += r.trace[-1]["t"] if r.trace else 0
        if not r.ok:
            failures.append(r.summary())
            caught.append(seed)
    return count, events, virtual, failures, caught


def measure(cfg: SimConfig, first: int, seeds: int, jobs: int) -> dict[str, object]:
    chunk = max(1, seeds // (jobs * 8))
    parts = [(cfg, s, min(chunk, first + seeds - s)) for s in range(first, first + seeds, chunk)]
    start = time.perf_counter()
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(run_range, parts))
    else:
        results = [run_range(p) for p in parts]
    took = time.perf_counter() - start
    return {
        "seeds": sum(r[0] for r in results),
        "events": sum(r[1] for r in results),
        "virtual_ms": sum(r[2] for r in results),
        "failures": [f for r in results for f in r[3]],
        "caught": sorted(s for r in results for s in r[4]),
        "seconds": took,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seeds", type=int, default=2000, help="seeds per cluster size")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--nodes", type=int, action="append", help="cluster sizes (default 3 and 5)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes")
    p.add_argument("--bug", action="append", default=[], help=", ".join(known([Layer.ZAB])))
    p.add_argument("--baseline-seeds", type=int, default=100, help="fault-free seeds to compare")
    a = p.parse_args()
    failed = 0
    for nodes in a.nodes or [3, 5]:
        try:
            cfg = SimConfig(nodes=nodes, bugs=tuple(a.bug))
        except UserError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 255
        base = measure(
            replace(cfg, fault_every_ms=10**9, bugs=()), a.first, a.baseline_seeds, a.jobs
        )
        m = measure(cfg, a.first, a.seeds, a.jobs)
        rate = m["seeds"] / m["seconds"]  # type: ignore[operator]
        base_rate = base["seeds"] / base["seconds"]  # type: ignore[operator]
        print(
            f"{nodes} replicas{' bugs=' + ','.join(a.bug) if a.bug else ''}: "
            f"{m['seeds']} seeds in {m['seconds']:.1f} s = {rate:.1f} seeds/s, "
            f"{m['events'] / m['seconds']:.0f} events/s, "  # type: ignore[operator]
            f"{m['virtual_ms'] / 1000 / m['seconds']:.0f} virtual s per s; "  # type: ignore[operator]
            f"fault-free baseline {base_rate:.1f} seeds/s (ratio {rate / base_rate:.2f}); "
            f"failing: {len(m['failures'])}"  # type: ignore[arg-type]
        )
        if a.bug:
            caught = m["caught"]
            print(f"  caught at seeds {caught[:10]}{' ...' if len(caught) > 10 else ''}")  # type: ignore[index]
        else:
            for f in m["failures"]:  # type: ignore[attr-defined]
                print(f)
        failed += len(m["failures"])  # type: ignore[arg-type]
    return 1 if failed and not a.bug else 0


if __name__ == "__main__":
    sys.exit(main())
