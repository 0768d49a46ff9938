"""Mutant: a failed multi reports the failure but keeps the effects of the ops before it."""

from __future__ import annotations

from zablab.labs.znode.reference.znode_tree import ZNodeTree as Reference

EXPECTED_FAILURE = "multi.rollback"


class ZNodeTree(Reference):
    def _restore(self, saved: object) -> None:
        pass
