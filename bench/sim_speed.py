"""How fast the whole-node simulation runs: simulated seconds per wall second, 3 and 5 nodes.

    python bench/sim_speed.py                    # 40 seeds of the register workload each
    python bench/sim_speed.py --seeds 200 --workload set
    python bench/sim_speed.py --op-gap-ms 200          # a lighter client load

The whole node is the real server code (core, sessions, data tree, ZAB replica, storage on a
simulated disk) with wire-level clients, so its speed is what bounds how many seeds a search
or a grader can afford. Printed per cluster size: simulated s per wall s for the simulation
alone (also per CPU second, steadier on a shared machine) and with the checkers (linearizability, ZooKeeper, ZAB trace), the simulated load
(client ops per simulated s) and events per wall s; the ratio of 5 to 3 nodes; the 3-node
figure against the 200x target; and the search's states per second (bfs and dfs on 3 nodes
with the default bounds, each for --search-s seconds). Nothing is asserted: the figures are for
reading. On a shared machine the per-CPU-second figures are the ones to compare.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from zablab.sim.cluster import SimConfig
from zablab.sim.search import Bounds, search
from zablab.sim.whole import WholeConfig, WholeSim

TARGET = 200.0  # simulated seconds per wall second on 3 nodes


def measure(cfg: WholeConfig, seeds: int, first: int) -> dict[str, float]:
    sim_s = check_s = cpu_s = 0.0
    sim_ms = ops = events = 0
    not_valid = 0
    for seed in range(first, first + seeds):
        sim = WholeSim(seed, cfg)
        t0, c0 = time.perf_counter(), time.process_time()
        sim.simulate()
        t1, c1 = time.perf_counter(), time.process_time()
        r = sim.result()
        t2 = time.perf_counter()
        sim_s += t1 - t0
        check_s += t2 - t1
        cpu_s += c1 - c0
        sim_ms += r.stats["sim_ms"]
        ops += r.stats["ops"]
        events += r.stats["events"]
        not_valid += r.valid is not True
    virtual = sim_ms / 1000
    return {
        "speed": virtual / sim_s,
        "speed_cpu": virtual / cpu_s,
        "speed_checked": virtual / (sim_s + check_s),
        "load": ops / virtual,
        "events_per_s": events / sim_s,
        "virtual": virtual,
        "wall": sim_s + check_s,
        "not_valid": not_valid,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=40)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--workload", default="register")
    p.add_argument("--clients", type=int, default=WholeConfig().clients)
    p.add_argument(
        "--op-gap-ms", type=int, default=WholeConfig().op_gap_ms, help="mean client think time"
    )
    p.add_argument("--search-s", type=float, default=10.0, help="seconds per search strategy")
    args = p.parse_args()
    logging.getLogger("zablab.node").setLevel(logging.ERROR)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall figures drop when shared)")
    figures = {}
    for nodes in (3, 5):
        cfg = WholeConfig(
            nodes=nodes, workload=args.workload, clients=args.clients, op_gap_ms=args.op_gap_ms
        )
        m = figures[nodes] = measure(cfg, args.seeds, args.first)
        print(
            f"{nodes} nodes: {m['speed']:.0f}x real time simulating, "
            f"({m['speed_cpu']:.0f}x per CPU second), {m['speed_checked']:.0f}x with the checkers "
            f"({m['virtual']:.0f} simulated s in {m['wall']:.1f} wall s, {args.seeds} seeds, "
            f"{m['load']:.0f} client ops per simulated s, {m['events_per_s']:.0f} events/s, "
            f"{m['not_valid']:.0f} seeds not valid)",
            flush=True,
        )
    three, five = figures[3]["speed"], figures[5]["speed"]
    print(f"5 nodes run at {five / three:.2f} of the 3-node speed")
    cpu3 = figures[3]["speed_cpu"]
    print(
        f"3 nodes against the {TARGET:.0f}x target: {three / TARGET:.2f} of it per wall second "
        f"({'met' if three >= TARGET else 'not met'}), {cpu3 / TARGET:.2f} per CPU second "
        f"({'met' if cpu3 >= TARGET else 'not met'})"
    )
    for strategy in ("bfs", "dfs"):
        c0 = time.process_time()
        res = search(SimConfig(nodes=3), strategy, Bounds(time_limit=args.search_s))
        cpu = time.process_time() - c0
        print(
            f"search {strategy} on 3 nodes (default bounds): {res.states} states in "
            f"{res.seconds:.1f} s = {res.states / max(res.seconds, 1e-9):.0f} states/s "
            f"({res.states / max(cpu, 1e-9):.0f} per CPU second), {res.pruned} pruned as "
            f"repeats, {len(res.violations)} violations",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
