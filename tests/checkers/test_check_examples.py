"""The shipped example histories get the verdicts examples/README.md names, and zablab's own
output checks (tests/test_readme.py runs the README's check commands as written)."""

from __future__ import annotations

from pathlib import Path

import pytest

from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import get_model
from zablab.cli import main
from zablab.history.builder import HistoryBuilder
from zablab.history.jsonl import write_jsonl

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        ("register-valid.jsonl", ["--model", "cas-register"], 0),
        ("register-valid.jsonl", ["--model", "zk-register"], 0),
        ("register-valid.jsonl", ["--checker", "zookeeper"], 0),
        ("register-invalid.jsonl", ["--model", "cas-register"], 1),
        ("register-invalid.jsonl", ["--model", "zk-register"], 1),
        ("register-invalid.jsonl", ["--checker", "zookeeper"], 1),
        ("register.edn", ["--format", "edn", "--model", "register"], 0),
        ("etcd-sample.log", ["--format", "etcd-log", "--model", "cas-register"], 0),
        ("kv-sample.txt", ["--format", "kv-log", "--model", "kv"], 0),
        ("traces", ["--checker", "zab"], 0),
        ("traces-bug", ["--checker", "zab"], 1),
    ],
)
def test_example_verdicts(name: str, args: list[str], code: int, tmp_path: Path) -> None:
    assert main(["check", str(EXAMPLES / name), *args, "--out", str(tmp_path)]) == code


def test_a_directory_of_traces_checks_with_the_zab_checker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["check", str(EXAMPLES / "traces-bug"), "--checker", "zab", "--out", str(tmp_path)])
        == 1
    )
    out = capsys.readouterr().out
    assert "INVALID (zab" in out and "agreement" in out


def register_run(stale_plain_read: bool) -> HistoryBuilder:
    """The ops zablab's register workload writes, with a stale plain read if asked (which
    ZooKeeper allows: a follower may lag)."""
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid=1)
    b.op(1, "write", 2, 12, 20, zxid=2)
    b.op(
        2, "read", None, 22, 30, out=1 if stale_plain_read else 2, zxid=1 if stale_plain_read else 2
    )
    b.op(3, "cas", [1, 3], 32, 40, type="fail", error="value-mismatch")
    b.op(2, "sync-read", None, 42, 50, out=2, zxid=2, sync=True)
    b.op(4, "sync-read", None, 60, 70, out=2, zxid=2, sync=True, final=True)
    return b


def test_cas_register_accepts_the_register_workloads_ops(tmp_path: Path) -> None:
    p = tmp_path / "h.jsonl"
    write_jsonl(register_run(False).ops(), p)
    assert main(["check", str(p), "--model", "cas-register", "--out", str(tmp_path)]) == 0


def test_zk_register_checks_only_what_zookeeper_promises() -> None:
    ops = register_run(True).ops()
    assert check_linearizable(ops, get_model("cas-register")).valid is False  # every read
    assert check_linearizable(ops, get_model("zk-register")).valid is True
    lost = HistoryBuilder()
    lost.op(0, "write", 1, 0, 10).op(1, "write", 2, 12, 20)
    lost.op(4, "sync-read", None, 60, 70, out=1, final=True)
    assert check_linearizable(lost.ops(), get_model("zk-register")).valid is False


def test_zookeeper_checker_reads_sync_reads() -> None:
    from zablab.checkers.zookeeper import check_zookeeper

    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 10, zxid=1, session="a").op(1, "write", 2, 12, 20, zxid=2, session="b")
    b.op(4, "sync-read", None, 60, 70, out=1, zxid=1, sync=True, final=True, session="c")
    r = check_zookeeper(b.ops())
    assert r.valid is False and "lost-write" in r.details["anomaly-types"]
