"""Mutant: deleting a child does not bump the parent's cversion (only creates count)."""

from __future__ import annotations

from zablab.labs.znode.reference.znode_tree import Node
from zablab.labs.znode.reference.znode_tree import ZNodeTree as Reference

EXPECTED_FAILURE = "stat.cversion_counts_deletes"


class ZNodeTree(Reference):
    def _removed_child(self, parent: Node, name: str, zxid: int) -> None:
        parent.children.discard(name)
        parent.pzxid = max(parent.pzxid, zxid)
