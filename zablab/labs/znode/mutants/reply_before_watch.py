"""Mutant: the writer's reply is sent first, the watch events after it."""

from __future__ import annotations

from zablab.labs.znode.api import Reply
from zablab.labs.znode.reference.znode_tree import Events
from zablab.labs.znode.reference.znode_tree import ZNodeTree as Reference

EXPECTED_FAILURE = "watch.fired_before_reply"


class ZNodeTree(Reference):
    def _finish(self, session: int, value: object, events: Events) -> None:
        self.send(session, Reply(value))
        for watcher, event in events:
            self.send(watcher, event)
