"""Many kazoo sessions doing back-to-back requests: a zablab node against Apache ZooKeeper.

    python bench/many_sessions.py [--sessions 1,10,50] [--procs 4] [--seconds 4] [--rounds 3]

The sessions are spread over `--procs` client processes (threads inside each), so that the
client library's GIL is not the ceiling. Each row alternates the servers `--rounds` times so
that load from elsewhere on the machine hits them alike, and prints ops/s for each, the
zablab/ZooKeeper ratio (of the means) and the median of the per-round ratios, and the CPU time
each server process spent per operation (user + system, µs): on a loaded machine the server
that needs less CPU per request keeps more of its throughput.

`--zablab HOST:PORT` measures an already running node (for example one started under
`python -m cProfile`). `--baseline-src DIR` also starts a node from another copy of the
package (for example `git archive HEAD zablab | tar -x -C DIR`) and measures it in the same
rounds ("base" columns): before/after figures for a change, under the same load.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import tempfile
import threading
import time
from multiprocessing.connection import Connection

import psutil
from kazoo.client import KazooClient

from zablab.apache import LocalZooKeeper
from zablab.node.launcher import NodeProcess, launch_node

PATH = "/many-sessions"
VALUE = b"v" * 100
NO_LIMIT = ["--max-client-cnxns", "0"]  # as LocalZooKeeper's maxClientCnxns=0


def worker(conn: Connection, hosts: dict[str, str], sessions: int) -> None:
    """One client process: `sessions` kazoo sessions per server, driven by commands on `conn`."""
    clients = {n: [KazooClient(h, timeout=15) for _ in range(sessions)] for n, h in hosts.items()}
    try:
        try:
            for cs in clients.values():
                for c in cs:
                    c.start(timeout=30)
        except Exception as exc:  # reported by the parent as one line
            conn.send(f"{type(exc).__name__}: {exc}")
            return
        conn.send("ready")
        while True:
            cmd = conn.recv()
            if cmd is None:
                break
            name, op, n_sessions, seconds = cmd
            conn.send(_run(clients[name][:n_sessions], op, seconds))
    finally:
        for cs in clients.values():
            for c in cs:
                c.stop()
                c.close()


def _run(clients: list[KazooClient], op: str, seconds: float) -> tuple[int, float]:
    counts = [0] * len(clients)
    start = time.perf_counter()
    stop = start + seconds

    def loop(i: int) -> None:
        c, n = clients[i], 0
        call = (lambda: c.get(PATH)) if op == "get" else (lambda: c.set(PATH, VALUE))
        while time.perf_counter() < stop:
            call()
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts), time.perf_counter() - start


def launch_baseline(src: str, data_dir: str, fsync: bool) -> NodeProcess:
    """A node run from the zablab package under `src` (PYTHONPATH), for before/after figures."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.path.abspath(src)
    try:
        return launch_node(data_dir, fsync=fsync, extra_args=NO_LIMIT)
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", default="1,10,50", help="session counts, one row each")
    ap.add_argument("--ops", default="get,set", help="get (getData) and/or set (setData)")
    ap.add_argument("--procs", type=int, default=4, help="client processes")
    ap.add_argument("--seconds", type=float, default=4.0, help="per server per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fsync", action="store_true", help="keep the servers' fsync on")
    ap.add_argument("--zablab", default="", help="HOST:PORT of a running node instead of one")
    ap.add_argument("--baseline-src", default="", help="DIR holding another zablab package")
    a = ap.parse_args()
    counts = [int(x) for x in a.sessions.split(",")]
    most = max(counts)

    zk = LocalZooKeeper(force_sync=a.fsync)
    data_dir = tempfile.mkdtemp(prefix="zablab-many-")
    node = base = None
    pipes: list[Connection] = []
    procs: list[mp.process.BaseProcess] = []
    try:
        zk.start()
        if not a.zablab:
            node = launch_node(os.path.join(data_dir, "node"), fsync=a.fsync, extra_args=NO_LIMIT)
        hosts = {"zk": zk.hosts, "zb": a.zablab or (node.address if node else "")}
        if a.baseline_src:
            base = launch_baseline(a.baseline_src, os.path.join(data_dir, "base"), a.fsync)
            hosts["base"] = base.address
        for h in hosts.values():
            setup = KazooClient(h)
            setup.start(timeout=20)
            setup.ensure_path(PATH)
            setup.set(PATH, VALUE)
            setup.stop()
            setup.close()
        ctx = mp.get_context("fork")
        for share in split(most, a.procs):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker, args=(child, hosts, share), daemon=True)
            p.start()
            pipes.append(parent)
            procs.append(p)
        for pipe in pipes:
            reply = pipe.recv()
            if reply != "ready":
                raise SystemExit(f"a client process could not connect its sessions: {reply}")

        server_procs: dict[str, psutil.Process | None] = dict.fromkeys(hosts)
        if zk.process is not None:
            server_procs["zk"] = psutil.Process(zk.process.pid)
        for name, n in (("zb", node), ("base", base)):
            if n is not None and n.proc is not None:
                server_procs[name] = psutil.Process(n.proc.pid)
        cpu_us: dict[str, list[float]] = {name: [] for name in hosts}

        def cpu(name: str) -> float:
            p = server_procs[name]
            if p is None:
                return 0.0
            t = p.cpu_times()
            return t.user + t.system

        def run(name: str, op: str, n: int, seconds: float) -> float:
            c0 = cpu(name)
            for pipe, share in zip(pipes, split(n, a.procs), strict=True):
                pipe.send((name, op, share, seconds))
            results = [pipe.recv() for pipe in pipes]
            ops = sum(r[0] for r in results)
            cpu_us[name].append((cpu(name) - c0) * 1e6 / max(1, ops))
            return ops / max(r[1] for r in results)

        for op in a.ops.split(","):  # warm up (JIT, caches), not counted
            for name in hosts:
                run(name, op, most, 1.0)
        print(f"{a.procs} client processes; fsync {'on' if a.fsync else 'off'}")
        head = f"{'op':<8}{'sessions':>9}{'zookeeper/s':>12}{'zablab/s':>10}{'ratio':>7}"
        head += f"{'median':>8}"
        if base is not None:
            head += f"{'base/s':>9}{'zb/base':>8}"
        print(head + "".join(f"{name + ' µs/op':>12}" for name in hosts))
        for op in a.ops.split(","):
            for n in counts:
                rates: dict[str, list[float]] = {name: [] for name in hosts}
                for v in cpu_us.values():
                    v.clear()
                names = list(hosts)
                for r in range(a.rounds):
                    for name in names if r % 2 == 0 else names[::-1]:
                        rates[name].append(run(name, op, n, a.seconds))
                mean = {name: statistics.mean(v) for name, v in rates.items()}
                med = statistics.median(
                    b / z for b, z in zip(rates["zb"], rates["zk"], strict=True)
                )
                label = "getData" if op == "get" else "setData"
                line = f"{label:<8}{n:>9}{mean['zk']:>12.0f}{mean['zb']:>10.0f}"
                line += f"{mean['zb'] / mean['zk']:>7.2f}{med:>8.2f}"
                if base is not None:
                    line += f"{mean['base']:>9.0f}{mean['zb'] / mean['base']:>8.2f}"
                line += "".join(f"{statistics.median(cpu_us[name]):>12.0f}" for name in hosts)
                print(line, flush=True)
    finally:
        for pipe in pipes:
            try:
                pipe.send(None)
            except OSError:
                pass
        for p in procs:
            p.join(timeout=20)
            if p.is_alive():
                p.kill()
        for nd in (node, base):
            if nd is not None:
                nd.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
        zk.close()


if __name__ == "__main__":
    main()
