"""The election lab's grading cluster: everything it starts dies with the test process, even
when the grader kills that process at a timeout; faults are recorded on the store's clock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.labs.conftest import REPO
from zablab.labs.election.cluster import GradingCluster

CHILD = """
import os, signal, sys
from zablab.labs.election.cluster import GradingCluster
c = GradingCluster()
c.start()
cand = c.spawn("c1", sys.argv[1], "smallest", "/service")
print(" ".join(str(p.pid) for p in [*c.procs.values(), cand.proc]), c.dir, flush=True)
os.kill(os.getpid(), signal.SIGKILL)  # what the grader does to a test that runs out of time
"""


def test_processes_die_with_a_killed_test_process() -> None:
    ref = REPO / "zablab" / "labs" / "election" / "reference" / "election.py"
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(ref)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    *pids, where = r.stdout.split()
    assert len(pids) == 4, r.stdout + r.stderr
    deadline = time.monotonic() + 10
    alive = [int(p) for p in pids]
    while alive and time.monotonic() < deadline:
        alive = [
            p
            for p in alive
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]
        time.sleep(0.1)
    assert not alive, f"left running: {alive}"
    import shutil

    shutil.rmtree(where, ignore_errors=True)  # a killed grader cannot remove its temp dir


def test_partition_and_heal_of_one_candidate_are_recorded(tmp_path: Path) -> None:
    with GradingCluster() as c:
        hosts = c.proxied_hosts("c9")
        assert hosts.count("127.0.0.1:") == 3 and c.proxied_hosts("c9") == hosts
        c.partition("c9")
        assert ("c9", "n1") in c.proxy.blocked() and ("n2", "c9") in c.proxy.blocked()
        c.heal()
        assert not c.proxy.blocked()
        fs = [(o.process, o.f) for o in c.history()]
        assert fs == [("nemesis", "lose-primary"), ("nemesis", "heal")]
        c.save(tmp_path / "h.jsonl")
        assert len((tmp_path / "h.jsonl").read_text().splitlines()) == 2
        where = c.dir
    assert not where.exists()
