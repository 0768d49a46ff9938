"""Drive a ZNodeTree the way the server does, and explain what went wrong in a student's words:
the calls made so far, the call that misbehaved, what was expected."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from zablab.labs.engine import Case

from .api import Reply, WatchedEvent, ZNodeError

STUDENT_FILE = "znode_tree.py"
SHOWN_CALLS = 12  # the last calls an explanation lists


def fmt_call(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{method}({', '.join(parts)})"


class Harness:
    """One tree over a recording `send`; `zxid` counts writes as the server numbers txns."""

    def __init__(self, tree_class: Any) -> None:
        self.sent: list[tuple[Hashable, object]] = []
        self.calls: list[str] = []
        self.zxid = 0
        self.tree = tree_class(self._send)

    @classmethod
    def student(cls, case: Case) -> Harness:
        mod = case.student(STUDENT_FILE)
        tree_class = getattr(mod, "ZNodeTree", None)
        if tree_class is None:
            raise AssertionError(f"{STUDENT_FILE} defines no class ZNodeTree")
        return cls(tree_class)

    def _send(self, dest: Hashable, msg: object) -> None:
        self.sent.append((dest, msg))

    def fail(self, message: str) -> None:
        shown = self.calls[-SHOWN_CALLS:]
        lines = [message, "the calls, oldest first" + (" (last few)" if len(self.calls) > len(shown) else "") + ":"]
        lines += [f"  {c}" for c in shown]
        raise AssertionError("\n".join(lines))

    def check(self, cond: object, message: str) -> None:
        if not cond:
            self.fail(message)

    # ---- writes ------------------------------------------------------------------------------

    def write(self, method: str, session: int, *args: Any, **kwargs: Any
              ) -> tuple[Reply, list[tuple[Hashable, WatchedEvent]], list[tuple[Hashable, object]]]:
        """(the reply, the watch events, everything sent in order) of one write."""
        self.zxid += 1
        call = fmt_call(method, (session, self.zxid, *args), kwargs)
        self.calls.append(call)
        start = len(self.sent)
        try:
            getattr(self.tree, method)(session, self.zxid, *args, **kwargs)
        except ZNodeError as e:
            self.fail(f"{call} raised ZNodeError({e.code!r}); a write does not raise, it sends "
                      f"Reply(None, {e.code!r}) to its session")
        out = self.sent[start:]
        replies = [(d, m) for d, m in out if isinstance(m, Reply)]
        events = [(d, m) for d, m in out if isinstance(m, WatchedEvent)]
        odd = [m for _, m in out if not isinstance(m, Reply | WatchedEvent)]
        self.check(not odd, f"{call} sent {odd[0]!r}; send only Reply and WatchedEvent" if odd else "")
        self.check(len(replies) == 1,
                   f"{call} sent {len(replies)} replies; a write sends exactly one Reply")
        self.check(replies[0][0] == session,
                   f"{call} sent its reply to {replies[0][0]!r}; it goes to the session, {session}")
        return replies[0][1], events, out

    def ok(self, method: str, session: int, *args: Any, **kwargs: Any) -> Any:
        reply, _, _ = self.write(method, session, *args, **kwargs)
        self.check(not reply.error, f"{self.calls[-1]} failed with {reply.error!r}; it should work")
        return reply.value

    def events_of(self, method: str, session: int, *args: Any, **kwargs: Any
                  ) -> list[tuple[Hashable, WatchedEvent]]:
        reply, events, _ = self.write(method, session, *args, **kwargs)
        self.check(not reply.error, f"{self.calls[-1]} failed with {reply.error!r}; it should work")
        return events

    def fails(self, error: str, method: str, session: int, *args: Any, **kwargs: Any) -> None:
        reply, events, _ = self.write(method, session, *args, **kwargs)
        self.check(reply.error == error,
                   f"{self.calls[-1]} replied {reply!r}; expected the error {error!r}")
        self.check(not events, f"{self.calls[-1]} failed but fired {events!r}; a failed write "
                   "changes nothing and fires no watch")

    # ---- reads -------------------------------------------------------------------------------

    def read(self, method: str, *args: Any, **kwargs: Any) -> Any:
        call = fmt_call(method, args, kwargs)
        self.calls.append(call)
        try:
            return getattr(self.tree, method)(*args, **kwargs)
        except ZNodeError as e:
            self.fail(f"{call} raised ZNodeError({e.code!r}); it should work")

    def read_fails(self, error: str, method: str, *args: Any, **kwargs: Any) -> None:
        call = fmt_call(method, args, kwargs)
        self.calls.append(call)
        try:
            got = getattr(self.tree, method)(*args, **kwargs)
        except ZNodeError as e:
            self.check(e.code == error, f"{call} raised ZNodeError({e.code!r}); expected {error!r}")
            return
        self.fail(f"{call} returned {got!r}; expected ZNodeError({error!r})")

    def stat(self, path: str) -> Any:
        st = self.read("exists", path)
        self.check(st is not None, f"exists({path!r}) returned None; the node should exist")
        return st

    def field(self, path: str, name: str, expected: object, why: str) -> None:
        got = getattr(self.stat(path), name)
        self.check(got == expected, f"the Stat of {path} has {name}={got!r}; expected {expected!r}: {why}")
