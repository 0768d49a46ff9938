"""Hidden tests of the znode lab: run by `zablab lab grade` only, shown after the due date.

(They ship with zablab, so a determined student can read them; what stays hidden is the seeds,
which come from the course secret.)
"""

from __future__ import annotations

import threading

from zablab.labs.engine import Case

from .api import (
    NODE_CHILDREN_CHANGED,
    NODE_CREATED,
    NODE_DATA_CHANGED,
    Create,
    Delete,
    SetData,
    WatchedEvent,
)
from .differential import check_sequences
from .harness import Harness
from .integration import WAIT, clients


def long_sequences(case: Case) -> None:
    """Longer random sequences on a deeper tree agree with the reference."""
    check_sequences(case, count=4, length=80, depth=3)


def watch_multi(case: Case) -> None:
    """A multi fires the watches of its ops in op order, all before its reply; a failed
    multi fires none and leaves them set."""
    h = Harness.student(case)
    h.ok("create", 1, "/a")
    h.read("get_data", "/a", 2)
    h.read("exists", "/b", 3)
    h.read("get_children", "/", 2)
    _, events, _ = h.write("multi", 1, [Create("/b", b"", False, False), Delete("/nope")])
    h.check(events == [], f"{h.calls[-1]} failed but fired {events!r}")
    events = h.events_of("multi", 1, [SetData("/a", b"1"), Create("/b")])
    want = [(2, WatchedEvent(NODE_DATA_CHANGED, "/a")), (3, WatchedEvent(NODE_CREATED, "/b")),
            (2, WatchedEvent(NODE_CHILDREN_CHANGED, "/"))]
    h.check(events == want, f"{h.calls[-1]} fired {events!r}; expected {want!r}")


def sequential_in_multi(case: Case) -> None:
    """Sequential creates inside a multi see the counter move with each create; a failed
    multi gives its numbers back (nothing happened)."""
    h = Harness.student(case)
    h.ok("create", 1, "/q")
    got = h.ok("multi", 1, [Create("/q/n-", sequential=True), Create("/q/n-", sequential=True)])
    paths = [getattr(r, "path", None) for r in got]
    h.check(paths == ["/q/n-0000000000", "/q/n-0000000001"], f"{h.calls[-1]} created {paths}")
    h.write("multi", 1, [Create("/q/n-", sequential=True), Delete("/nope")])
    got = h.ok("create", 1, "/q/n-", sequential=True)
    h.check(got == "/q/n-0000000002", f"{h.calls[-1]} replied {got!r}; the failed multi created "
            "nothing, so the next number is 2")


def kazoo_watchers(case: Case) -> None:
    """kazoo's DataWatch and ChildrenWatch recipes (which set a watch again each time it
    fires) see every change."""
    with clients(case, 2) as (a, b):
        a.create("/w", b"0")
        seen: list[bytes] = []
        kids: list[list[str]] = []
        changed = threading.Event()

        def on_data(data: bytes | None, stat: object) -> None:
            seen.append(data or b"")
            changed.set()

        def on_children(children: list[str]) -> None:
            kids.append(sorted(children))
            changed.set()

        a.DataWatch("/w", on_data)
        a.ChildrenWatch("/w", on_children)
        for i in range(1, 4):
            changed.clear()
            b.set("/w", str(i).encode())
            assert changed.wait(WAIT) and _until_len(seen, i + 1), \
                f"DataWatch saw {seen}; expected b'0' then each set"
        b.create("/w/c1")
        assert _until_len(kids, 2), f"ChildrenWatch saw {kids}; expected [] then ['c1']"
        assert seen == [b"0", b"1", b"2", b"3"], f"DataWatch saw {seen}"
        assert kids[:2] == [[], ["c1"]], f"ChildrenWatch saw {kids}"


def _until_len(items: list, n: int) -> bool:  # type: ignore[type-arg]
    from .integration import _until

    return _until(lambda: len(items) >= n)
