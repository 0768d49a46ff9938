"""Mutant: closing a session leaves its ephemeral nodes in place."""

from __future__ import annotations

from zablab.labs.znode.api import Reply
from zablab.labs.znode.reference.znode_tree import ZNodeTree as Reference

EXPECTED_FAILURE = "session.close_removes_ephemerals"


class ZNodeTree(Reference):
    def close_session(self, session: int, zxid: int) -> None:
        self.send(session, Reply(None))
