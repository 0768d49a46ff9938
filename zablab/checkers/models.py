"""The built-in models. Each documents what it does with failed and crashed ops.

Step arguments are small tuples whose first item is an op code, so that `step` is a few
comparisons and no allocation beyond the result.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from zablab.checkers.spec import DROP, NOT_A_READ, Model, Operation, _show, hashable
from zablab.errors import UserError

_READ, _WRITE, _CAS, _CAS_FAILED, _CAS_MAYBE = 0, 1, 2, 3, 4


def _pair(v: Any, what: str) -> tuple[Any, Any]:
    if isinstance(v, list | tuple) and len(v) == 2:
        return v[0], v[1]
    raise UserError(f"{what} needs a value [a b], got {_show(v)}")


class Register(Model):
    name = "register"
    semantics = (
        "read/write register, initially nil. A read observes the value; failed ops and "
        "crashed reads are dropped; a crashed write may take effect at any time or never."
    )

    def __init__(self, initial: Any = None):
        self.initial = hashable(initial)

    def init(self) -> Hashable:
        return self.initial

    def prepare(self, op: Operation) -> Any:
        f = op.f
        if f == "read" or f == "sync-read":  # zablab's register workload: sync, then read
            if op.status != "ok":
                return DROP
            return (_READ, hashable(op.output))
        if f == "write":
            if op.status == "fail":
                return DROP
            return (_WRITE, hashable(op.value))
        return self._prepare_other(op)

    def _prepare_other(self, op: Operation) -> Any:
        raise UserError(f"model {self.name} has no operation {op.f!r} (op {op.id})")

    def read_only(self, arg: Any) -> bool:
        return arg[0] == _READ or arg[0] == _CAS_FAILED

    def reachability(self, args: Sequence[Any]) -> Callable[[Any, Any, int], bool] | None:
        # a read of a value nobody wrote is impossible anywhere: say so, to fail fast
        possible = {self.initial}
        possible.update(
            a[2] if a[0] in (_CAS, _CAS_MAYBE) else a[1]
            for a in args
            if a[0] != _READ and a[0] != _CAS_FAILED
        )
        if all(a[1] in possible for a in args if a[0] == _READ):
            return None  # nothing to gain, and no cost on every mismatching read
        return lambda state, wanted, linearized: wanted in possible

    def observes(self, arg: Any) -> Any:
        return arg[1] if arg[0] == _READ else NOT_A_READ

    def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
        code = arg[0]
        if code == _READ:
            return arg[1] == state, state
        if code == _WRITE:
            return True, arg[1]
        if code == _CAS:
            if state == arg[1]:
                return True, arg[2]
            return False, state
        if code == _CAS_FAILED:
            return state != arg[1], state
        # crashed cas: takes effect only where it would have succeeded
        return True, (arg[2] if state == arg[1] else state)


class CasRegister(Register):
    name = "cas-register"
    semantics = (
        "register with read, write and cas [expected new], initially nil. A failed cas is kept "
        "as an observation: the register did not hold the expected value at its linearization "
        "point (porcupine's and Knossos's semantics). Other failed ops and crashed reads are "
        "dropped; crashed writes and cas may take effect at any time or never."
    )

    def _prepare_other(self, op: Operation) -> Any:
        if op.f != "cas":
            return super()._prepare_other(op)
        a, b = _pair(op.value, "cas")
        a, b = hashable(a), hashable(b)
        if op.status == "ok":
            return (_CAS, a, b)
        if op.status == "fail":
            return (_CAS_FAILED, a)
        return (_CAS_MAYBE, a, b)


class ZkRegister(CasRegister):
    """The part of a zablab register history that ZooKeeper promises to be linearizable."""

    name = "zk-register"
    semantics = (
        "what ZooKeeper promises of a register: writes, successful cas and the final synced "
        "reads (after the heal) are linearizable, as a cas-register. Other reads are left out, "
        "synced ones too (sync is not a quorum operation, so a follower still attached to a "
        "deposed leader may serve stale data after it), and so is a failed cas (its read may "
        "have been stale, so it observed nothing linearizable). `--checker zookeeper` checks "
        "those reads against ZooKeeper's weaker guarantees."
    )

    def prepare(self, op: Operation) -> Any:
        if op.f == "read" or (op.f == "sync-read" and not op.final):
            return DROP
        if op.f == "cas" and op.status == "fail":
            return DROP
        return super().prepare(op)


def _kv_key_value(op: Operation) -> tuple[Any, Any]:
    """The key and value of a kv op: the `key` field, or Jepsen's independent [key value]."""
    if op.key is not None:
        return op.key, op.value
    if isinstance(op.value, list | tuple) and len(op.value) == 2:
        return hashable(op.value[0]), op.value[1]
    raise UserError(f"kv op {op.id} ({op.f}) has no key: give a key field or a [key value] value")


