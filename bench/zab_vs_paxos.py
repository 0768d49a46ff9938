"""ZAB beside Multi-Paxos, in the same run on the same machine: a real 3-node ensemble under a
kazoo load, failover after a leader SIGKILL, and simulator messages per committed write.

    python bench/zab_vs_paxos.py [--seeds N] [--nodes N] [--seconds S] [--rounds R]
                                 [--failovers F] [--only sim|ensemble]

Ensemble: one 3-node ensemble per protocol (Paxos once per mode in PAXOS_MODES), all up at
once, fsync on, tickTime 200 ms. One kazoo client on a follower of each (writes are forwarded
to the leader, as for most ZooKeeper clients) runs `setData` of 100 bytes synchronously (ops/s
and latency percentiles) and with 20 in flight (ops/s). Rows alternate between the ensembles
`--rounds` times, so load from elsewhere on the machine hits every side alike.
Failover: SIGKILL the leader while a client of the survivors retries one write; the figure is
the time from the kill to the first acknowledged write (median over `--failovers` kills, the
killed node restarted and every node serving again between them).
Simulator: the same seeds of the deterministic simulator (zablab/sim) for both protocols, once
without faults and once with the default nemesis; a write counts as committed when it is in the
final delivered sequence; messages are every peer message, election traffic included.
Ratios are Paxos over ZAB. Absolute figures depend on the machine and its disk.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shutil
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable

from kazoo.client import KazooClient

from zablab.apache.fourletter import four_letter
from zablab.node.launcher import NodeProcess, launch_ensemble
from zablab.sim.cluster import SimConfig, simulate

# the standalone benchmark's client and value (this script's directory is on sys.path)
from server_vs_zookeeper import PATH, VALUE, connect  # isort: skip

NO_FAULTS = 10**9  # mean gap between nemesis actions: none within a run
TICK_MS = 200
PAXOS_MODES = ("deltas", "commands")  # the Paxos server modes measured


def zoo_cfg(protocol: str, mode: str = "") -> str:
    """The zoo.cfg lines of a side; `deltas` is the Paxos replica's default and needs none."""
    lines = f"zablab.protocol={protocol}\n"
    if mode and mode != "deltas":
        lines += f"zablab.paxos.mode={mode}\n"
    return lines


SIDES = {"zab": zoo_cfg("zab"), **{f"paxos/{m}": zoo_cfg("paxos", m) for m in PAXOS_MODES}}


# == simulator ==================================================================================


def measure_sim(protocol: str, seeds: int, nodes: int, fault_every_ms: int) -> dict[str, float]:
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


def simulator(seeds: int, nodes: int) -> None:
    for label, faults in (
        ("no faults", NO_FAULTS),
        ("default nemesis", SimConfig().fault_every_ms),
    ):
        res = {p: measure_sim(p, seeds, nodes, faults) for p in ("zab", "paxos")}
        print(f"simulator, {label}, {nodes} nodes, seeds 0..{seeds - 1}:")
        for p, r in res.items():
            print(
                f"  {p:<6} {r['messages']:>8} messages / {r['writes']:>6} committed writes"
                f" = {r['per_write']:6.2f} per write  ({r['seconds']:.1f} s,"
                f" {r['violating_seeds']} seeds with violations)"
            )
        ratio = res["paxos"]["per_write"] / max(res["zab"]["per_write"], 1e-9)
        print(f"  paxos/zab messages per write: {ratio:.2f}", flush=True)


# == real ensemble ==============================================================================


def mode(node: NodeProcess) -> str:
    """`srvr`'s Mode line (leader, follower), or "" when the node does not serve."""
    try:
        text = four_letter(node.host, node.port, "srvr", timeout=1.0)
    except OSError:
        return ""
    for line in text.splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return ""


def wait_serving(nodes: list[NodeProcess], timeout: float = 60.0) -> NodeProcess:
    """Wait for one leader and every other node following; return the leader."""
    deadline = time.monotonic() + timeout
    modes: list[str] = []
    while time.monotonic() < deadline:
        modes = [mode(n) for n in nodes]
        if sorted(modes) == ["follower"] * (len(nodes) - 1) + ["leader"]:
            return nodes[modes.index("leader")]
        time.sleep(0.05)
    raise RuntimeError(f"no leader with every other node following within {timeout} s: {modes}")


Run = tuple[int, float, list[float]]  # operations, seconds, latency of each sync op (s)


def sync_writes(client: KazooClient, seconds: float) -> Run:
    lat: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        client.set(PATH, VALUE)
        lat.append(time.perf_counter() - t)
    return len(lat), time.perf_counter() - start, lat


def async_writes(client: KazooClient, seconds: float, in_flight: int) -> Run:
    """Keep `in_flight` writes outstanding; a session's replies come in order."""
    start = time.perf_counter()
    window = deque(client.set_async(PATH, VALUE) for _ in range(in_flight))
    n, deadline = 0, start + seconds
    while window:
        window.popleft().get(timeout=30)
        n += 1
        if time.perf_counter() < deadline:
            window.append(client.set_async(PATH, VALUE))
    return n, time.perf_counter() - start, []


