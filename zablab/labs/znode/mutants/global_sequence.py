"""Mutant: the sequence suffix comes from one counter for the whole tree, not the parent's."""

from __future__ import annotations

from zablab.labs.znode.reference.znode_tree import Node
from zablab.labs.znode.reference.znode_tree import ZNodeTree as Reference

EXPECTED_FAILURE = "sequential.per_parent"


class ZNodeTree(Reference):
    counter = 0

    def _sequence_suffix(self, parent: Node) -> int:
        n = self.counter
        self.counter += 1
        return n
