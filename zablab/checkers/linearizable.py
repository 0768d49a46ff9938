"""Linearizability: the Wing–Gong–Lowe search as porcupine does it, with pruning for Python.

The history becomes a doubly linked list of call and return events in time order (equal times:
calls first, so they count as concurrent). The search repeatedly takes a call that comes before
the first return in the list, steps the model with it and, if legal and the pair (set of
linearized ops, state) is new, removes ("lifts") the op and starts again from the head; when it
meets a return first, that op could not be linearized, so it undoes the last lift. The list lives
in two int arrays (Knuth's dancing links), the linearized set is a Python int used as a bitset,
and the cache is a set of (bitset, state) pairs.

Crashed ops (`info`, or never completed) have no return event: they may be linearized at any
point after their call, or never, and the search succeeds once every other op is linearized.
Prunings that keep the search small without changing the verdict:
- a crashed op whose step leaves the state unchanged is not linearized there: leaving it
  pending keeps strictly more choices open;
- crashed ops with equal step arguments are interchangeable, so only the earliest-called
  pending one of such a group is tried;
- ops the model drops (failed writes, crashed reads) never enter the search;
- read-only ops (`Model.read_only`: reads, failed cas) are linearized as soon as they are
  callable and legal, and never tried elsewhere: moving an op that changes no state earlier
  keeps every other op's state and every real-time order, so nothing is lost;
- a pending read whose value can no longer be reached from the current state (per
  `Model.reachability`: kv appends only extend a value until a put, a set only grows, a
  register read of a value nobody wrote is never possible) ends that branch at once.
The model's `partition` splits the history into independent parts (P-compositionality).
A timeout yields "unknown", never a guess.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Hashable, Sequence
from typing import Any

from zablab.checkers.calls import pair_calls
from zablab.checkers.result import Result
from zablab.checkers.spec import DROP, NOT_A_READ, Model, Operation
from zablab.history.jsonl import Op

_NOT_A_READ = NOT_A_READ
MAX_LONGEST = 3  # distinct longest partial linearizations kept as evidence
MAX_STATES = 4_000_000  # per partition; about 1 GB of cache at worst


def pair_ops(history: Sequence[Op]) -> list[Operation]:
    """The history's client calls (`pair_calls`) as Operations; unmatched invokes are crashed."""
    ops: list[Operation] = []
    for c in pair_calls(history):
        done = c.complete if c.type != "info" else None
        ops.append(
            Operation(
                id=len(ops),
                process=c.process,
                f=c.f,
                value=c.invoke.value,
                output=None if done is None else done.value,
                status=c.type,
                call=c.invoke.time,
                ret=None if done is None else done.time,
                invoke_index=c.invoke.index,
                complete_index=None if c.complete is None else c.complete.index,
                key=c.invoke.extra.get("key"),
                final=bool(c.extra.get("final")),
            )
        )
    return ops


def _as_operations(ops: Sequence[Op] | Sequence[Operation]) -> list[Operation]:
    if ops and isinstance(ops[0], Op):
        return pair_ops(ops)  # type: ignore[arg-type]
    return list(ops)  # type: ignore[arg-type]


class _Outcome:
    __slots__ = ("valid", "longest", "visited", "why")

    def __init__(
        self, valid: bool | str, longest: list[tuple[list[tuple[int, Any]], int]], visited: int
    ):
        self.valid = valid
        self.longest = longest  # [(ops linearized with the state after each, blocking op index)]
        self.visited = visited
        self.why = ""  # set when the model refuted the partition without a search


