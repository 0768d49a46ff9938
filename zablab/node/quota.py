"""Quotas as ZooKeeper 3.8 keeps them: limits and usage live in the tree itself.

`/zookeeper/quota/<path>/zookeeper_limits` holds the limits zkCli's setquota wrote, and
`/zookeeper/quota/<path>/zookeeper_stats` the subtree's node count and data bytes, which the
data tree keeps current on every create, delete and setData (in place, without a new version,
as ZooKeeper's DataTree.updateQuotaStat does). Both use ZooKeeper's StatsTrack text:
``count=3,bytes=10`` and, once a hard limit is set,
``count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=5``.

Soft limits (count, bytes) only log; hard limits (countHardLimit, byteHardLimit) refuse the
write with QuotaExceeded when enforceQuota is on, as ZooKeeper 3.7+.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger("zablab.node.quota")

QUOTA_ROOT = "/zookeeper/quota"
LIMITS = "zookeeper_limits"
STATS = "zookeeper_stats"
_PAIRS = re.compile(r"[,;]+")


def parse(data: bytes | None) -> dict[str, int]:
    """StatsTrack's parser; ValueError on text it cannot read (ZooKeeper would throw too)."""
    out: dict[str, int] = {}
    text = (data or b"").decode("utf-8", "replace")
    if not text:
        return out
    for pair in _PAIRS.split(text):
        key, _, value = pair.partition("=")
        value = value.split("=", 1)[0]
        out[key] = int(value) if value else -1
    return out


def render(stats: dict[str, int]) -> bytes:
    """StatsTrack.toString: count and bytes first, other keys sorted after a '=' that old
    parsers skip."""
    text = f"count={stats.get('count', -1)},bytes={stats.get('bytes', -1)}"
    rest = sorted(k for k in stats if k not in ("count", "bytes"))
    if rest:
        text += "=" + "".join(f";{k}={stats[k]}" for k in rest)
    return text.encode()


def limits_path(path: str) -> str:
    return f"{QUOTA_ROOT}{path}/{LIMITS}"


def stats_path(path: str) -> str:
    return f"{QUOTA_ROOT}{path}/{STATS}"


def quota_prefix(quotas: set[str], path: str) -> str | None:
    """The deepest ancestor-or-self of `path` with a quota (PathTrie.findMaxPrefix); the root
    never counts, as in ZooKeeper."""
    if not quotas:
        return None
    p = path
    while p and p != "/":
        if p in quotas:
            return p
        p = p[: p.rfind("/")]
    return None


def exceeded(
    limits: dict[str, int], usage: dict[str, int], count_diff: int, bytes_diff: int
) -> list[tuple[str, int, int, bool]]:
    """The limits a write would pass, as (what, new value, limit, hard); ZooKeeper's
    ZooKeeperServer.checkQuota (a hard limit, when set, replaces the soft one)."""
    out = []
    for diff, soft_key, hard_key, what in (
        (count_diff, "count", "countHardLimit", "count"),
        (bytes_diff, "bytes", "byteHardLimit", "bytes"),
    ):
        soft, hard = limits.get(soft_key, -1), limits.get(hard_key, -1)
        if diff == 0 or (soft < 0 and hard < 0):
            continue
        new = usage.get(soft_key, -1) + diff
        limit = hard if hard > -1 else soft
        if new > limit:
            out.append((what, new, limit, hard > -1))
    return out
