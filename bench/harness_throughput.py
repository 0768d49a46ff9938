"""How many ops/s the harness records with 10 and 50 workers on the local backend.

Prints ops/s per (db, workers, worker processes), and as a baseline measured in the same run
the raw rate of kazoo itself in one process (the same number of sessions doing back-to-back
reads, nothing recorded) against the same server: the ratio says how far past one kazoo
process's ceiling the harness gets by spreading its workers over processes. `--client-procs 1`
is the harness with every worker a thread of its own process (as before worker processes);
0 is the default, two per core.
Target: >= 2,000 ops/s recorded against zablab on a 2-core machine.

    python bench/harness_throughput.py [--seconds 10] [--db zablab,zookeeper] [--nodes 1]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from zablab.harness.clients.procs import auto_procs
from zablab.harness.runner import Runner, TestOptions


def measure(
    db: str, nodes: int, workers: int, seconds: float, store: str, fsync: bool, procs: int = 0
) -> dict[str, float]:
    opts = TestOptions(
        db=db,
        nodes=nodes,
        workload="register",
        nemesis="none",
        time_limit=seconds,
        concurrency=str(workers),
        store=store,
        seed=1,
        report=False,
        fsync=fsync,
        client_procs=procs,
    )
    outcome = Runner(opts).run()
    ops = [json.loads(line) for line in (outcome.run_dir / "history.jsonl").open()]
    main = [o for o in ops if o["process"] != "nemesis" and not o.get("final")]
    done = [o for o in main if o["type"] != "invoke"]
    t0 = min(o["time"] for o in main)
    t1 = max(o["time"] for o in main)
    secs = (t1 - t0) / 1e9
    return {
        "ops": len(done),
        "seconds": secs,
        "ops_per_s": len(done) / secs if secs else 0.0,
        "ok_per_s": sum(o["type"] == "ok" for o in done) / secs if secs else 0.0,
        "valid": outcome.result.valid,
    }


def kazoo_ceiling(db_name: str, workers: int, seconds: float) -> float:
    """Back-to-back getData calls from `workers` sessions, nothing recorded: kazoo's ceiling."""
    import threading
    import time

    from kazoo.client import KazooClient

    from zablab.harness.backends.local import LocalBackend
    from zablab.harness.db import get_db

    backend = LocalBackend(proxy=False)
    db = get_db(db_name, fsync=False)
    nodes = backend.setup(1)
    clients: list[KazooClient] = []
    try:
        db.setup(nodes)
        db.start(nodes[0])
        db.await_ready(nodes, 60)
        clients = [KazooClient(hosts=nodes[0].client_address) for _ in range(workers)]
        for c in clients:
            c.start(timeout=15)
        clients[0].ensure_path("/bench")
        counts = [0] * workers
        stop = time.monotonic() + seconds

        def run(i: int) -> None:
            n = 0
            while time.monotonic() < stop:
                clients[i].get_async("/bench").get(timeout=5)
                n += 1
            counts[i] = n

        ts = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        return sum(counts) / seconds
    finally:
        for c in clients:
            c.stop()
            c.close()
        db.teardown(nodes[0])
        backend.teardown()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--db", default="zablab,zookeeper")
    ap.add_argument("--nodes", type=int, default=1, help="cluster size")
    ap.add_argument("--workers", default="10,50")
    ap.add_argument(
        "--client-procs", default="1,0", help="worker process counts to compare (0: default)"
    )
    ap.add_argument(
        "--fsync", action="store_true", help="keep the servers' fsync (measures the disk too)"
    )
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as store:
        print(
            f"fsync {'on' if a.fsync else 'off'}; kazoo gets/s: raw client ceiling, same sessions, "
            "same server; ratio = ops/s / that"
        )
        print(
            f"{'db':<10} {'nodes':>5} {'workers':>7} {'procs':>5} {'ops/s':>9} {'ok/s':>9} "
            f"{'kazoo gets/s':>12} {'ratio':>6} valid"
        )
        for db in a.db.split(","):
            for w in (int(x) for x in a.workers.split(",")):
                ceiling = kazoo_ceiling(db, w, min(a.seconds, 5.0))
                for p in (int(x) for x in a.client_procs.split(",")):
                    r = measure(db, a.nodes, w, a.seconds, str(Path(store)), a.fsync, p)
                    procs = str(p) if p else f"{auto_procs(w)}*"
                    print(
                        f"{db:<10} {a.nodes:>5} {w:>7} {procs:>5} {r['ops_per_s']:>9.0f} "
                        f"{r['ok_per_s']:>9.0f} {ceiling:>12.0f} "
                        f"{r['ops_per_s'] / ceiling:>6.2f} {r['valid']}",
                        flush=True,
                    )
        print("* the default (--client-procs 0)")


if __name__ == "__main__":
    main()