class KV(Model):
    name = "kv"
    semantics = (
        "key-value store with get, put and append over string values, every key initially '' "
        "(porcupine's kv model); checked per key. Failed ops and crashed gets are dropped; "
        "crashed puts and appends may take effect at any time or never."
    )

    def __init__(self) -> None:
        # States are interned: each distinct value is a small int (its index in _values), so
        # the search hashes and compares ints, not ever longer strings; appends are memoised.
        self._values: list[str] = [""]
        self._ids: dict[str, int] = {"": 0}
        self._appended: dict[tuple[int, str], int] = {}
        self.step = self._make_step()  # type: ignore[method-assign]

    def _intern(self, value: str) -> int:
        i = self._ids.get(value)
        if i is None:
            i = self._ids[value] = len(self._values)
            self._values.append(value)
        return i

    def init(self) -> Hashable:
        return 0

    def prepare(self, op: Operation) -> Any:
        if op.status == "fail":
            return DROP
        _, value = _kv_key_value(op)
        value = "" if value is None else str(value)
        if op.f in ("get", "read"):
            if op.status != "ok":
                return DROP
            out = op.output
            if isinstance(out, list | tuple) and len(out) == 2 and op.key is None:
                out = out[1]
            return (_READ, self._intern("" if out is None else str(out)))
        if op.f in ("put", "write"):
            return (_WRITE, self._intern(value))
        if op.f == "append":
            return (_CAS, value)
        raise UserError(f"model kv has no operation {op.f!r} (op {op.id})")

    def read_only(self, arg: Any) -> bool:
        return arg[0] == _READ

    def observes(self, arg: Any) -> Any:
        return arg[1] if arg[0] == _READ else NOT_A_READ

    def _make_step(self) -> Any:
        appended = self._appended
        get = appended.get
        values = self._values
        ids = self._ids
        ids_get = ids.get

        def step(state: Any, arg: Any) -> tuple[bool, Any]:
            code = arg[0]
            if code == _CAS:  # append: memoised, and interned on first sight
                key = (state, arg[1])
                nxt = get(key)
                if nxt is None:
                    value = values[state] + arg[1]
                    nxt = ids_get(value)
                    if nxt is None:
                        nxt = ids[value] = len(values)
                        values.append(value)
                    appended[key] = nxt
                return True, nxt
            if code == _READ:
                return arg[1] == state, state
            return True, arg[1]

        return step

    def reachability(self, args: Sequence[Any]) -> Callable[[Any, Any, int], bool] | None:
        values = self._values
        puts = [(1 << i, values[a[1]]) for i, a in enumerate(args) if a[0] == _WRITE]
        put_mask: dict[Any, int] = {}  # per wanted value: the puts it could start from

        def reachable(state: Any, wanted: Any, linearized: int) -> bool:
            # appends only extend a value; a put not yet linearized may start it afresh
            w = values[wanted]
            if w.startswith(values[state]):
                return True
            mask = put_mask.get(wanted)
            if mask is None:
                mask = put_mask[wanted] = sum(b for b, v in puts if w.startswith(v))
            return mask & ~linearized != 0

        return reachable

    def describe_state(self, state: Any) -> str:
        return _show(self._values[state])

    def partition(self, ops: Sequence[Operation]) -> list[list[Operation]]:
        by_key: dict[Any, list[Operation]] = {}
        for op in ops:
            by_key.setdefault(hashable(_kv_key_value(op)[0]), []).append(op)
        return list(by_key.values())

    def describe_op(self, op: Operation) -> str:
        key, value = _kv_key_value(op)
        if op.f in ("get", "read"):
            return f"get({_show(key)}) -> {_show(op.output)}"
        return f"{op.f}({_show(key)}, {_show(value)})" + (" crashed" if op.crashed else "")


