"""What the simulated clients do: the harness's register and set workloads, over the wire.

Each op is a generator that yields the requests to send (pipelined, like kazoo's async calls,
so ``sync`` then ``getData`` is one round) and receives their replies — or yields no request
to wait for a watch event (then receives an empty list) — and returns the op's
outcome: ("ok" | "fail", value, extra fields). The clients (clients.py) turn a lost connection
or a timeout into "info" (or "fail" for ops that change nothing). The histories use the
harness's field names and values, so the same checkers judge them.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Generator
from typing import Any

from zablab.checkers.ephemerals import check_sessions
from zablab.checkers.fencing import check_fencing
from zablab.checkers.register import check_register
from zablab.checkers.result import Result
from zablab.checkers.workloads import check_set
from zablab.errors import UserError
from zablab.history.jsonl import Op
from zablab.node.protocol import EPHEMERAL, EPHEMERAL_SEQUENTIAL, PERSISTENT_SEQUENTIAL, Err

from . import wire
from .wire import Reply, Request

ROOT = "/zablab"
VALUES = 5

Outcome = tuple[str, Any, dict[str, Any]]
OpRun = Generator[list[Request], list[Reply], Outcome]


def enc(v: Any) -> bytes:
    return b"" if v is None else json.dumps(v).encode()


def dec(b: bytes) -> Any:
    return None if not b else json.loads(b)


def _error(r: Reply) -> Outcome:
    return "fail", None, {"error": f"zookeeper error {r.err}"}


def ensure(*paths: str) -> OpRun:
    """Create ``paths`` and their parents (NodeExists is success): the workload's setup."""
    for path in paths:
        parts = path.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            [r] = yield [wire.create("/" + "/".join(parts[:i]))]
            if r.err not in (Err.OK, Err.NODEEXISTS):
                return _error(r)
    return "ok", None, {}


class SimWorkload:
    """One workload: its znode, the ops' mix, the final ops, and the checker it needs."""

    name = ""
    path = ""
    reads: frozenset[str] = frozenset()  # ops that change nothing: a timeout is a "fail"

    def __init__(self) -> None:
        self._unique = itertools.count()

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        raise NotImplementedError

    def run(self, f: str, value: Any, process: int) -> OpRun:
        raise NotImplementedError

    def final_ops(self) -> list[tuple[str, Any]]:
        return []

    def setup_paths(self) -> list[str]:
        """The znodes the ops need, created before any op (not part of the history)."""
        return [self.path]

    def settle_ms(self, session_timeout_ms: int) -> int:
        """Extra wait after convergence before the final ops (e.g. for sessions to expire)."""
        return 0

    def check(self, ops: list[Op], timeout: float) -> Result:
        raise NotImplementedError


class Register(SimWorkload):
    """read, write, and cas as sync+getData then a versioned setData (atomic at the leader)."""

    name = "register"
    path = f"{ROOT}/register"
    reads = frozenset({"read", "sync-read"})

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        r = rng.random()
        if r < 0.4:
            return "read", None
        if r < 0.7:
            return "write", rng.randrange(VALUES)
        return "cas", [rng.randrange(VALUES), rng.randrange(VALUES)]

    def run(self, f: str, value: Any, process: int) -> OpRun:
        path = self.path
        if f in ("read", "sync-read"):
            synced = f == "sync-read"
            replies = yield ([wire.sync(path)] if synced else []) + [wire.get_data(path)]
            r = replies[-1]
            if any(x.err for x in replies):
                return _error(next(x for x in replies if x.err))
            data, st = wire.data_and_stat(r)
            extra: dict[str, Any] = {"zxid": st[1], "version": st[4]}
            if synced:
                extra["sync"] = True
            return "ok", dec(data), extra
        if f == "write":
            [r] = yield [wire.set_data(path, enc(value))]
            if r.err:
                return _error(r)
            st = r.stat()
            return "ok", value, {"zxid": st[1], "version": st[4]}
        if f == "cas":
            expected, new = value
            _, got = yield [wire.sync(path), wire.get_data(path)]
            if got.err:
                return _error(got)
            data, st = wire.data_and_stat(got)
            if dec(data) != expected:
                return "fail", value, {"error": "value-mismatch"}
            [r] = yield [wire.set_data(path, enc(new), st[4])]
            if r.err == Err.BADVERSION:
                return "fail", value, {"error": "bad-version"}
            if r.err:
                return _error(r)
            st = r.stat()
            return "ok", value, {"zxid": st[1], "version": st[4]}
        raise ValueError(f"register has no op {f!r}")

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("sync-read", None)]

    def check(self, ops: list[Op], timeout: float) -> Result:
        return check_register(ops, timeout=timeout)


