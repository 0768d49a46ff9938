"""A simulated run as a JSON file: its configuration and the explicit steps that replay it.

A step is a dict with the virtual time ``t`` (ms) and ``do``, one of: ``deliver`` (frm, to, ch:
the oldest message on that link), ``tick``/``timer``/``flush``/``propose``/``compact`` (node;
a timer also ``at``), ``disconnect`` (node, peer: the notice of a broken connection), ``write``
(node, payload), ``crash`` (node, keep: the torn-tail draws), ``restart`` (node), ``clock``
(node, ms), ``partition`` (groups, silent) and ``heal``. Nothing in a step names a replica's
internals, so the same file format serves whatever the nodes run.

``checks`` says what the replay verifies: ``all`` for a whole random run (it ends healed, so
convergence is required), ``safety`` for a shrunk or searched schedule, which may stop anywhere.

``servers`` is empty for bare replicas; a schedule of whole ZooKeeper servers (servers.py: a
scripted scenario such as PaxosRun, with client steps) names the Paxos mode they ran in, and
its replay runs on whole servers again.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from zablab.errors import UserError
from zablab.node.replica import PAXOS_MODES

from .cluster import SimConfig

FORMAT = "zablab-sim-trace"
VERSION = 1


@dataclass
class TraceFile:
    config: SimConfig
    steps: list[dict[str, Any]]
    checks: str = "all"  # all | safety
    origin: str = ""  # how the schedule was found: "seed 30", "search dfs", ... "(shrunk)"
    trace_hash: str = ""  # the ZAB trace hash the schedule produced when it was saved
    violations: list[str] | None = None
    servers: str = ""  # "" bare replicas; else whole servers in this Paxos mode (deltas|...)

    def to_json(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg["bugs"] = list(self.config.bugs)
        return {
            "format": FORMAT,
            "version": VERSION,
            "protocol": self.config.protocol,
            "bugs": list(self.config.bugs),
            "config": cfg,
            "origin": self.origin,
            "checks": self.checks,
            "trace_hash": self.trace_hash,
            "violations": self.violations or [],
            **({"servers": self.servers} if self.servers else {}),
            "steps": self.steps,
        }

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh, separators=(",", ":"))
            fh.write("\n")
        return p


def load_trace(path: str | Path) -> TraceFile:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{p}: no such trace file; save one with --save-trace FILE.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(
            f"{p}: not a JSON trace file ({e}); give a file --save-trace wrote."
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise UserError(f'{p}: not a zablab sim trace (no "format": "{FORMAT}").')
    if doc.get("version") != VERSION:
        raise UserError(f"{p}: trace version {doc.get('version')!r}; this zablab reads {VERSION}.")
    raw = doc.get("config")
    steps = doc.get("steps")
    if not isinstance(raw, dict) or not isinstance(steps, list):
        raise UserError(f'{p}: the trace needs a "config" object and a "steps" list.')
    known = {f.name for f in fields(SimConfig)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UserError(f"{p}: unknown config keys {unknown}; known: {sorted(known)}.")
    try:
        cfg = SimConfig(**{**raw, "bugs": tuple(raw.get("bugs", ()))})
    except TypeError as e:
        raise UserError(f"{p}: bad config ({e}).") from None
    for i, s in enumerate(steps):
        if not (isinstance(s, dict) and isinstance(s.get("do"), str)):
            raise UserError(f'{p}: step {i} is not an object with a "do" field.')
    servers = doc.get("servers", "")
    if servers not in ("", *PAXOS_MODES):
        raise UserError(f'{p}: "servers" must be one of {", ".join(PAXOS_MODES)}, not {servers!r}.')
    checks = doc.get("checks", "all")
    if checks not in ("all", "safety"):
        raise UserError(f'{p}: "checks" must be "all" or "safety", not {checks!r}.')
    return TraceFile(
        cfg,
        steps,
        checks,
        str(doc.get("origin", "")),
        str(doc.get("trace_hash", "")),
        list(doc.get("violations", [])),
        servers,
    )
