"""The Model interface of the linearizability checker, and the Operation it checks.

A model is a sequential specification: a start state and a step function. The checker pairs
invokes with completions into `Operation`s, asks the model to `prepare` each one (compile it to a
compact step argument, or drop it), splits them with `partition`, and searches for an order in
which `step` accepts every op. States must be hashable (they are cached with the set of ops
linearized so far); small ints, strings and tuples keep the search fast.

How ops that did not plainly succeed are treated is the model's decision, made in `prepare`:
- crashed (`info`, or an invoke never completed): `status == "info"`, `output is None`; it may
  take effect at any point after its invoke, or never. Ops that cannot change the state (reads)
  are best dropped.
- failed (`fail`): definitely did not take effect. Usually dropped; a model may keep it as an
  observation (the cas-register keeps a failed cas: the register did not hold the expected value).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

_ATOMS = (str, int, float, bool, type(None))


def hashable(v: Any) -> Hashable:
    """A value as a dict key or set member: lists become tuples, dicts sorted pairs; the same
    value always maps to the same key (histories carry JSON, models compare by key)."""
    if type(v) in _ATOMS:
        return v  # type: ignore[no-any-return]
    if isinstance(v, list | tuple):
        return tuple(hashable(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((str(k), hashable(x)) for k, x in v.items()))
    if isinstance(v, set | frozenset):
        return frozenset(hashable(x) for x in v)
    return v


DROP: Any = object()
"""Returned by `Model.prepare` for an op that cannot affect or observe the state."""

NOT_A_READ: Any = object()
"""Returned by `Model.observes` for an op that is not legal in exactly one state."""


@dataclass(slots=True, eq=False)
class Operation:
    """An invoke paired with its completion. `ret is None` means it never returned (crashed)."""

    id: int
    process: Any
    f: str
    value: Any
    output: Any
    status: str  # ok | fail | info
    call: int
    ret: int | None
    invoke_index: int = -1
    complete_index: int | None = None
    key: Any = None
    final: bool = False  # one of the reads after the heal that end a zablab test

    @property
    def crashed(self) -> bool:
        return self.status == "info"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "process": self.process,
            "f": self.f,
            "value": self.value,
            "output": self.output,
            "status": self.status,
            "call": self.call,
            "ret": self.ret,
            "invoke_index": self.invoke_index,
            "complete_index": self.complete_index,
            "key": self.key,
        }


class Model:
    """Base class: subclass and override `init` and `step` (and usually `prepare`)."""

    name = "model"
    #: what happens to failed and crashed ops; copied into results and the failure view
    semantics = ""
    #: what to try instead when the search hits its time or memory bound on this model
    bounded_hint = ""

    def init(self) -> Hashable:
        return None

    def prepare(self, op: Operation) -> Any:
        """Compile `op` to the argument given to `step`, or return DROP to leave it out.

        Crashed ops with equal prepared arguments are treated as interchangeable, so the
        argument must capture everything `step` needs (it is compared with ==, and hashed).
        The default keeps the Operation itself and drops failed ops.
        """
        return DROP if op.status == "fail" else op

    def prepare_all(self, ops: Sequence[Operation]) -> list[Any]:
        """`prepare` for every op of a partition; a model that can drop ops only by looking at
        the whole partition (an add nobody ever observed) overrides this."""
        return [self.prepare(op) for op in ops]

    def refute(self, ops: Sequence[Operation], args: Sequence[Any]) -> tuple[int, str] | None:
        """Optionally, before any search: (i, why) if `ops[i]` can be linearized in no order at
        all, judged from real time alone (a read missing an element whose add had completed
        before the read began). It must be sure; None (the default) leaves it to the search."""
        return None

    def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
        """Apply one op to `state`: (whether the op is legal here, the state after it)."""
        raise NotImplementedError

    def read_only(self, arg: Any) -> bool:
        """True if `step(state, arg)` never changes any state (a read, a failed cas).

        The search linearizes such ops as early as it can and tries no alternative for them,
        which is sound only if they truly never change the state; False is always safe.
        """
        return False

    def observes(self, arg: Any) -> Any:
        """For a read-only op legal in exactly one state (a read that saw it): that state.

        Lets the search compare states instead of calling `step` for such ops. The default,
        NOT_A_READ, is always safe.
        """
        return NOT_A_READ

    def reachability(self, args: Sequence[Any]) -> Callable[[Any, Any, int], bool] | None:
        """Given every prepared argument of a partition, optionally a test
        `(state, wanted, linearized)`, where bit i of the int `linearized` is set when the op
        of `args[i]` has been linearized already.

        It must return False only if no sequence of the ops not yet linearized leads from
        `state` to a state equal to `wanted` (the state a pending read observed); the search
        then abandons the branch. None (the default) means no such knowledge.
        """
        return None

    def partition(self, ops: Sequence[Operation]) -> list[list[Operation]]:
        """Independent sub-histories checked separately (P-compositionality)."""
        return [list(ops)]

    def describe_op(self, op: Operation) -> str:
        call = op.f if op.value is None else f"{op.f}({_show(op.value)})"
        if op.status == "ok" and op.output is not None and op.output != op.value:
            return f"{call} -> {_show(op.output)}"
        return call + {"fail": " failed", "info": " crashed"}.get(op.status, "")

    def describe_state(self, state: Any) -> str:
        return _show(state)


SHOWN_ITEMS = 12  # a read of a set of thousands is shown as its first items and a count


def _show(v: Any) -> str:
    if v is None:
        return "nil"
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list | tuple):
        return "[" + _items([_show(x) for x in v]) + "]"
    if isinstance(v, frozenset | set):
        return "#{" + _items(sorted(_show(x) for x in v)) + "}"
    return str(v)


def _items(shown: list[str]) -> str:
    if len(shown) <= SHOWN_ITEMS:
        return " ".join(shown)
    return " ".join(shown[:SHOWN_ITEMS]) + f" ... ({len(shown)} items)"
