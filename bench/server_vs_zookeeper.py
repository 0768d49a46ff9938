"""The same kazoo load against a zablab node and Apache ZooKeeper, both standalone, fsync on.

    python bench/server_vs_zookeeper.py [--seconds 5] [--ops N] [--in-flight 20]

Prints ops/s for each server and the zablab/ZooKeeper ratio per row (target: >= 1.0). Both
servers run on this machine at the same time; each row alternates between them `--rounds` times
so that load from elsewhere hits both alike. "ratio" divides the totals; "median ratio" is the
median over rounds of the ratio within each round, which a burst of load elsewhere moves less.
Absolute figures depend on the machine and its disk; the ratios are the figures to read.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable

from kazoo.client import KazooClient

from zablab.apache import LocalZooKeeper
from zablab.node.launcher import launch_node

VALUE = b"x" * 100
PATH = "/bench-key"


Run = tuple[int, float]  # operations done, seconds taken


def sync_loop(call: Callable[[], object], seconds: float, max_ops: int) -> Run:
    n, start = 0, time.perf_counter()
    deadline = start + seconds
    while n < max_ops and (n % 16 or time.perf_counter() < deadline):
        call()
        n += 1
    return n, time.perf_counter() - start


def async_loop(call: Callable[[], object], seconds: float, max_ops: int, in_flight: int) -> Run:
    """Keep `in_flight` requests outstanding; ZooKeeper answers a session in order."""
    start = time.perf_counter()
    window: deque = deque(call() for _ in range(min(in_flight, max_ops)))
    n, deadline = 0, start + seconds
    while window:
        window.popleft().get(timeout=30)
        n += 1
        if n + len(window) < max_ops and (n % 16 or time.perf_counter() < deadline):
            window.append(call())
    return n, time.perf_counter() - start


def workloads(client: KazooClient, args: argparse.Namespace) -> dict[str, Callable[[], Run]]:
    s, m, k = args.seconds / args.rounds, max(1, args.ops // args.rounds), args.in_flight
    return {
        "sync setData": lambda: sync_loop(lambda: client.set(PATH, VALUE), s, m),
        f"async setData x{k}": lambda: async_loop(lambda: client.set_async(PATH, VALUE), s, m, k),
        "sync getData": lambda: sync_loop(lambda: client.get(PATH), s, m),
        f"async getData x{k}": lambda: async_loop(lambda: client.get_async(PATH), s, m, k),
    }


def connect(hosts: str) -> KazooClient:
    client = KazooClient(hosts, timeout=10)
    client.start(timeout=20)
    client.ensure_path(PATH)
    client.set(PATH, VALUE)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each row")
    parser.add_argument("--ops", type=int, default=10**9, help="cap on operations per row")
    parser.add_argument("--in-flight", type=int, default=20, help="outstanding async requests")
    parser.add_argument(
        "--rounds", type=int, default=5, help="alternate the servers this often within a row"
    )
    args = parser.parse_args()

    zk = LocalZooKeeper(force_sync=True)
    data_dir = tempfile.mkdtemp(prefix="zablab-bench-")
    node = None
    clients: list[KazooClient] = []
    try:
        zk.start()
        node = launch_node(data_dir, fsync=True)
        zk_client, zb_client = connect(zk.hosts), connect(node.address)
        clients = [zk_client, zb_client]
        # warm up both (JIT for the JVM, caches for Python): every row once, not counted
        zk_rows, zb_rows = workloads(zk_client, args), workloads(zb_client, args)
        for rows in (zk_rows, zb_rows):
            for run in rows.values():
                run()
        print(
            f"{'workload':<22}{'zookeeper ops/s':>17}{'zablab ops/s':>15}{'ratio':>8}"
            f"{'median ratio':>15}"
        )
        for name in zk_rows:
            totals = {"zk": [0, 0.0], "zb": [0, 0.0]}
            paired = []
            for _ in range(args.rounds):  # alternate, so load from elsewhere hits both alike
                rates = {}
                for key, rows in (("zk", zk_rows), ("zb", zb_rows)):
                    ops, secs = rows[name]()
                    totals[key][0] += ops
                    totals[key][1] += secs
                    rates[key] = ops / secs
                paired.append(rates["zb"] / rates["zk"])
            zk_rate = totals["zk"][0] / totals["zk"][1]
            zb_rate = totals["zb"][0] / totals["zb"][1]
            print(
                f"{name:<22}{zk_rate:>17.0f}{zb_rate:>15.0f}{zb_rate / zk_rate:>8.2f}"
                f"{statistics.median(paired):>15.2f}",
                flush=True,
            )
    finally:
        for c in clients:
            c.stop()
            c.close()
        if node is not None:
            node.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        zk.close()


if __name__ == "__main__":
    main()
