"""One-shot data and child watches, held per connection as ZooKeeper's WatchManager does.

A watcher is an opaque hashable (the server uses connection ids). Triggering removes the
watch and returns who is to be told; each watcher hears about one path change once.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from .datatree import CHILD, DATA, DELETED, Trigger

STANDARD, PERSISTENT, RECURSIVE = 0, 1, 2  # watch modes; ZooKeeper's WatcherMode


class WatchTable:
    """path -> {watcher: mode}, with the reverse index so a closing connection drops its
    watches. One mode per (watcher, path): the latest registration wins, as in ZooKeeper 3.8."""

    __slots__ = ("by_path", "by_watcher", "recursive")

    def __init__(self) -> None:
        self.by_path: dict[str, dict[Hashable, int]] = {}
        self.by_watcher: dict[Hashable, set[str]] = {}
        self.recursive = 0  # how many RECURSIVE entries: parents are walked only if any

    def add(self, path: str, w: Hashable, mode: int = STANDARD) -> None:
        ws = self.by_path.get(path)
        if ws is None:
            ws = self.by_path[path] = {}
        old = ws.get(w)
        if old == RECURSIVE:
            self.recursive -= 1
        if mode == RECURSIVE:
            self.recursive += 1
        ws[w] = mode
        p = self.by_watcher.get(w)
        if p is None:
            p = self.by_watcher[w] = set()
        p.add(path)

    def remove(self, path: str, w: Hashable) -> bool:
        ws = self.by_path.get(path)
        if not ws or w not in ws:
            return False
        if ws.pop(w) == RECURSIVE:
            self.recursive -= 1
        if not ws:
            del self.by_path[path]
        p = self.by_watcher.get(w)
        if p is not None:
            p.discard(path)
            if not p:
                del self.by_watcher[w]
        return True

    def has(self, path: str, w: Hashable) -> bool:
        ws = self.by_path.get(path)
        return ws is not None and w in ws

    def trigger(self, path: str, children_event: bool) -> set[Hashable]:
        """Who hears about a change at `path`; standard watches there are used up."""
        out: set[Hashable] = set()
        ws = self.by_path.get(path)
        if ws:
            spent = []
            for w, mode in ws.items():
                if mode == RECURSIVE:
                    if not children_event:
                        out.add(w)
                else:
                    out.add(w)
                    if mode == STANDARD:
                        spent.append(w)
            for w in spent:
                self.remove(path, w)
        if self.recursive and not children_event and path != "/":
            p = path
            while p != "/":
                i = p.rfind("/")
                p = p[:i] if i > 0 else "/"
                pws = self.by_path.get(p)
                if pws:
                    out.update(w for w, m in pws.items() if m == RECURSIVE)
        return out

    def drop_watcher(self, w: Hashable) -> None:
        for path in list(self.by_watcher.get(w, ())):
            self.remove(path, w)

    def count(self) -> int:
        return sum(len(s) for s in self.by_path.values())


class Watches:
    """The data and child watch tables of ZooKeeper 3.8's DataTree.

    addWatch PERSISTENT registers in both tables, PERSISTENT_RECURSIVE in the data table only;
    a recursive watch hears data events (created, deleted, changed) of its path and every node
    below it, never child events.
    """

    def __init__(self) -> None:
        self.data = WatchTable()
        self.child = WatchTable()

    def trigger(self, triggers: Iterable[Trigger]) -> list[tuple[Hashable, int, str]]:
        """Turn tree triggers into (watcher, event type, path) in firing order."""
        out: list[tuple[Hashable, int, str]] = []
        data, child = self.data, self.child
        for kind, path, ev in triggers:
            if kind == DATA:
                if data.by_path:
                    out.extend((w, ev, path) for w in data.trigger(path, False))
            elif kind == CHILD:
                if child.by_path:
                    out.extend((w, ev, path) for w in child.trigger(path, True))
            elif kind == DELETED:
                done = data.trigger(path, False) if data.by_path else set()
                out.extend((w, ev, path) for w in done)
                if child.by_path:
                    out.extend((w, ev, path) for w in child.trigger(path, False) if w not in done)
        return out

    def drop_watcher(self, w: Hashable) -> None:
        self.data.drop_watcher(w)
        self.child.drop_watcher(w)

    def count(self) -> int:
        return self.data.count() + self.child.count()
