"""Try to make Apache ZooKeeper (the Debian package, 3.8.0) lose a committed write by crashing a
resyncing follower with lose-unfsynced: the sync-phase bugs fixed only in 3.9.x
(ZOOKEEPER-3911, 4643, 4646: the follower writes its new currentEpoch and ACKs NEWLEADER while
the DIFF's txns still wait for the disk).

Schedule, per attempt (3 nodes, data dirs on lazyfs):
  1. all up, a warm-up write, everything written back;
  2. kill follower F; write W (acknowledged: committed by the leader L and follower G);
  3. kill G: L alone loses its quorum;
  4. start F: L and F form a new epoch; L sends F a DIFF holding W, then NEWLEADER;
  5. the crash point: `delay` ms after F's currentEpoch file changes on disk, crash F and drop
     what it had not fsynced; kill L at the same moment;
  6. start F and G: if F kept the new epoch but lost W, it outvotes G (older epoch, has W) and
     leads, and G truncates W away; then start L, which follows F too;
  7. read W on every node. An acknowledged W missing = the data loss reproduced.
The control is the same schedule with a plain kill (nothing dropped) at the crash point.

    python bench/zk_sync_crash.py --delays 0,5,20 --fsync-delay-ms 10,100 --writes 50

Needs root (FUSE), and the zookeeper package. Prints one line per attempt and a summary.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kazoo.client import KazooClient  # noqa: E402

from zablab.errors import UserError  # noqa: E402
from zablab.harness.backends.base import Node  # noqa: E402
from zablab.harness.backends.local import LocalBackend  # noqa: E402
from zablab.harness.db.zookeeper import ZooKeeperDB  # noqa: E402
from zablab.harness.faults.lazyfs import control as lazyfs  # noqa: E402


def _client(node: Node) -> KazooClient:
    zk = KazooClient(hosts=node.client_address, timeout=10)
    zk.start(timeout=30)
    return zk


def _epoch(db: ZooKeeperDB, node: Node) -> str:
    path = Path(lazyfs.backing_dir(db.data_dir(node))) / "version-2" / "currentEpoch"
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def attempt(delay_ms: float, fsync_delay_ms: float, writes: int, drop: bool) -> str:
    base = tempfile.mkdtemp(prefix="zk-sync-crash-")
    backend = LocalBackend(base_dir=base, proxy=False)
    nodes = backend.setup(3)
    db = ZooKeeperDB(lazyfs=True)
    db.lazyfs_fsync_delay_ms = fsync_delay_ms
    try:
        db.setup(nodes)
        for n in nodes:
            db.start(n)
        db.await_ready(nodes, 90)
        lead = db.primaries(nodes)[0]
        L = next(n for n in nodes if n.name == lead)
        F, G = [n for n in nodes if n is not L]
        zk = _client(L)
        zk.create("/warm-up", b"")
        zk.stop()
        zk.close()
        for n in nodes:
            lazyfs.sync(n)
        db.kill(F)
        zk = _client(L)
        for i in range(writes):
            zk.create(f"/w-{i}", b"acked")
        zk.stop()
        zk.close()
        db.kill(G)
        old = _epoch(db, F)
        db.start(F)
        deadline = time.monotonic() + 60
        while _epoch(db, F) == old:
            if time.monotonic() > deadline:
                return f"F never took a new epoch (still {old})"
            time.sleep(0.0005)
        time.sleep(delay_ms / 1000)
        with cf.ThreadPoolExecutor(2) as pool:
            crash = pool.submit(db.lose_unfsynced if drop else db.kill, F)
            pool.submit(db.kill, L).result()
            lost = crash.result()
        new = _epoch(db, F)
        db.start(F)
        db.start(G)
        try:
            db.await_ready([F, G], 60)
        except UserError as exc:
            return f"epoch {old}->{new}, lost {lost}; F and G did not come up: {exc}"
        db.start(L)
        try:
            db.await_ready(nodes, 60)
        except UserError as exc:
            return f"epoch {old}->{new}, lost {lost}; L did not rejoin: {exc}"
        seen = {}
        for n in nodes:
            zk = _client(n)
            zk.sync("/")
            seen[n.name] = sum(1 for c in zk.get_children("/") if c.startswith("w-"))
            zk.stop()
            zk.close()
        leader = db.primaries(nodes)
        verdict = "LOST acknowledged writes" if min(seen.values()) < writes else "intact"
        return (
            f"{verdict}: W on {seen} of {writes}; epoch {old}->{new}; F lost {lost}; "
            f"leader after {leader} (F={F.name})"
        )
    finally:
        for n in nodes:
            db.teardown(n)
        backend.teardown()
        shutil.rmtree(base, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--delays", default="0,2,5,10,20,50", help="crash points, ms after the epoch")
    ap.add_argument("--fsync-delay-ms", default="10,100", help="disk fsync latencies to try")
    ap.add_argument("--writes", type=int, default=50, help="W: writes F misses (stays a DIFF)")
    ap.add_argument("--control", action="store_true", help="also run each with a plain kill")
    ap.add_argument("--repeat", type=int, default=1, help="attempts per crash point")
    a = ap.parse_args()
    lazyfs.check_host()
    results: list[tuple[str, str]] = []
    t0 = time.monotonic()
    for fs in [float(x) for x in a.fsync_delay_ms.split(",")]:
        for d in [float(x) for x in a.delays.split(",")]:
            for drop in [
                x for _ in range(a.repeat) for x in ((True, False) if a.control else (True,))
            ]:
                t = time.monotonic()
                try:
                    out = attempt(d, fs, a.writes, drop)
                except Exception as exc:  # one broken attempt is a figure, not the end
                    out = f"error: {type(exc).__name__}: {exc}"
                name = f"fsync {fs:g} ms, crash +{d:g} ms, {'lose-unfsynced' if drop else 'kill'}"
                results.append((name, out))
                print(f"{name}: {out} ({time.monotonic() - t:.0f} s)", flush=True)
    print("per crash point: lost/attempts")
    for name in dict.fromkeys(n for n, _ in results):
        outs = [o for n, o in results if n == name]
        print(f"  {name}: {sum(o.startswith('LOST') for o in outs)}/{len(outs)}")
    lost = [r for r in results if r[1].startswith("LOST")]
    print(
        f"{len(results)} attempts in {time.monotonic() - t0:.0f} s: "
        f"{len(lost)} lost acknowledged writes, "
        f"{sum(1 for r in results if r[1].startswith('intact'))} intact, "
        f"{sum(1 for r in results if not r[1].startswith(('LOST', 'intact')))} other"
    )
    return 1 if lost else 0


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("zablab: error: this needs root (it mounts FUSE filesystems).", file=sys.stderr)
        sys.exit(255)
    sys.exit(main())