def _search(
    ops: list[Operation], args: list[Any], model: Model, max_states: int, prune: bool = True
) -> Generator[None, None, _Outcome]:
    """Decide one partition; `args[i]` is the prepared step argument of `ops[i]`.

    A generator that yields every few thousand backtracks, so that the caller can interleave
    partitions (the first invalid one ends the check, as porcupine's parallel workers do) and
    enforce the timeout; its return value is the outcome.
    """
    n = len(ops)
    events: list[tuple[int, int, int]] = []  # (time, kind 0=call 1=return, op index)
    for i, op in enumerate(ops):
        events.append((op.call, 0, i))
        if op.ret is not None:
            events.append((op.ret, 1, i))
    events.sort()
    size = len(events)
    tail = size + 1
    nxt = list(range(1, size + 3))
    nxt[tail] = tail
    prv = list(range(-1, size + 1))
    prv[0] = 0
    match = [0] * (size + 2)
    arg: list[Any] = [None] * (size + 2)
    bit = [0] * (size + 2)
    need = [0] * (size + 2)
    opof = [0] * (size + 2)
    call_pos = [0] * n
    remaining = 0
    for pos, (_, kind, i) in enumerate(events, 1):
        opof[pos] = i
        if kind == 0:
            call_pos[i] = pos
            arg[pos] = args[i]
            bit[pos] = 1 << i
            match[pos] = -1  # crashed unless a return is seen
        else:
            match[call_pos[i]] = pos
            remaining += 1
    if not remaining:
        return _Outcome(True, [], 0)
    # interchangeable crashed ops: each needs the previous one of its group linearized first
    last_of_group: dict[Any, int] = {}
    for pos in range(1, size + 1):
        if match[pos] == -1 and prune:
            a = arg[pos]
            try:
                prev = last_of_group.get(a)
            except TypeError:  # unhashable argument: no symmetry for this op
                continue
            if prev is not None:
                need[pos] = bit[prev]
            last_of_group[a] = pos
    # read-only ops (never change the state) are linearized as soon as they can be, with no
    # alternative tried: moving such an op earlier, to where it is first callable and legal,
    # changes no other op's state and breaks no real-time order
    read_only = model.read_only
    observes = model.observes
    ro = [False] * (size + 2)
    want: list[Any] = [_NOT_A_READ] * (size + 2)  # the one state a pure read is legal in
    if prune:
        for pos in range(1, size + 1):
            if match[pos] > 0 and read_only(arg[pos]):
                ro[pos] = True
                want[pos] = observes(arg[pos])
    step = model.step
    cache: set[tuple[int, Hashable]] = set()
    cache_add = cache.add
    stack_e: list[int] = []  # lifted call events; negative: a read-only op, no alternatives
    stack_s: list[Any] = []
    push_e = stack_e.append
    push_s = stack_s.append
    pop_e = stack_e.pop
    pop_s = stack_s.pop
    state = model.init()
    bits = 0
    best = -1
    longest: list[tuple[list[tuple[int, Any]], int]] = []
    backtracks = 0
    blk = 0
    reachable = model.reachability(args) if prune else None
    e = nxt[0]
    while True:
        m = match[e]
        if m:
            w = want[e]
            if w is _NOT_A_READ:
                nd = need[e]
                if nd and not bits & nd:
                    e = nxt[e]
                    continue
                ok, s2 = step(state, arg[e])
                if not ok:
                    e = nxt[e]
                    continue
                if not ro[e]:
                    if m < 0 and s2 == state and prune:
                        e = nxt[e]
                        continue
                    b2 = bits | bit[e]
                    key = (b2, s2)
                    if key in cache:
                        e = nxt[e]
                        continue
                    cache_add(key)
                    push_e(e)
                    push_s(state)
                    state = s2
                    bits = b2
                    p = prv[e]
                    q = nxt[e]
                    nxt[p] = q
                    prv[q] = p
                    if m > 0:
                        p = prv[m]
                        q = nxt[m]
                        nxt[p] = q
                        prv[q] = p
                        remaining -= 1
                        if not remaining:
                            return _Outcome(True, [], len(cache))
                    e = nxt[0]
                    continue
            elif w != state:
                if reachable is None or reachable(state, w, bits):
                    e = nxt[e]
                    continue
                blk = e  # this read can never be satisfied from here: a dead end
                e = tail
            if e != tail:
                # a read-only op, legal here: take it, with no alternative
                key = (bits | bit[e], state)
                if key not in cache:  # else its successor was refuted, and so is this config
                    cache_add(key)
                    push_e(-e)
                    push_s(state)
                    bits = key[0]
                    p = prv[e]
                    q = nxt[e]
                    nxt[p] = q
                    prv[q] = p
                    p = prv[m]
                    q = nxt[m]
                    nxt[p] = q
                    prv[q] = p
                    remaining -= 1
                    if not remaining:
                        return _Outcome(True, [], len(cache))
                    e = nxt[0]
                    continue
                e = tail
        # e is the first return in the list (its op cannot be linearized here), or tail for a
        # refuted configuration (blk: a read that can never be satisfied, if that was why);
        # undo lifts up to the last one that has alternatives
        if e != tail:
            blk = e
        if blk:
            depth = len(stack_e)
            if depth >= best:
                if depth > best:
                    best = depth
                    longest = []
                if len(longest) < MAX_LONGEST:
                    longest.append((_path(stack_e, stack_s, state, opof), opof[blk]))
            blk = 0
        backtracks += 1
        if not backtracks & 0xFFF:
            if len(cache) > max_states:
                return _Outcome("too-many-states", longest, len(cache))
            yield
        while True:
            if not stack_e:
                return _Outcome(False, longest, len(cache))
            e = pop_e()
            state = pop_s()
            forced = e < 0
            if forced:
                e = -e
            bits ^= bit[e]
            m = match[e]
            if m > 0:
                p = prv[m]
                q = nxt[m]
                nxt[p] = m
                prv[q] = m
                remaining += 1
            p = prv[e]
            q = nxt[e]
            nxt[p] = e
            prv[q] = e
            if not forced:
                break
        e = nxt[e]


def _refuted(blocked: int, why: str) -> Generator[None, None, _Outcome]:
    """The outcome of a partition the model refuted before any search: op `blocked` fits
    nowhere, so the longest partial linearization is empty."""
    outcome = _Outcome(False, [([], blocked)], 0)
    outcome.why = why
    return outcome
    yield  # a generator, like _search


