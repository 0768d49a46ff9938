"""Client workloads: what the workers do, what the final reads are, and which checker judges them."""

from __future__ import annotations

import random
from typing import Any

from zablab.errors import UserError
from zablab.harness.workloads.base import Workload

_BASE = ("register", "kv", "set", "counter", "queue", "lock", "unique-ids", "session")
WORKLOADS: tuple[str, ...] = (*_BASE, "election")


def get_workload(name: str, rng: random.Random, **opts: Any) -> Workload:
    from zablab.harness.workloads import counter, kv, lock, queue, register, session, sets, unique
    from zablab.harness.workloads.election import ElectionWorkload

    table: dict[str, type[Workload]] = {
        "register": register.RegisterWorkload,
        "kv": kv.KVWorkload,
        "set": sets.SetWorkload,
        "counter": counter.CounterWorkload,
        "queue": queue.QueueWorkload,
        "lock": lock.LockWorkload,
        "unique-ids": unique.UniqueIdsWorkload,
        "session": session.SessionWorkload,
        "election": ElectionWorkload,
    }
    if name not in table:
        raise UserError(f"unknown --workload {name!r}; choose one of: {', '.join(WORKLOADS)}.")
    return table[name](rng, **opts)
