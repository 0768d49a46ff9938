"""A brute-force linearizability oracle for tiny histories, used to test the real checker.

It shares nothing with the search but the model: for every choice of which crashed ops took
effect, it tries every permutation, keeps those that respect real time (an op that returned
before another was called comes first), and runs the model over them. Exponential: keep
histories to a handful of ops.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations, permutations
from typing import Any

from zablab.checkers.linearizable import _as_operations
from zablab.checkers.spec import DROP, Model, Operation
from zablab.history.jsonl import Op


def _respects_real_time(order: Sequence[Operation]) -> bool:
    for i, later in enumerate(order):
        for earlier in order[i + 1 :]:
            # `earlier` is placed after `later`: wrong if it returned before `later` was called
            if earlier.ret is not None and earlier.ret < later.call:
                return False
    return True


def _runs(model: Model, order: Sequence[tuple[Operation, Any]]) -> bool:
    state = model.init()
    for _, arg in order:
        ok, state = model.step(state, arg)
        if not ok:
            return False
    return True


def brute_linearizable(ops: Sequence[Op] | Sequence[Operation], model: Model) -> bool:
    operations = _as_operations(ops)
    for part in model.partition(operations):
        prepared = [(op, a) for op in part if (a := model.prepare(op)) is not DROP]
        required = [p for p in prepared if p[0].ret is not None]
        crashed = [p for p in prepared if p[0].ret is None]
        found = False
        for r in range(len(crashed) + 1):
            for chosen in combinations(crashed, r):
                for order in permutations(required + list(chosen)):
                    if _respects_real_time([o for o, _ in order]) and _runs(model, order):
                        found = True
                        break
                if found:
                    break
            if found:
                break
        if not found:
            return False
    return True
