"""Workers spread over processes: one history in time order, no value or process number used
twice, a crashed worker process costs only its own ops, a broken one fails with its reason."""

from __future__ import annotations

import json
import time

import pytest

from tests.harness.conftest import assert_valid, descendants
from zablab.errors import UserError
from zablab.harness.clients.procs import WorkerProcesses
from zablab.harness.clients.workers import WorkerConfig
from zablab.harness.recorder import Recorder
from zablab.harness.runner import Runner, TestOptions
from zablab.node.launcher import launch_node


def one_op_in_flight_per_process(ops: list) -> None:
    inflight: dict = {}
    for op in ops:
        if op.process == "nemesis":
            continue
        if op.type == "invoke":
            assert op.process not in inflight, f"process {op.process} invoked twice: {op}"
            inflight[op.process] = op
        else:
            assert inflight.pop(op.process).f == op.f


@pytest.mark.parametrize("procs", [3, 1])
def test_set_workload_over_worker_processes_is_valid(tmp_path, no_leaks, procs):
    opts = TestOptions(
        db="zablab",
        nodes=1,
        workload="set",
        nemesis="kill",
        nemesis_interval=2,
        time_limit=6,
        concurrency="6",
        client_procs=procs,
        seed=11,
        store=str(tmp_path / "store"),
        report=False,
    )
    outcome = Runner(opts).run()
    run = outcome.run_dir
    assert_valid(json.loads((run / "results.json").read_text()))
    assert json.loads((run / "test.json").read_text())["client_procs"] == procs
    assert not list(run.glob("clients-*.log"))  # empty worker logs are not kept
    lines = [json.loads(x) for x in (run / "history.jsonl").open()]
    assert [d["index"] for d in lines] == list(range(len(lines)))
    assert all(a["time"] <= b["time"] for a, b in zip(lines, lines[1:], strict=False))
    adds = [d["value"] for d in lines if d["f"] == "add" and d["type"] == "invoke"]
    assert len(adds) > 200 and len(set(adds)) == len(adds)  # each process its own values
    assert {d["process"] % 6 for d in lines if d["f"] == "add"} == set(range(6))
    one_op_in_flight_per_process(outcome_ops(run))


def outcome_ops(run):
    from zablab.history.jsonl import read_jsonl

    return read_jsonl(run / "history.jsonl")


@pytest.fixture
def node(tmp_path):
    n = launch_node(str(tmp_path / "data"), fsync=False)
    try:
        yield n
    finally:
        n.kill()


def test_a_killed_worker_process_loses_only_its_own_ops(tmp_path, node, no_leaks):
    rec = Recorder(None)
    cfg = WorkerConfig(nodes=[("n1", node.address)], workload="register", seed=5, concurrency=4)
    procs = WorkerProcesses(cfg, 2, rec, tmp_path)
    before = descendants()
    procs.start()
    assert len(descendants() - before) == 2
    try:
        procs.go(time.monotonic() + 3)
        time.sleep(1)
        procs.procs[0].kill()  # workers 0 and 2
        killed_at = rec.now()
        procs.join(15)
    finally:
        procs.kill()
    rec.close()
    ops = rec.ops
    assert all(a.time <= b.time for a, b in zip(ops, ops[1:], strict=False))
    one_op_in_flight_per_process(ops)
    late = {op.process for op in ops if op.time > killed_at + 200_000_000}
    assert late and all(p % 4 in (1, 3) for p in late)  # the survivor ran to the end
    assert {op.process % 4 for op in ops} == {0, 1, 2, 3}


def test_a_worker_process_that_cannot_start_says_why(tmp_path, no_leaks):
    cfg = WorkerConfig(nodes=[("n1", "127.0.0.1:1")], workload="nope", seed=1, concurrency=2)
    procs = WorkerProcesses(cfg, 2, Recorder(None), tmp_path)
    with pytest.raises(UserError, match="unknown --workload 'nope'"):
        procs.start()


class FakeProc:
    def __init__(self, out: bytes):
        import io

        self.stdout = io.BytesIO(out)

    def wait(self, timeout=None):
        return 0


def test_the_reader_skips_a_bad_line_and_keeps_draining(tmp_path, caplog):
    import threading

    rec = Recorder(None)
    cfg = WorkerConfig(nodes=[("n1", "127.0.0.1:1")], workload="register", seed=1, concurrency=1)
    procs = WorkerProcesses(cfg, 1, rec, tmp_path)
    ready = threading.Event()
    t = rec.now() + 10**9
    out = (
        b'[1, 2]\n{"ready": true}\nnot json\n{"w": %d, "ops": [[%d, "invoke", 0, "read", null, {}]]}\n'
        % (t, t)
    )
    procs._read(0, FakeProc(out), ready)  # type: ignore[arg-type]
    assert ready.is_set()
    assert [(op.type, op.process) for op in rec.ops] == [("invoke", 0)]
    assert "client worker process 0" in caplog.text