class SetModel(Model):
    """States are ints used as bitsets (bit i: the i-th distinct element is in the set), so a
    state costs a few bytes per element and equal sets hash alike whatever the add order."""

    name = "set"
    semantics = (
        "a set with add v and read (returns all elements), initially empty. Failed ops and "
        "crashed reads are dropped; a crashed add may take effect at any time or never (a "
        "crashed add of an element no read returned is dropped: it can only make reads fail)."
    )
    bounded_hint = "use --checker set: it judges each element on its own, with no search"

    def __init__(self) -> None:
        self._bit: dict[Hashable, int] = {}
        self._elements: list[Hashable] = []

    def _mask(self, elements: Any) -> int:
        mask = 0
        for x in elements:
            x = hashable(x)
            i = self._bit.get(x)
            if i is None:
                i = self._bit[x] = len(self._elements)
                self._elements.append(x)
            mask |= 1 << i
        return mask

    def init(self) -> Hashable:
        return 0

    def prepare(self, op: Operation) -> Any:
        if op.status == "fail":
            return DROP
        if op.f == "add":
            return (_WRITE, self._mask([op.value]))
        if op.f == "read":
            if op.status != "ok":
                return DROP
            out = op.output
            return (_READ, self._mask(out if isinstance(out, list | tuple | set) else ()))
        raise UserError(f"model set has no operation {op.f!r} (op {op.id})")

    def prepare_all(self, ops: Sequence[Operation]) -> list[Any]:
        args = [self.prepare(op) for op in ops]
        seen = 0
        for a in args:
            if a is not DROP and a[0] == _READ:
                seen |= a[1]
        return [
            DROP if a is not DROP and op.crashed and a[0] == _WRITE and not a[1] & seen else a
            for op, a in zip(ops, args, strict=True)
        ]

    def refute(self, ops: Sequence[Operation], args: Sequence[Any]) -> tuple[int, str] | None:
        # an add acknowledged before a read began precedes it in every order, and a set only
        # grows: the read must hold its element (the search would need exponential time here)
        adds = sorted(
            (op.ret, a[1]) for op, a in zip(ops, args, strict=True)
            if a[0] == _WRITE and op.ret is not None
        )  # fmt: skip
        reads = sorted(
            (op.call, i) for i, (op, a) in enumerate(zip(ops, args, strict=True)) if a[0] == _READ
        )
        done, k = 0, 0
        for call, i in reads:
            while k < len(adds) and adds[k][0] < call:
                done |= adds[k][1]
                k += 1
            missing = done & ~args[i][1]
            if missing:
                x = self._elements[(missing & -missing).bit_length() - 1]
                n = bin(missing).count("1")
                more = f" (and {n - 1} more)" if n > 1 else ""
                return i, f"it misses {_show(x)}{more}, whose add completed before it began"
        return None

    def read_only(self, arg: Any) -> bool:
        return arg[0] == _READ

    def observes(self, arg: Any) -> Any:
        return arg[1] if arg[0] == _READ else NOT_A_READ

    def reachability(self, args: Sequence[Any]) -> Callable[[Any, Any, int], bool] | None:
        return lambda state, wanted, linearized: not state & ~wanted  # adds only grow the set

    def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
        if arg[0] == _READ:
            return arg[1] == state, state
        return True, state | arg[1]

    def describe_state(self, state: Any) -> str:
        members = [x for i, x in enumerate(self._elements) if state >> i & 1]
        return _show(frozenset(members))


