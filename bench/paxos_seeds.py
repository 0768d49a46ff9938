"""Multi-Paxos safety at scale: random whole-node seeds per Paxos mode, bare-replica seeds and
search on 3 nodes, counting violations of Paxos's own properties (agreement, integrity).

    python bench/paxos_seeds.py [--seeds 1000] [--jobs 2] [--search-time 60]

Each whole-node seed runs three ZooKeeper servers on Paxos (`zablab sim --workload register
--protocol paxos --paxos-mode M`) under the default nemesis; its replicas' trace goes to the
ZAB checker, whose agreement and integrity must hold in both modes. Primary order may break (it
is what Paxos does not promise); the figures say how often it did, and how often the clients'
history was still valid. The bare-replica seeds and the bfs/dfs searches run the replica alone
(payloads are opaque there, so they have no mode), with ticks as choices, since Paxos's
failure detector and election run on them. Any seed with a violation is printed with
its replay command; the exit status is 1 if there was one.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import time
from collections import Counter

from zablab.checkers.result import Result
from zablab.sim.cluster import SimConfig, simulate
from zablab.sim.search import Bounds, search
from zablab.sim.whole import WholeConfig, simulate_whole

PAXOS_OWN = ("agreement", "integrity")
PRIMARY_ORDER = ("local-primary-order", "global-primary-order", "primary-integrity")


def leaves(r: Result) -> list[Result]:
    return [x for c in r.children for x in leaves(c)] if r.children else [r]


def whole_seed(job: tuple[int, str]) -> tuple[int, list[str], bool, object]:
    """(seed, Paxos-property violations, primary order broken, the history's verdict)."""
    seed, mode = job
    cfg = WholeConfig(protocol="paxos", paxos_mode=mode, nodes=3)
    r = simulate_whole(seed, cfg)
    zab = [x for x in leaves(r.result) if x.checker in PAXOS_OWN + PRIMARY_ORDER]
    bad = [
        f"{x.checker}: {x.details.get('examples', [''])[:1]}"
        for x in zab
        if x.checker in PAXOS_OWN and x.valid is False
    ]
    broken = any(x.checker in PRIMARY_ORDER and x.valid is False for x in zab)
    history = next((c.valid for c in r.result.children if c.checker == cfg.workload), None)
    return seed, bad, broken, history


def bare_seed(seed: int) -> tuple[int, list[str]]:
    r = simulate(seed, SimConfig(protocol="paxos", nodes=3))
    return seed, [v for v in r.violations if v.startswith(tuple(p + ":" for p in PAXOS_OWN))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--search-time", type=float, default=60.0, help="seconds per search")
    args = ap.parse_args()
    logging.getLogger("zablab.node").setLevel(logging.ERROR)  # the servers' own log
    failed = 0
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(args.jobs) as pool:
        for mode in ("deltas", "commands"):
            t0 = time.perf_counter()
            jobs = [(s, mode) for s in range(args.seeds)]
            broken, verdicts, bad = 0, Counter(), []
            for seed, v, b, history in pool.imap(whole_seed, jobs, chunksize=4):
                broken += b
                verdicts[str(history)] += 1
                bad += [f"seed {seed}: {x}" for x in v]
            took = time.perf_counter() - t0
            failed += len(bad)
            print(
                f"whole node, paxos/{mode}, 3 nodes, seeds 0..{args.seeds - 1}: "
                f"{len(bad)} agreement/integrity violations; primary order broken in {broken} "
                f"seeds ({broken / args.seeds:.1%}); history verdicts {dict(verdicts)}; "
                f"{took:.0f} s ({args.seeds / took:.1f} seeds/s)",
                flush=True,
            )
            for line in bad[:10]:
                print(
                    f"  {line} (replay: zablab sim --workload register --protocol paxos "
                    f"--paxos-mode {mode} --seed {line.split()[1].rstrip(':')})"
                )
        t0 = time.perf_counter()
        bad = [f"seed {s}: {v}" for s, vs in pool.imap(bare_seed, range(args.seeds), 8) for v in vs]
        took = time.perf_counter() - t0
        failed += len(bad)
        print(
            f"bare replicas, paxos, 3 nodes, seeds 0..{args.seeds - 1}: {len(bad)} "
            f"agreement/integrity violations; {took:.0f} s ({args.seeds / took:.1f} seeds/s)",
            flush=True,
        )
        for line in bad[:10]:
            print(f"  {line}")
    only = tuple(p + ":" for p in PAXOS_OWN)
    for strategy in ("bfs", "dfs"):
        # Paxos runs on ticks (no timers): without them no leader is ever elected
        bounds = Bounds(ticks=True, time_limit=args.search_time, max_states=10**7)
        res = search(SimConfig(protocol="paxos", nodes=3), strategy, bounds, only=only)
        failed += bool(res.violations)
        print(f"search {strategy}, paxos, 3 nodes (agreement/integrity): {res.summary()}")
        for v in res.violations[:5]:
            print(f"  - {v}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
