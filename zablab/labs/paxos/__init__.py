"""Lab `paxos`: the student writes Multi-Paxos's acceptor rules and the new leader's phase-1
recovery, and they run inside zablab's Multi-Paxos replica in the simulator."""

from .lab import LAB

__all__ = ["LAB"]
