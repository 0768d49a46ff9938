"""Timing and the seeded-bug switches of a replica."""

from __future__ import annotations

from dataclasses import dataclass, field

from zablab.errors import UserError

# Seeded bugs for labs and for showing that the checks bite; all off by default.
BUGS = {
    "ack-before-fsync": "followers ACK (and the leader counts itself) before the log is synced",
    "diff-without-trunc": "DIFF a diverged follower without the TRUNC it needs (ZOOKEEPER-1154)",
    "commit-without-quorum": "the leader commits on its own ACK, without waiting for a quorum",
    "election-ignores-zxid": "votes compare (epoch, id) only and the leader skips the "
    "'follower ahead' check in discovery",
}


@dataclass(frozen=True)
class ZabConfig:
    tick_ms: int = 2000
    init_limit: int = 10  # ticks for discovery + sync
    sync_limit: int = 5  # ticks without hearing the leader / a quorum
    finalize_wait_ms: int = 200  # FLE: wait for a better vote once a quorum agrees
    max_notify_interval_ms: int = 60000
    committed_log_size: int = 500  # DIFF window (ZooKeeper's committedLog)
    bugs: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.bugs) - set(BUGS))
        if unknown:
            raise UserError(
                f"unknown bug switch {unknown[0]!r}; choose from: {', '.join(sorted(BUGS))}."
            )

    def bug(self, name: str) -> bool:
        return name in self.bugs
