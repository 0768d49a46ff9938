"""Lab `znode`: the student builds ZooKeeper's data model (znodes, Stat, ephemeral and
sequential nodes, one-shot watches, multi) and it serves a real zablab node."""

from .lab import LAB

__all__ = ["LAB"]
