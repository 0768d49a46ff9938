"""The runner on the netns backend (root): every nemesis against Apache ZooKeeper and zablab;
iptables rules are in the namespaces during a partition and gone afterwards."""

from __future__ import annotations

import json
import os
import shutil
import threading

import pytest

from tests.harness.conftest import assert_valid, needs_zookeeper
from zablab.harness.runner import Runner, TestOptions

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(
        os.geteuid() != 0 or not shutil.which("ip"), reason="needs root and iproute2"
    ),
]


def run_watching_rules(opts: TestOptions) -> tuple[Runner, list[list[str]], list[list[str]]]:
    """Run; sample each node's rules while a partition is on and after the run."""
    runner = Runner(opts)
    during: list[list[str]] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            rec, backend = runner.rec, runner.backend
            if rec is None or backend is None or not runner.nodes:
                continue
            starts = [o for o in rec.ops if o.f == "start-partition" and o.value]
            stops = [o for o in rec.ops if o.f == "stop-partition" and o.value]
            if len(starts) > len(stops):
                try:
                    rules = [backend.net().rules(n.name) for n in runner.nodes]
                except Exception:
                    continue
                if any(rules):
                    during.append([r for rs in rules for r in rs])

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        outcome = runner.run()
    finally:
        done.set()
        t.join(5)
    assert outcome.run_dir.exists()
    return runner, during, []


@needs_zookeeper
@pytest.mark.zookeeper
def test_zookeeper_on_netns_with_every_nemesis(tmp_path, runtime_dir):
    opts = TestOptions(
        backend="netns",
        db="zookeeper",
        nodes=3,
        nemesis="partition,loss,kill,pause,clock",
        nemesis_interval=1.0,
        time_limit=75,  # a kill restarts a JVM: seconds each on a loaded machine
        seed=11,
        store=str(tmp_path / "store"),
    )
    runner, during, _ = run_watching_rules(opts)
    assert_valid(json.loads((runner.run_dir / "results.json").read_text()))
    fs = {o.f for o in runner.rec.ops if o.process == "nemesis" and o.value is not None}
    # the nemesis runs every enabled fault once per round, in a seeded order: 45 s holds a round
    # even on a loaded machine, where each fault over SSH takes seconds
    assert {"start-partition", "start-loss", "kill", "pause", "start-clock"} <= fs, fs
    assert during, "no iptables rule was visible during a partition"
    assert any("DROP" in r for rs in during for r in rs)
    # teardown removed the namespaces, so no rule can remain; the backend says so too
    from zablab.harness.backends import netns

    assert netns.leftovers() == []
    assert not list(runtime_dir.glob("*.json"))


def test_zablab_ensemble_on_netns_with_every_nemesis(tmp_path, runtime_dir):
    opts = TestOptions(
        backend="netns",
        db="zablab",
        nodes=3,
        nemesis="partition,loss,kill,pause,clock",
        nemesis_interval=1.0,
        time_limit=45,
        seed=12,
        store=str(tmp_path / "store"),
    )
    runner, during, _ = run_watching_rules(opts)
    results = json.loads((runner.run_dir / "results.json").read_text())
    assert_valid(results)
    assert "zab" in json.dumps(results), "the ZAB trace checker did not run"
    fs = {o.f for o in runner.rec.ops if o.process == "nemesis" and o.value is not None}
    assert {"start-partition", "start-loss", "kill", "pause", "start-clock"} <= fs, fs
    assert during, "no iptables rule was visible during a partition"
    from zablab.harness.backends import netns

    assert netns.leftovers() == []
