"""One verdict table from many results.json files: the nightly workflow's merge of its shards.

    python -m zablab.verdicts merge DIR...
    python -m zablab.verdicts sim-shard --shard I/K --seeds N --rc RC SIM_OUTPUT > results.json

Every `results.json` under the directories is one row: a `zablab test` run (with its
`test.json` beside it: db, workload, nemesis, backend, seed), a `zablab sim` shard (written by
the workflow: shard, seeds, failing seeds) or any checker's result. A run directory holding a
`test.json` but no `results.json` is a run that never finished (a harness error). The exit
status is the worst row's: 1 invalid, 2 unknown, 255 harness error, 0 when every row is valid.
It needs only the standard library, so the merge job installs nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zablab.checkers.result import EXIT_CODES

RANK = {"valid": 0, "unknown": 1, "invalid": 2, "error": 3}
EXIT = {"valid": EXIT_CODES[True], "unknown": EXIT_CODES["unknown"], "invalid": EXIT_CODES[False]}
EXIT["error"] = 255
COLUMNS = ("run", "kind", "db", "workload", "nemesis", "backend", "seeds", "verdict", "note")


@dataclass
class Row:
    run: str
    kind: str
    verdict: str
    db: str = ""
    workload: str = ""
    nemesis: str = ""
    backend: str = ""
    seeds: str = ""
    note: str = ""

    def cells(self) -> list[str]:
        return [str(getattr(self, c)) for c in COLUMNS]


def _verdict(valid: Any) -> str:
    return {True: "valid", False: "invalid", "unknown": "unknown"}.get(valid, "error")


def _read(path: Path) -> dict[str, Any] | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def _row(results: Path, root: Path) -> Row:
    run = str(results.parent.relative_to(root)) if results.parent != root else root.name
    d = _read(results)
    if d is None:
        return Row(run, "?", "error", note="results.json unreadable")
    verdict = _verdict(d.get("valid"))
    note = str(d.get("reason") or d.get("summary") or "")
    if d.get("checker") == "zablab sim":
        failing = d.get("failing") or []
        if failing:
            note = "failing seeds: " + ", ".join(map(str, failing[:10]))
        return Row(run, f"sim {d.get('shard', '')}".strip(), verdict,
                   seeds=str(d.get("seeds", "")), note=note)  # fmt: skip
    test = _read(results.parent / "test.json") or {}
    o = test.get("options", {})
    if verdict != "valid" and not note:
        bad = [c.get("checker", "?") for c in d.get("children", []) if c.get("valid") is not True]
        note = ", ".join(map(str, bad))
    return Row(
        run,
        "test" if test else str(d.get("checker", "?")),
        verdict,
        db=str(o.get("db", "")),
        workload=str(o.get("workload", "")),
        nemesis=str(o.get("nemesis", "")),
        backend=str(o.get("backend", "")),
        seeds=str(test.get("seed", "")),
        note=note,
    )


def collect(roots: list[Path]) -> list[Row]:
    rows: list[Row] = []
    for root in roots:
        for results in sorted(root.rglob("results.json")):
            rows.append(_row(results, root))
        for test in sorted(root.rglob("test.json")):
            if not (test.parent / "results.json").exists():
                run = str(test.parent.relative_to(root))
                rows.append(
                    Row(run, "test", "error", note="no results.json: the run never finished")
                )
    return rows


def markdown(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r.cells()) + " |" for r in rows]
    counts = {v: sum(r.verdict == v for r in rows) for v in RANK}
    lines.append("")
    lines.append(f"{len(rows)} results: " + ", ".join(f"{n} {v}" for v, n in counts.items() if n))
    return "\n".join(lines)


def worst(rows: list[Row]) -> int:
    if not rows:
        return EXIT["unknown"]  # nothing to merge: no evidence of anything
    return EXIT[max((r.verdict for r in rows), key=RANK.__getitem__)]


def sim_shard_record(shard: str, seeds: int, rc: int, output: str) -> dict[str, Any]:
    """The results.json of one `zablab sim --seeds N --shard I/K` run, from its exit status
    and printed lines (a violating seed prints `seed S: VIOLATION (...)`)."""
    failing = [int(m) for m in re.findall(r"^seed (\d+): VIOLATION", output, re.M)]
    valid: Any = {0: True, 1: False}.get(rc, "unknown")
    record: dict[str, Any] = {"checker": "zablab sim", "valid": valid, "shard": shard}
    record.update(seeds=seeds, failing=failing)
    if valid == "unknown":
        record["reason"] = f"zablab sim exited {rc}"
    return record


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m zablab.verdicts", description=__doc__.split("\n")[0]
    )
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("merge", help="print one table of every results.json under DIR...")
    m.add_argument("dirs", nargs="+", type=Path, help="directories holding results.json files")
    s = sub.add_parser("sim-shard", help="print the results.json of one zablab sim shard")
    s.add_argument("--shard", required=True, metavar="I/K")
    s.add_argument("--seeds", required=True, type=int, help="the --seeds the shards split")
    s.add_argument("--rc", required=True, type=int, help="zablab sim's exit status")
    s.add_argument("output", type=Path, help="what zablab sim printed")
    a = p.parse_args(argv)
    if a.command == "sim-shard":
        text = a.output.read_text(encoding="utf-8", errors="replace")
        print(json.dumps(sim_shard_record(a.shard, a.seeds, a.rc, text)))
        return 0
    missing = [d for d in a.dirs if not d.is_dir()]
    if missing:
        print(f"zablab.verdicts: no such directory: {missing[0]}", file=sys.stderr)
        return 255
    rows = collect(a.dirs)
    print(markdown(rows) if rows else "no results.json found: nothing ran")
    return worst(rows)


if __name__ == "__main__":
    sys.exit(main())
