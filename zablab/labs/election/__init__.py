"""Lab `election`: leader election in a compute cluster (smallest sequential node; one unique
ephemeral node) and a primary/standby service with fencing, graded on a real zablab ensemble
under kill -9, SIGSTOP, partitions and a dead ZooKeeper leader."""

from .lab import LAB

__all__ = ["LAB"]
