"""What the simulated clients do: the harness's register and set workloads, over the wire.

Each op is a generator that yields the requests to send (pipelined, like kazoo's async calls,
so ``sync`` then ``getData`` is one round) and receives their replies, and returns the op's
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
from zablab.checkers.register import check_register
from zablab.checkers.result import Result
from zablab.checkers.workloads import check_set
from zablab.errors import UserError
from zablab.history.jsonl import Op
from zablab.node.protocol import EPHEMERAL, PERSISTENT_SEQUENTIAL, Err

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


def ensure(path: str) -> OpRun:
    """Create ``path`` and its parents (NodeExists is success): the workload's setup."""
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

    def next_op(self, rng: random.Random) -> tuple[str, Any]:
        raise NotImplementedError

    def run(self, f: str, value: Any) -> OpRun:
        raise NotImplementedError

    def final_ops(self) -> list[tuple[str, Any]]:
        return []

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

    def next_op(self, rng: random.Random) -> tuple[str, Any]:
        r = rng.random()
        if r < 0.4:
            return "read", None
        if r < 0.7:
            return "write", rng.randrange(VALUES)
        return "cas", [rng.randrange(VALUES), rng.randrange(VALUES)]

    def run(self, f: str, value: Any) -> OpRun:
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

    def next_op(self, rng: random.Random) -> tuple[str, Any]:
        return "add", next(self._unique)

    def run(self, f: str, value: Any) -> OpRun:
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

    def next_op(self, rng: random.Random) -> tuple[str, Any]:
        if rng.random() < 0.5:
            return "create", f"e{next(self._unique)}"
        return "read", None

    def run(self, f: str, value: Any) -> OpRun:
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


WORKLOADS: dict[str, type[SimWorkload]] = {"register": Register, "set": Set, "session": Sessions}


def make_workload(name: str) -> SimWorkload:
    try:
        return WORKLOADS[name]()
    except KeyError:
        raise UserError(
            f"unknown workload {name!r} for the whole-node simulation; "
            f"known: {', '.join(WORKLOADS)}."
        ) from None