class Set(SimWorkload):
    """A set as sequential children: each add creates ``<element>-<seq>``; a final read."""

    name = "set"
    path = f"{ROOT}/set"
    reads = frozenset({"read"})

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return "add", next(self._unique)

    def run(self, f: str, value: Any, process: int) -> OpRun:
        if f == "add":
            [r] = yield [wire.create(f"{self.path}/{value}-", b"", PERSISTENT_SEQUENTIAL)]
            if r.err:
                return _error(r)
            return "ok", value, {"path": wire.path_of(r)}
        if f == "read":
            _, r = yield [wire.sync(self.path), wire.get_children(self.path)]
            if r.err:
                return _error(r)
            return "ok", sorted(int(c.split("-")[0]) for c in wire.children_of(r)), {}
        raise ValueError(f"set has no op {f!r}")

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", None)]

    def check(self, ops: list[Op], timeout: float) -> Result:
        return check_set(ops)


class Sessions(SimWorkload):
    """Ephemeral znodes: present while their session lives, gone once it expired."""

    name = "session"
    path = f"{ROOT}/session"
    reads = frozenset({"read"})

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        if rng.random() < 0.5:
            return "create", f"e{next(self._unique)}"
        return "read", None

    def run(self, f: str, value: Any, process: int) -> OpRun:
        if f == "create":
            [r] = yield [wire.create(f"{self.path}/{value}", b"", EPHEMERAL)]
            return ("ok", value, {}) if not r.err else _error(r)
        if f == "read":
            _, r = yield [wire.sync(self.path), wire.get_children(self.path)]
            return ("ok", sorted(wire.children_of(r)), {}) if not r.err else _error(r)
        raise ValueError(f"session has no op {f!r}")

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("read", None)]

    def settle_ms(self, session_timeout_ms: int) -> int:
        # every worker's session (ended with the workload, or abandoned after an info) expires
        return 2 * session_timeout_ms

    def check(self, ops: list[Op], timeout: float) -> Result:
        return check_sessions(ops)


class Lock(SimWorkload):
    """kazoo's Lock recipe fencing a resource: acquire (an ephemeral sequential node, then wait
    for the node before it to go), write the token by a multi that checks the lock node still
    exists, release. A process cycles through acquire, write, release; after an info it is a
    new process on a new session, and its old lock node goes with the old session."""

    name = "lock"
    path = f"{ROOT}/lock"
    resource = f"{ROOT}/fenced"
    reads = frozenset()

    def __init__(self) -> None:
        super().__init__()
        self.phase: dict[int, str] = {}
        self.held: dict[int, tuple[str, int]] = {}  # process -> (lock node, token)

    def setup_paths(self) -> list[str]:
        return [self.path, self.resource]

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        phase = self.phase.get(process, "acquire")
        if phase == "write":
            return "write", self.held[process][1] if process in self.held else -1
        return phase, None

    def run(self, f: str, value: Any, process: int) -> OpRun:
        if f == "acquire":
            return (yield from self._acquire(process))
        if f == "write":
            self.phase[process] = "release"
            if process not in self.held:
                return "fail", value, {"error": "not-held"}
            node, token = self.held[process]
            [r] = yield [wire.check_and_set(node, 0, self.resource, enc(token))]
            if wire.multi_failed(r):
                return "fail", value, {"error": "fenced"}
            return "ok", value, {"zxid": r.zxid}
        if f == "release":
            self.phase[process] = "acquire"
            held = self.held.pop(process, None)
            if held is not None:
                [r] = yield [wire.delete(held[0])]
                if r.err not in (Err.OK, Err.NONODE):
                    return _error(r)
            return "ok", None, {}
        raise ValueError(f"lock has no op {f!r}")

    def _acquire(self, process: int) -> OpRun:
        [r] = yield [wire.create(f"{self.path}/p{process}__lock__", b"", EPHEMERAL_SEQUENTIAL)]
        if r.err:
            return _error(r)
        node = wire.path_of(r)
        name = node.rsplit("/", 1)[-1]
        while True:
            [c] = yield [wire.get_children(self.path)]
            if c.err:
                return _error(c)
            order = sorted(wire.children_of(c), key=lambda x: x.rsplit("__", 1)[-1])
            if name not in order:
                return "fail", None, {"error": "lock node gone"}
            i = order.index(name)
            if i == 0:
                token = int(name.rsplit("__", 1)[-1])
                self.held[process] = (node, token)
                self.phase[process] = "write"
                return "ok", token, {}
            [e] = yield [wire.exists(f"{self.path}/{order[i - 1]}", watch=True)]
            if e.err == Err.OK:
                yield []  # the node before ours exists: wait for its watch to fire

    def check(self, ops: list[Op], timeout: float) -> Result:
        return check_fencing(ops)


WORKLOADS: dict[str, type[SimWorkload]] = {
    "register": Register,
    "set": Set,
    "session": Sessions,
    "lock": Lock,
}


def make_workload(name: str) -> SimWorkload:
    try:
        return WORKLOADS[name]()
    except KeyError:
        raise UserError(
            f"unknown workload {name!r} for the whole-node simulation; "
            f"known: {', '.join(WORKLOADS)}."
        ) from None
