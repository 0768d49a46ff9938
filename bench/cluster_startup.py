"""How long a 5-node cluster takes to come up (every node serving, one leader), per backend,
zablab vs Apache ZooKeeper.

Prints seconds per (backend, db) and the ratio to ZooKeeper on the same backend, measured in the
same run. Backends other than `local` are tried when usable here (netns needs root, docker a
daemon) and reported as skipped otherwise.

    python bench/cluster_startup.py [--nodes 5] [--repeat 3] [--backends local,netns,docker]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time

from zablab.errors import UserError
from zablab.harness.backends import get_backend
from zablab.harness.db import get_db


def startup(backend_name: str, db_name: str, n: int, timeout: float) -> float:
    backend = get_backend(backend_name, {"db": db_name, "seed": 1})
    db = get_db(db_name)
    nodes = []
    try:
        t0 = time.monotonic()
        nodes = backend.setup(n)
        db.setup(nodes)
        for node in nodes:
            db.start(node)
        db.await_ready(nodes, timeout)
        return time.monotonic() - t0
    finally:
        for node in nodes:
            with contextlib.suppress(Exception):
                db.teardown(node)
        with contextlib.suppress(Exception):
            backend.teardown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backends", default="local,netns,docker")
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    print(f"{'backend':<8} {'db':<10} {'nodes':>5} {'median s':>9} {'min s':>7} {'vs zk':>6}")
    for backend in a.backends.split(","):
        medians: dict[str, float] = {}
        for db in ("zookeeper", "zablab"):
            times = []
            try:
                for _ in range(a.repeat):
                    times.append(startup(backend, db, a.nodes, a.timeout))
            except UserError as exc:
                print(f"{backend:<8} {db:<10} {a.nodes:>5}   skipped: {str(exc)[:90]}", flush=True)
                continue
            except Exception as exc:  # a backend that cannot run here (no root, no docker)
                print(
                    f"{backend:<8} {db:<10} {a.nodes:>5}   skipped: {type(exc).__name__}: {str(exc)[:80]}"
                )
                continue
            medians[db] = statistics.median(times)
            ratio = medians[db] / medians["zookeeper"] if "zookeeper" in medians else float("nan")
            print(
                f"{backend:<8} {db:<10} {a.nodes:>5} {medians[db]:>9.2f} {min(times):>7.2f} {ratio:>6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
