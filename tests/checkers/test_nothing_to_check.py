"""No verdict of valid without evidence: a checker that saw nothing to check says unknown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import MODELS, get_model
from zablab.checkers.registry import CHECKERS, get_checker
from zablab.checkers.result import Result, compose, merge_validity
from zablab.cli import main
from zablab.history.jsonl import Op, write_jsonl

LONE_INVOKE = [Op(0, 0, "invoke", 0, "write", 1)]
ONLY_NEMESIS = [Op(0, 0, "invoke", "nemesis", "kill", None), Op(1, 5, "info", "nemesis", "kill")]


@pytest.mark.parametrize(
    ("ops", "reason"),
    [([], "no client operation"), (LONE_INVOKE, "completed"), (ONLY_NEMESIS, "no client")],
    ids=["empty", "lone-invoke", "only-nemesis"],
)
def test_check_of_a_history_with_nothing_to_check_is_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ops: list[Op], reason: str
) -> None:
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    assert main(["check", str(p), "--model", "cas-register", "--out", str(tmp_path / "o")]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{p}: unknown")
    assert len(out) == 2 and out[1].startswith("  unknown: ") and reason in out[1]


FIRST_OP = {
    "kv": ("put", ["k", "x"]),
    "set": ("add", 1),
    "fifo-queue": ("enqueue", 1),
    "unordered-queue": ("enqueue", 1),
    "mutex": ("acquire", None),
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_says_unknown_without_a_completed_op(model: str) -> None:
    f, value = FIRST_OP.get(model, ("write", 1))
    for ops in ([], [Op(0, 0, "invoke", 0, f, value)]):
        r = check_linearizable(ops, get_model(model))
        assert r.valid == "unknown" and r.details["reason"]


def test_only_failed_writes_leave_nothing_to_check() -> None:
    ops = [Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "fail", 0, "write", 1)]
    r = check_linearizable(ops, get_model("register"))
    assert r.valid == "unknown" and "drops failed ops" in r.details["reason"]


def _options(name: str, tmp_path: Path) -> dict[str, Any]:
    if name == "zab":
        trace = tmp_path / "empty-trace.jsonl"
        trace.write_text("")
        return {"trace": str(trace)}
    if name == "linearizable":
        return {"model": "register"}
    return {"dir": str(tmp_path)}


@pytest.mark.parametrize("name", sorted(CHECKERS))
@pytest.mark.parametrize("ops", [[], LONE_INVOKE], ids=["empty", "lone-invoke"])
def test_every_registry_checker_says_unknown_on_nothing(
    name: str, ops: list[Op], tmp_path: Path
) -> None:
    r = get_checker(name)(ops, _options(name, tmp_path))
    assert r.valid == "unknown", (name, r.to_dict())


def test_results_compose_false_over_unknown_over_true() -> None:
    t, u, f = (Result("x", v) for v in (True, "unknown", False))
    assert compose("c", [t, u]).valid == "unknown"
    assert compose("c", [u, f, t]).valid is False
    assert compose("c", [t, t]).valid is True
    assert compose("c", []).valid == "unknown"  # nothing ran: no evidence
    assert merge_validity([True, "unknown", False]) is False
