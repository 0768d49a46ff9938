"""One pairing of invokes with completions serves every checker, and it rejects orphans."""

from __future__ import annotations

import pytest

from zablab.checkers.calls import pair_calls
from zablab.checkers.linearizable import pair_ops
from zablab.errors import UserError
from zablab.history.jsonl import Op

HISTORY = [
    Op(0, 0, "invoke", 0, "write", 1),
    Op(1, 1, "info", "nemesis", "start", None),  # Jepsen logs faults as lone info lines
    Op(2, 2, "invoke", 1, "read", None),
    Op(3, 3, "ok", 0, "write", 1),
    Op(4, 4, "invoke", 0, "write", 2),
    Op(5, 5, "ok", 1, "read", 1),
    Op(6, 6, "invoke", 0, "write", 3),  # a second invoke: the first never answered
]


def test_pair_ops_and_pair_calls_agree() -> None:
    calls = pair_calls(HISTORY)
    ops = pair_ops(HISTORY)
    assert [(c.f, c.type, c.invoke.index) for c in calls] == [
        (o.f, o.status, o.invoke_index) for o in ops
    ]
    assert [o.status for o in ops] == ["ok", "ok", "info", "info"]
    assert [o.ret for o in ops] == [3, 5, None, None]


def test_nemesis_orphan_becomes_a_call_of_its_own() -> None:
    nem = [c for c in pair_calls(HISTORY, include_nemesis=True) if c.process == "nemesis"]
    assert len(nem) == 1 and nem[0].type == "info" and nem[0].start == 1


@pytest.mark.parametrize("pair", [pair_calls, pair_ops])
def test_client_completion_without_invoke_is_a_user_error(pair: object) -> None:
    with pytest.raises(UserError, match="op 7: ok read of process 2 has no matching invoke"):
        pair([*HISTORY, Op(7, 7, "ok", 2, "read", 1)])  # type: ignore[operator]
