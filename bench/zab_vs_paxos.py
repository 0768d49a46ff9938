"""Simulator messages per committed write, ZAB beside Multi-Paxos, in the same run.

    python bench/zab_vs_paxos.py [--seeds N] [--nodes N]

Both protocols run the same seeds of the deterministic simulator (zablab/sim), once without
faults (steady state: the protocol's own cost per write plus heartbeats) and once with the
default nemesis (elections, recovery and catch-up included). A write counts as committed when
it is in the final delivered sequence. Messages are every peer message the simulated network
carried, election traffic included. The ratio is Paxos over ZAB.
"""

from __future__ import annotations

import argparse
import time

from zablab.sim.cluster import SimConfig, simulate

NO_FAULTS = 10**9  # mean gap between nemesis actions: none within a run


def measure(protocol: str, seeds: int, nodes: int, fault_every_ms: int) -> dict[str, float]:
    msgs = writes = bad = 0
    t0 = time.perf_counter()
    for seed in range(seeds):
        cfg = SimConfig(protocol=protocol, nodes=nodes, fault_every_ms=fault_every_ms)
        r = simulate(seed, cfg)
        msgs += r.stats["messages"]
        writes += r.stats["delivered"]
        bad += not r.ok
    return {
        "messages": msgs,
        "writes": writes,
        "per_write": msgs / max(writes, 1),
        "seconds": time.perf_counter() - t0,
        "violating_seeds": bad,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--nodes", type=int, default=3)
    args = ap.parse_args()
    for label, faults in (
        ("no faults", NO_FAULTS),
        ("default nemesis", SimConfig().fault_every_ms),
    ):
        res = {p: measure(p, args.seeds, args.nodes, faults) for p in ("zab", "paxos")}
        print(f"{label}, {args.nodes} nodes, seeds 0..{args.seeds - 1}:")
        for p, r in res.items():
            print(
                f"  {p:<6} {r['messages']:>8} messages / {r['writes']:>6} committed writes"
                f" = {r['per_write']:6.2f} per write  ({r['seconds']:.1f} s,"
                f" {r['violating_seeds']} seeds with violations)"
            )
        ratio = res["paxos"]["per_write"] / max(res["zab"]["per_write"], 1e-9)
        print(f"  paxos/zab messages per write: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