class FifoQueue(Model):
    name = "fifo-queue"
    semantics = (
        "FIFO queue with enqueue v and dequeue, initially empty; an ok dequeue with value nil "
        "saw an empty queue. Failed ops are dropped; a crashed enqueue may take effect at any "
        "time or never; a crashed dequeue may remove the head at any time, or never."
    )

    def init(self) -> Hashable:
        return ()

    def prepare(self, op: Operation) -> Any:
        if op.status == "fail":
            return DROP
        if op.f == "enqueue":
            return (_WRITE, hashable(op.value))
        if op.f == "dequeue":
            if op.status == "info":
                return (_CAS_MAYBE,)
            return (_READ, hashable(op.output))
        raise UserError(f"model {self.name} has no operation {op.f!r} (op {op.id})")

    def read_only(self, arg: Any) -> bool:
        return arg[0] == _READ and arg[1] is None  # saw the queue empty

    def observes(self, arg: Any) -> Any:
        return () if self.read_only(arg) else NOT_A_READ

    def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
        code = arg[0]
        if code == _WRITE:
            return True, state + (arg[1],)
        if code == _READ:
            if arg[1] is None:
                return not state, state
            if state and state[0] == arg[1]:
                return True, state[1:]
            return False, state
        return True, state[1:]


def _ms_add(ms: frozenset, v: Any) -> frozenset:
    d = dict(ms)
    d[v] = d.get(v, 0) + 1
    return frozenset(d.items())


def _ms_remove(ms: frozenset, v: Any) -> frozenset:
    d = dict(ms)
    n = d[v] - 1
    if n:
        d[v] = n
    else:
        del d[v]
    return frozenset(d.items())


class UnorderedQueue(Model):
    """State: the set of possible multisets (a crashed dequeue removes an unknown element)."""

    name = "unordered-queue"
    semantics = (
        "unordered queue (a multiset) with enqueue v and dequeue, initially empty; an ok "
        "dequeue with value nil saw an empty queue. Failed ops are dropped; a crashed enqueue "
        "may take effect at any time or never; a crashed dequeue may remove any one element "
        "at any time, or never."
    )

    def init(self) -> Hashable:
        return frozenset([frozenset()])

    prepare = FifoQueue.prepare

    def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
        code = arg[0]
        if code == _WRITE:
            return True, frozenset(_ms_add(ms, arg[1]) for ms in state)
        if code == _READ:
            v = arg[1]
            if v is None:
                ok = frozenset() in state
                return ok, (frozenset([frozenset()]) if ok else state)
            nxt = frozenset(_ms_remove(ms, v) for ms in state if v in dict(ms))
            return bool(nxt), (nxt or state)
        return True, frozenset(_ms_remove(ms, v) for ms in state for v, _ in ms) | frozenset(
            ms for ms in state if not ms
        )

    def describe_state(self, state: Any) -> str:
        shown = []
        for ms in state:
            items = [x for v, n in ms for x in [v] * n]
            shown.append("{" + " ".join(sorted(_show(x) for x in items)) + "}")
        return " or ".join(sorted(shown))


class Mutex(Model):
    name = "mutex"
    semantics = (
        "a lock with acquire and release, initially free (Knossos's mutex: not owner-aware, "
        "since a crashed worker continues under a new process id). Failed ops are dropped; "
        "crashed ones may take effect at any time or never."
    )

    def init(self) -> Hashable:
        return False

    def prepare(self, op: Operation) -> Any:
        if op.status == "fail":
            return DROP
        if op.f == "acquire":
            return (_WRITE,)
        if op.f == "release":
            return (_READ,)
        raise UserError(f"model mutex has no operation {op.f!r} (op {op.id})")

    def step(self, state: Any, arg: Any) -> tuple[bool, Any]:
        if arg[0] == _WRITE:
            return not state, True
        return state, False

    def describe_state(self, state: Any) -> str:
        return "held" if state else "free"


MODELS: dict[str, type[Model]] = {
    "register": Register,
    "cas-register": CasRegister,
    "zk-register": ZkRegister,
    "kv": KV,
    "set": SetModel,
    "fifo-queue": FifoQueue,
    "unordered-queue": UnorderedQueue,
    "mutex": Mutex,
}


def get_model(name: str) -> Model:
    try:
        return MODELS[name]()
    except KeyError:
        raise UserError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}") from None
