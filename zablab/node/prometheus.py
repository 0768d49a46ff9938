"""/metrics in the Prometheus text format (version 0.0.4), under the names ZooKeeper 3.8's
PrometheusMetricsProvider exports: each mntr value without its zk_ prefix, gauges for the
server's state, counters, and summaries with quantiles 0.5, 0.9 and 0.99 for latencies.
"""

from __future__ import annotations

from . import monitor
from .metrics import Counter, Summary
from .monitor import ServerView

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
QUANTILES = (("0.5", 0.5), ("0.9", 0.9), ("0.99", 0.99))


def render(core: ServerView) -> str:
    out: list[str] = []
    for name, value in monitor.gauges(core).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # version and state are text: not a Prometheus sample
        out += [f"# HELP {name} {name}", f"# TYPE {name} gauge", f"{name} {float(value)}"]
    for m in core.metrics.all():
        if isinstance(m, Counter):
            out += [
                f"# HELP {m.name} {m.help}",
                f"# TYPE {m.name} counter",
                f"{m.name} {float(m.value)}",
            ]
        else:
            out += _summary(m)
    return "\n".join(out) + "\n"


def _summary(m: Summary) -> list[str]:
    lines = [f"# HELP {m.name} {m.help}", f"# TYPE {m.name} summary"]
    for label, _q, v in m.quantiles(QUANTILES):
        lines.append(f'{m.name}{{quantile="{label}"}} {float(v)}')
    lines += [f"{m.name}_count {float(m.count)}", f"{m.name}_sum {float(m.total)}"]
    return lines
