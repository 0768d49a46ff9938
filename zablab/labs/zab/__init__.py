"""Lab `zab` ("recovery and broadcast"): the student writes the ZAB replica's sync choice,
the follower's ACK and epoch timing and the leader's commit rule, and they run inside
zablab's replica in the simulator."""

from .lab import LAB

__all__ = ["LAB"]
