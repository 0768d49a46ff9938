"""Server metrics under ZooKeeper 3.8's names (its ServerMetrics), for mntr, the AdminServer
and the Prometheus endpoint.

Only what zablab measures is here; every metric has a place in the server that feeds it.
ZooKeeper's metrics of stages zablab does not have (request-processor queues, the JVM, Netty,
TLS, response caches) are left out, and docs/compat.md lists them with the reason.

A summary reports as ZooKeeper's AvgMinMaxCounter (avg_, min_, max_, cnt_, sum_ prefixes in
mntr) and, for latencies, AvgMinMaxPercentileCounter (p50_ .. p999_ over the last 1024
values: a bounded window, where ZooKeeper uses a decaying reservoir of about that size).
"""

from __future__ import annotations

from collections.abc import Iterator

WINDOW = 1024
QUANTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("p999", 0.999))


def java_double(x: float) -> str:
    """An average as ZooKeeper prints it: rounded to 4 places, in Java's Double.toString."""
    return repr(round(x, 4))


class Summary:
    __slots__ = ("name", "count", "total", "min", "max", "window", "pos", "help")

    def __init__(self, name: str, help: str, percentiles: bool = False) -> None:
        self.name = name
        self.help = help
        self.window: list[int] | None = [] if percentiles else None
        self.reset()

    def reset(self) -> None:
        self.count = 0
        self.total = 0
        self.min = 0
        self.max = 0
        self.pos = 0
        if self.window:
            self.window.clear()

    def add(self, value: int) -> None:
        if self.count == 0 or value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        self.count += 1
        self.total += value
        w = self.window
        if w is not None:
            if len(w) < WINDOW:
                w.append(value)
            else:
                w[self.pos] = value
                self.pos = (self.pos + 1) % WINDOW

    @property
    def avg(self) -> float:
        return self.total / self.count if self.count else 0.0

    def quantiles(
        self, wanted: tuple[tuple[str, float], ...] = QUANTILES
    ) -> list[tuple[str, float, int]]:
        """(label, quantile, value) over the window; empty for a plain summary."""
        if self.window is None:
            return []
        ordered = sorted(self.window)
        out = []
        for label, q in wanted:
            v = ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0
            out.append((label, q, v))
        return out

    def rows(self) -> Iterator[tuple[str, object]]:
        n = self.name
        yield f"avg_{n}", java_double(self.avg)
        yield f"min_{n}", self.min
        yield f"max_{n}", self.max
        yield f"cnt_{n}", self.count
        yield f"sum_{n}", self.total
        for prefix, _q, v in self.quantiles():
            yield f"{prefix}_{n}", v


class Counter:
    __slots__ = ("name", "value", "help")

    def __init__(self, name: str, help: str) -> None:
        self.name = name
        self.help = help
        self.value = 0


_WATCH_METRIC = {
    "NodeCreated": "node_created_watch_count",
    "NodeDeleted": "node_deleted_watch_count",
    "NodeDataChanged": "node_changed_watch_count",
    "NodeChildrenChanged": "node_children_watch_count",
}


def _watch_summary(event: str) -> Summary:
    return Summary(_WATCH_METRIC[event], f"Watches fired by a {event} event")


class ServerMetrics:
    """The metrics one server feeds; attribute names are ZooKeeper's metric names."""

    def __init__(self) -> None:
        # request latency from arrival to reply, ms (FinalRequestProcessor.updateStats)
        self.readlatency = Summary("readlatency", "Read request latency in ms", True)
        self.updatelatency = Summary("updatelatency", "Write request latency in ms", True)
        # disk
        self.fsynctime = Summary("fsynctime", "Time to fsync a batch of log records in ms")
        self.snapshottime = Summary("snapshottime", "Time to write a snapshot in ms")
        # watches fired per committed change, by event type (WatchManager.triggerWatch)
        self.node_created_watch_count = _watch_summary("NodeCreated")
        self.node_deleted_watch_count = _watch_summary("NodeDeleted")
        self.node_changed_watch_count = _watch_summary("NodeDataChanged")
        self.node_children_watch_count = _watch_summary("NodeChildrenChanged")
        self.bytes_received_count = Counter("bytes_received_count", "Bytes received from clients")
        self.response_bytes = Counter("response_bytes", "Bytes of replies sent to clients")
        self.outstanding_changes_queued = Counter(
            "outstanding_changes_queued", "Pending-change records made by prep"
        )
        self.outstanding_changes_removed = Counter(
            "outstanding_changes_removed", "Pending-change records retired once applied"
        )

        # fsyncs slower than ZooKeeper's fsync.warningthresholdms (ServerStats, not mntr)
        self.fsync_threshold_ms = 1000
        self.fsync_threshold_exceed_count = 0

    def fsynced(self, ms: int) -> None:
        self.fsynctime.add(ms)
        if ms > self.fsync_threshold_ms:
            self.fsync_threshold_exceed_count += 1

    def all(self) -> Iterator[Summary | Counter]:
        for v in vars(self).values():
            if isinstance(v, Summary | Counter):
                yield v

    def rows(self) -> Iterator[tuple[str, object]]:
        """mntr rows without the zk_ prefix."""
        for m in self.all():
            if isinstance(m, Counter):
                yield m.name, m.value
            else:
                yield from m.rows()