def _path(
    stack_e: list[int], stack_s: list[Any], state: Any, opof: list[int]
) -> list[tuple[int, Any]]:
    """The linearized ops of the stack, each with the state after it."""
    if not stack_e:
        return []
    after = stack_s[1:] + [state]
    return [(opof[abs(e)], s) for e, s in zip(stack_e, after, strict=True)]


def check_linearizable(
    ops: Sequence[Op] | Sequence[Operation],
    model: Model,
    timeout: float | None = None,
    max_states: int = MAX_STATES,
    prune: bool = True,
) -> Result:
    """Is the history linearizable with respect to `model`?

    `ops` is a history (invokes and completions, as recorded) or already paired Operations.
    Partitions are searched in turns; the first invalid one decides. The verdict is "unknown"
    when `timeout` seconds pass or a partition's cache exceeds `max_states` (bounding memory).
    `prune=False` turns off the crashed-op prunings (a baseline for benchmarks and tests).
    The details name the partitions, and when invalid the partition that failed, the op that
    cannot be linearized, the longest partial linearizations with the state after each op, and
    every op of that partition (the failure view is drawn from them).
    """
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    operations = _as_operations(ops)
    details: dict[str, Any] = {"model": model.name, "ops": len(operations)}
    if model.semantics:
        details["semantics"] = model.semantics
    parts = model.partition(operations)
    details["partitions"] = len(parts)
    runs = []
    checked = 0
    for k, part in enumerate(parts):
        kept: list[Operation] = []
        args: list[Any] = []
        for op, a in zip(part, model.prepare_all(part), strict=True):
            if a is not DROP:
                kept.append(op)
                args.append(a)
                checked += op.ret is not None
        refuted = model.refute(kept, args) if prune else None
        if refuted is not None:
            runs.append((k, part, kept, _refuted(*refuted)))
            continue
        runs.append((k, part, kept, _search(kept, args, model, max_states, prune)))
    details["checked"] = checked
    valid: bool | str = True
    visited = 0
    reason = ""
    if not checked:
        valid = "unknown"
        reason = _nothing_to_check(operations)
        runs = []
    try:
        while runs and valid is not False:
            for run in list(runs):
                k, part, kept, gen = run
                try:
                    next(gen)
                except StopIteration as stop:
                    outcome: _Outcome = stop.value
                    runs.remove(run)
                    visited += outcome.visited
                    if outcome.valid is True:
                        continue
                    if outcome.valid is False:
                        valid = False
                        details.update(_evidence(k, part, kept, outcome, model))
                        break
                    valid = "unknown"
                    reason = f"partition {k} needed more than {max_states} search states"
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    valid = "unknown"
                    reason = f"timed out after {timeout:g} s"
                    runs = []
                    break
    except MemoryError:
        # the process's memory limit (zablab check --max-memory) stopped the search
        runs.clear()
        valid = "unknown"
        reason = "the search ran out of its memory limit"
    for run in runs:
        run[3].close()
    details["states_visited"] = visited
    details["seconds"] = round(time.monotonic() - started, 6)
    if valid == "unknown":
        if model.bounded_hint and checked:
            reason += f"; {model.bounded_hint}"
        details["reason"] = reason
    return Result("linearizable", valid, details)  # type: ignore[arg-type]


def _nothing_to_check(operations: Sequence[Operation]) -> str:
    if not operations:
        return "the history holds no client operation, so there is nothing to check"
    if all(op.ret is None for op in operations):
        return (
            f"none of the history's {len(operations)} operation(s) completed, "
            "so there is nothing to check"
        )
    return (
        "the model keeps no completed operation of this history (it drops failed ops and "
        "crashed reads); is --model right?"
    )


def _evidence(
    k: int, part: list[Operation], kept: list[Operation], outcome: _Outcome, model: Model
) -> dict[str, Any]:
    def op_dict(op: Operation) -> dict[str, Any]:
        d = op.to_dict()
        d["describe"] = model.describe_op(op)
        return d

    longest = []
    blocked_ids: list[int] = []
    for path, blocked in outcome.longest:
        longest.append(
            {
                "ops": [{"id": kept[i].id, "state": model.describe_state(s)} for i, s in path],
                "blocked": kept[blocked].id,
            }
        )
        blocked_ids.append(kept[blocked].id)
    d: dict[str, Any] = {
        "partition": k,
        "key": _jsonable(part[0].key) if part else None,
        "initial_state": model.describe_state(model.init()),
        "longest": longest,
        "partition_ops": [op_dict(op) for op in part],
    }
    if blocked_ids:
        first = next(op for op in kept if op.id == blocked_ids[0])
        d["op"] = op_dict(first)
    if outcome.why:
        d["why"] = outcome.why
    return d


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return str(v)