def failover_once(nodes: list[NodeProcess]) -> float:
    """Seconds from SIGKILL of the leader to the first write acknowledged by the survivors."""
    leader = wait_serving(nodes)
    rest = [n for n in nodes if n is not leader]
    client = connect(",".join(n.address for n in rest))
    try:
        t0 = time.monotonic()
        leader.kill()
        while time.monotonic() - t0 < 60:
            try:
                client.set_async(PATH, VALUE).get(timeout=0.5)
                return time.monotonic() - t0
            except Exception:
                time.sleep(0.005)  # connection lost or not serving yet: try again at once
        raise RuntimeError("no write was acknowledged within 60 s of the leader's kill")
    finally:
        client.stop()
        client.close()
        leader.restart()


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def ensemble(seconds: float, rounds: int, in_flight: int, failovers: int) -> None:
    base = tempfile.mkdtemp(prefix="zablab-bench-zvp-")
    clusters: dict[str, list[NodeProcess]] = {}
    clients: dict[str, KazooClient] = {}
    try:
        for side, cfg in SIDES.items():
            d = f"{base}/{side.replace('/', '-')}"
            clusters[side] = launch_ensemble(d, 3, tick_time=TICK_MS, extra_config=cfg)
        for side, nodes in clusters.items():
            leader = wait_serving(nodes)
            follower = next(n for n in nodes if n is not leader)
            clients[side] = connect(follower.address)
        rows: dict[str, Callable[[KazooClient], Run]] = {
            "sync setData": lambda c: sync_writes(c, seconds / rounds),
            f"async setData x{in_flight}": lambda c: async_writes(c, seconds / rounds, in_flight),
        }
        for run in rows.values():  # warm up every side once, not counted
            for c in clients.values():
                run(c)
        names = list(SIDES)
        print(
            f"kazoo load on 3-node ensembles (fsync on, tickTime {TICK_MS} ms, client on a "
            f"follower), {seconds:g} s per row in {rounds} alternating rounds:"
        )
        print("  " + f"{'workload':<24}" + "".join(f"{n + ' ops/s':>20}" for n in names))
        latencies: dict[str, list[float]] = {n: [] for n in names}
        rates: dict[str, dict[str, float]] = {}
        for row, run in rows.items():
            totals = {n: [0, 0.0] for n in names}
            for _ in range(rounds):
                for n in names:
                    ops, secs, lat = run(clients[n])
                    totals[n][0] += ops
                    totals[n][1] += secs
                    latencies[n] += lat
            rates[row] = {n: totals[n][0] / totals[n][1] for n in names}
            print("  " + f"{row:<24}" + "".join(f"{rates[row][n]:>20.0f}" for n in names))
        print("  sync setData latency (ms):")
        for n in names:
            lat = latencies[n]
            print(
                f"    {n:<12} p50 {1000 * pct(lat, 0.5):6.2f}  p99 {1000 * pct(lat, 0.99):6.2f}"
                f"  max {1000 * max(lat):7.2f}  ({len(lat)} writes)"
            )
        for c in clients.values():
            c.stop()
            c.close()
        clients.clear()
        print(f"failover after SIGKILL of the leader, first acknowledged write, {failovers} kills:")
        fo: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(failovers):  # alternate here too
            for n in names:
                fo[n].append(failover_once(clusters[n]))
        for n in names:
            print(
                f"    {n:<12} median {statistics.median(fo[n]):5.2f} s  "
                f"(each: {', '.join(f'{x:.2f}' for x in fo[n])})"
            )
        for n in names[1:]:
            ratios = [f"{row} {rates[row][n] / rates[row]['zab']:.2f}" for row in rows]
            lat = statistics.median(latencies[n]) / statistics.median(latencies["zab"])
            f = statistics.median(fo[n]) / statistics.median(fo["zab"])
            print(
                f"  {n} over zab: ops/s {', '.join(ratios)}; sync latency p50 {lat:.2f}; "
                f"failover {f:.2f}",
                flush=True,
            )
    finally:
        for c in clients.values():
            with contextlib.suppress(Exception):
                c.stop()
                c.close()
        for nodes in clusters.values():
            for node in nodes:
                node.kill()
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=50, help="simulator seeds per protocol")
    ap.add_argument("--nodes", type=int, default=3, help="simulated nodes")
    ap.add_argument("--seconds", type=float, default=6.0, help="ensemble: seconds per load row")
    ap.add_argument("--rounds", type=int, default=3, help="ensemble: alternations per row")
    ap.add_argument("--in-flight", type=int, default=20, help="ensemble: outstanding async writes")
    ap.add_argument("--failovers", type=int, default=3, help="ensemble: leader kills per side")
    ap.add_argument("--only", choices=("sim", "ensemble"), help="run one part only")
    args = ap.parse_args()
    logging.getLogger("kazoo").setLevel(logging.ERROR)  # each kill drops connections, loudly
    if args.only != "sim":
        ensemble(args.seconds, args.rounds, args.in_flight, args.failovers)
    if args.only != "ensemble":
        simulator(args.seeds, args.nodes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
