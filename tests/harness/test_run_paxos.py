"""`zablab test` on a 3-node ensemble replicated by Multi-Paxos, with partitions and kills:
the workload's checkers, availability and the trace checker all judge it valid, as on ZAB."""

from __future__ import annotations

import json

import pytest

from tests.harness.conftest import assert_valid
from tests.paxos.modes import MODES, harness_flags
from zablab.cli import main
from zablab.errors import UserError
from zablab.harness.report import repeat_command
from zablab.harness.runner import Runner, TestOptions

# `zablab test --protocol` takes no mode: a mode other than the default goes through --db-args
RUNS = [
    (mode, workload, seed, via)
    for mode in MODES
    for workload, seed, via in [("register", 11, "--protocol"), ("set", 12, "--db-args")]
    if mode == "deltas" or via == "--db-args"
] + [(m, "register", 13, "--db-args") for m in MODES if m != "deltas"]


@pytest.mark.parametrize(("mode", "workload", "seed", "via"), RUNS)
def test_paxos_cluster_with_partitions_and_kills_is_valid(
    tmp_path, no_leaks, mode, workload, seed, via
):
    store = tmp_path / "store"
    rc = main(
        ["test", "--nodes", "3", "--workload", workload, "--nemesis", "partition,kill",
         "--nemesis-interval", "1.5", "--time-limit", "8", "--seed", str(seed),
         "--store", str(store), "-q", *harness_flags(mode, via)]
    )  # fmt: skip
    run = store / (store / "latest").read_text().strip()
    results = json.loads((run / "results.json").read_text())
    assert_valid(results)
    assert rc == 0
    checkers = {c["checker"] for c in results["children"]}
    assert {workload, "availability", "zab"} <= checkers  # the traces were checked too
    history = [json.loads(line) for line in (run / "history.jsonl").open()]
    assert {"kill", "start-partition"} & {op["f"] for op in history}  # faults did happen
    for node in ("n1", "n2", "n3"):  # every node ran Paxos, not the default ZAB
        log = (run / "nodes" / node / "zablab-node.log").read_text()
        assert "replication protocol paxos" in log
    options = json.loads((run / "test.json").read_text())["options"]
    assert "paxos" in options["protocol" if via == "--protocol" else "db_args"]
    if mode != "deltas":
        assert f"--paxos-mode {mode}" in options["db_args"]


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"protocol": "raft"}, "unknown replication protocol 'raft'"),
        ({"protocol": "paxos", "db": "zookeeper"}, "--db zookeeper has its own"),
    ],
)
def test_a_bad_protocol_stops_the_run_before_anything_starts(opts, message):
    with pytest.raises(UserError, match=message):
        Runner(TestOptions(nodes=3, **opts))


def test_the_repeat_command_keeps_the_protocol():
    opts = {"db": "zablab", "backend": "local", "nodes": 3, "workload": "set"}
    assert "--protocol paxos" in repeat_command({**opts, "protocol": "paxos"}, 7)
    assert "--protocol" not in repeat_command(opts, 7)
