"""Random call sequences run on the student's tree and on the reference, compared call by call.

A mismatch is shrunk (calls dropped one at a time while the trees still differ) so the
explanation shows a short sequence, as DSLabs shows a minimised trace.
"""

from __future__ import annotations

import random
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from zablab.labs.engine import Case

from .api import Check, Create, Delete, MultiOp, Reply, SetData, ZNodeError
from .harness import STUDENT_FILE, fmt_call
from .reference.znode_tree import ZNodeTree as Reference

SHRINK_SECONDS = 5.0


@dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()

    def render(self, zxid: int) -> str:
        """As Python, to paste into a test of your own: writes get their zxid after the session."""
        args = (self.args[0], zxid, *self.args[1:]) if self.method in WRITES else self.args
        return "tree." + fmt_call(self.method, args, dict(self.kwargs))


WRITES = {"create", "delete", "set_data", "close_session", "multi"}


def generate(rng: random.Random, n: int, depth: int = 2, sessions: int = 3) -> list[Call]:
    """`n` calls over a few paths, so that they collide: creates of existing nodes, deletes of
    parents, versions that are right or one off, watches that fire, sessions that close."""
    names = ["a", "b", "c"]
    paths = ["/" + x for x in names]
    for _ in range(depth - 1):
        paths += [p + "/" + x for p in paths for x in names[:2]]
    live = list(range(1, sessions + 1))
    next_session = sessions + 1
    calls: list[Call] = []

    def path() -> str:
        return rng.choice(paths)

    def version() -> int:
        return rng.choice([-1, -1, 0, 1, 2])

    def op() -> MultiOp:
        k = rng.random()
        if k < 0.4:
            return Create(path(), rng.choice([b"", b"x"]), rng.random() < 0.2, rng.random() < 0.2)
        if k < 0.6:
            return Delete(path(), version())
        if k < 0.8:
            return SetData(path(), rng.choice([b"", b"yy"]), version())
        return Check(path(), version())

    for _ in range(n):
        s = rng.choice(live)
        k = rng.random()
        if k < 0.25:
            calls.append(Call("create", (s, path(), rng.choice([b"", b"x"])),
                              (("ephemeral", rng.random() < 0.25),
                               ("sequential", rng.random() < 0.2))))
        elif k < 0.37:
            calls.append(Call("delete", (s, path()), (("version", version()),)))
        elif k < 0.5:
            calls.append(Call("set_data", (s, path(), rng.choice([b"1", b"22"])),
                              (("version", version()),)))
        elif k < 0.62:
            calls.append(Call("multi", (s, [op() for _ in range(rng.randint(1, 4))])))
        elif k < 0.66 and len(live) > 1:
            live.remove(s)
            calls.append(Call("close_session", (s,)))
            live.append(next_session)
            next_session += 1
        else:
            method = rng.choice(["get_data", "exists", "get_children"])
            watcher = rng.choice([None, s, rng.choice(live)])
            calls.append(Call(method, (path(),), (("watcher", watcher),)))
    return calls


def _normal(sent: list[tuple[Hashable, object]]) -> dict[Hashable, list[object]]:
    """What each destination received, in order (the order across watchers is free)."""
    out: dict[Hashable, list[object]] = {}
    for dest, msg in sent:
        out.setdefault(dest, []).append(msg)
    return out


def _run_one(tree: Any, sent: list[tuple[Hashable, object]], call: Call, zxid: int) -> object:
    """The observable outcome of one call: a read's value or error, a write's messages."""
    kwargs = dict(call.kwargs)
    if call.method in WRITES:
        start = len(sent)
        try:
            getattr(tree, call.method)(call.args[0], zxid, *call.args[1:], **kwargs)
        except ZNodeError as e:
            return ("raised", e.code)
        out = sent[start:]
        last_is_reply = bool(out) and isinstance(out[-1][1], Reply)
        return ("sent", _normal(out), last_is_reply)
    try:
        return ("returned", getattr(tree, call.method)(*call.args, **kwargs))
    except ZNodeError as e:
        return ("raised", e.code)


def first_difference(student_class: Any, calls: list[Call]) -> tuple[int, object, object] | None:
    """(index, expected, got) of the first call where the trees differ, or None."""
    ref_sent: list[tuple[Hashable, object]] = []
    got_sent: list[tuple[Hashable, object]] = []
    ref = Reference(lambda d, m: ref_sent.append((d, m)))
    got = student_class(lambda d, m: got_sent.append((d, m)))
    for i, call in enumerate(calls):
        want = _run_one(ref, ref_sent, call, i + 1)
        try:
            have = _run_one(got, got_sent, call, i + 1)
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - a crash is a difference, with its reason
            have = ("crashed", f"{type(exc).__name__}: {exc}")
        if have != want:
            return i, want, have
    return None


def shrink(student_class: Any, calls: list[Call]) -> list[Call]:
    """Drop calls while the trees still differ (bounded in time)."""
    deadline = time.monotonic() + SHRINK_SECONDS
    i = 0
    while i < len(calls) and time.monotonic() < deadline:
        trial = calls[:i] + calls[i + 1:]
        try:
            diff = first_difference(student_class, trial)
        except NotImplementedError:
            diff = None
        if diff is not None:
            calls = trial[: diff[0] + 1]
        else:
            i += 1
    return calls


def _show(outcome: object) -> str:
    if isinstance(outcome, tuple) and outcome and outcome[0] == "sent":
        _, per_dest, last_is_reply = outcome
        text = "; ".join(f"to {d!r}: {msgs!r}" for d, msgs in per_dest.items()) or "nothing"
        return f"sent {text}" + ("" if last_is_reply else " (the Reply was not sent last)")
    if isinstance(outcome, tuple) and len(outcome) == 2:
        return f"{outcome[0]} {outcome[1]!r}"
    return repr(outcome)


def check_sequences(case: Case, count: int, length: int, depth: int = 2) -> None:
    mod = case.student(STUDENT_FILE)
    student_class = getattr(mod, "ZNodeTree", None)
    assert student_class is not None, f"{STUDENT_FILE} defines no class ZNodeTree"
    for _ in range(count):
        calls = generate(case.rng, length, depth)
        diff = first_difference(student_class, calls)
        if diff is None:
            continue
        short = shrink(student_class, calls[: diff[0] + 1])
        diff = first_difference(student_class, short) or diff
        i, want, have = diff
        lines = [f"your tree and the reference differ after {len(short)} calls (shrunk from "
                 f"{len(calls)}); the calls, on tree = ZNodeTree(send):"]
        lines += [f"  {c.render(n + 1)}" for n, c in enumerate(short)]
        lines += [f"at call {i + 1}, the reference {_show(want)}", f"           yours {_show(have)}"]
        raise AssertionError("\n".join(lines))
