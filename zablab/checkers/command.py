"""`zablab check`: check recorded histories (one, or a corpus) and print the verdicts.

An argparse command, not a typer one, so that checking a small history starts in a fraction
of typer's import time (`zablab.cli` dispatches here directly).

Checkers come from `zablab.checkers.registry` (name -> function(history, options) -> Result),
so every checker there is offered by `--checker`; `--model`, `--time-limit` and `--out` (as
`dir`) are passed as options, and `--option KEY=VALUE` passes any other. The checks run in
worker processes (`zablab.checkers.batch`), each bounded in memory and time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from zablab.checkers.models import MODELS

MODEL_HELP = ", ".join(MODELS)
DEFAULT_TIME_LIMIT = 300.0


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    from zablab.errors import UserError

    opts: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--option needs KEY=VALUE, got {pair!r}")
        try:
            opts[key] = json.loads(raw)
        except json.JSONDecodeError:
            opts[key] = raw
    return opts


EPILOG = """Examples:

  zablab check examples/register-valid.jsonl --model cas-register

  zablab check corpus/etcd --format etcd-log --model cas-register --jobs 2

  zablab check 'runs/**/history.jsonl' --checker zookeeper --json

  zablab check examples/traces --checker zab

Exit status: the worst verdict: 0 valid, 2 unknown (time or memory limit, nothing to check),
1 invalid (a linearizability failure view is written), 255 bad input."""

_SHOWN = {"valid": "valid", "invalid": "INVALID", "unknown": "unknown", "error": "error"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        from zablab.errors import UserError

        raise UserError(f"{message}; see zablab check --help")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="zablab check",
        description="Check histories; print each verdict and, when invalid, where the failure "
        "view is.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths",
        nargs="+",
        type=Path,
        metavar="PATH",
        help="history files, directories of histories, or glob patterns (jsonl, edn, Jepsen "
        "log lines, porcupine kv logs); for --checker zab, trace files or directories",
    )
    p.add_argument("--model", "-m", help=f"model for the linearizable checker: {MODEL_HELP}")
    p.add_argument(
        "--checker", "-c", default="linearizable", help="which checker to run (see the registry)"
    )
    p.add_argument(
        "--format",
        "-f",
        dest="fmt",
        help="jsonl | edn | etcd-log | kv-log (default: from the name)",
    )
    p.add_argument(
        "--time-limit",
        "--timeout",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        metavar="S",
        help=f"per history: give up with 'unknown' after S seconds (default {DEFAULT_TIME_LIMIT:g})",
    )
    p.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="per history: memory a check may use (e.g. 2G); beyond it the verdict is 'unknown' "
        "(default: half the machine's memory shared by the jobs, at most 4G)",
    )
    p.add_argument(
        "--jobs", "-j", type=int, help="histories checked in parallel (default: the cores)"
    )
    p.add_argument(
        "--json",
        dest="as_json",
        action="store_true",
        help="print the outcomes as one JSON document",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="where results.json and failure views go (default store/check/<file>; for several "
        "histories one directory each inside it)",
    )
    p.add_argument(
        "--option",
        "-o",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the checker (VALUE read as JSON)",
    )
    return p


def main(argv: list[str]) -> int:
    """`zablab check ARGS`: the exit status is the worst verdict (see EPILOG)."""
    a = parser().parse_args(argv)
    return check(
        a.paths,
        a.model,
        a.checker,
        a.fmt,
        a.time_limit,
        a.max_memory,
        a.jobs,
        a.as_json,
        a.out,
        a.option,
    )


def check(
    paths: list[Path],
    model: str | None = None,
    checker: str = "linearizable",
    fmt: str | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    max_memory: str | None = None,
    jobs: int | None = None,
    as_json: bool = False,
    out: Path | None = None,
    option: list[str] | None = None,
) -> int:
    from zablab.checkers import batch
    from zablab.checkers.registry import get_entry
    from zablab.errors import UserError

    entry = get_entry(checker)
    if time_limit <= 0:
        raise UserError("--time-limit must be a positive number of seconds")
    if jobs is not None and jobs < 1:
        raise UserError("--jobs must be at least 1")
    if checker == "linearizable":
        from zablab.checkers.models import get_model

        if model is None:
            raise UserError(f"--model is required for the linearizable checker ({MODEL_HELP})")
        get_model(model)  # an unknown model is a usage error, before any work
    opts = _parse_options(option or [])
    if model is not None:
        opts["model"] = model
    inputs = batch.find_inputs(paths, entry.reads, fmt)
    n_jobs = min(jobs or os.cpu_count() or 1, len(inputs))
    memory = batch.parse_size(max_memory) if max_memory else batch.default_max_memory(n_jobs)
    settings = batch.Settings(checker, fmt, opts, time_limit, memory)
    tasks = [batch.Task(p, d) for p, d in zip(inputs, batch.out_dirs(inputs, out), strict=True)]
    started = time.monotonic()
    if len(tasks) == 1 and not as_json:
        (outcome,) = batch.run_checks(tasks, settings, 1)
        if outcome["verdict"] == "error":
            raise UserError(outcome["reason"])
        _print_one(outcome)
        return batch.EXIT[outcome["verdict"]]
    outcomes = _run_many(tasks, settings, n_jobs, show_progress=not as_json)
    wall = time.monotonic() - started
    counts = {v: sum(o["verdict"] == v for o in outcomes) for v in batch.RANK}
    worst = max((o["verdict"] for o in outcomes), key=batch.RANK.__getitem__)
    if as_json:
        summary = {**counts, "histories": len(outcomes), "seconds": round(wall, 3)}
        summary.update(jobs=n_jobs, verdict=worst)
        print(json.dumps({"histories": outcomes, "summary": summary}, default=str, indent=1))
    else:
        _print_table(outcomes, counts, wall, n_jobs)
    return batch.EXIT[worst]


def _facts(o: dict[str, Any]) -> str:
    facts = [o["checker"]]
    if o.get("model"):
        facts.append(f"model {o['model']}")
    if "ops" in o:
        facts.append(f"{o['ops']} ops")
    if "partitions" in o:
        facts.append(f"{o['partitions']} partition(s)")
    facts.append(f"{o.get('check_seconds', o['seconds']):.3f} s")
    return ", ".join(facts)


def _short_names(files: list[str]) -> list[str]:
    """Paths relative to the inputs' common directory, which the summary line names."""
    try:
        common = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
    except ValueError:
        return files
    return [os.path.relpath(os.path.abspath(f), common) for f in files]


def _print_one(o: dict[str, Any]) -> None:
    print(f"{o['file']}: {_SHOWN[o['verdict']]} ({_facts(o)})")
    if o["verdict"] == "unknown":
        print(f"  unknown: {o.get('reason', '')}")
    for note in o.get("notes", []):
        print(f"  {note}")


def _run_many(
    tasks: list[Any], settings: Any, jobs: int, show_progress: bool
) -> list[dict[str, Any]]:
    from zablab.checkers import batch

    if not (show_progress and sys.stderr.isatty()):
        return batch.run_checks(tasks, settings, jobs)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    bad = {"invalid": 0, "unknown": 0, "error": 0}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tid = bar.add_task("checking", total=len(tasks))

        def done(o: dict[str, Any]) -> None:
            if o["verdict"] in bad:
                bad[o["verdict"]] += 1
            text = ", ".join(f"{n} {v}" for v, n in bad.items() if n)
            bar.update(tid, advance=1, description=f"checking ({text})" if text else "checking")

        return batch.run_checks(tasks, settings, jobs, done)


def _print_table(
    outcomes: list[dict[str, Any]], counts: dict[str, int], wall: float, jobs: int
) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for name, justify in (
        ("file", "left"),
        ("model", "left"),
        ("ops", "right"),
        ("verdict", "left"),
        ("seconds", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    style = {"valid": "green", "invalid": "bold red", "unknown": "yellow", "error": "magenta"}
    names = _short_names([o["file"] for o in outcomes])
    for o, name in zip(outcomes, names, strict=True):
        table.add_row(
            name,
            str(o.get("model") or o["checker"]),
            str(o.get("ops", "")),
            f"[{style[o['verdict']]}]{_SHOWN[o['verdict']]}[/]",
            f"{o['seconds']:.2f}",
        )
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    console.print(table)
    for o, name in zip(outcomes, names, strict=True):
        if o["verdict"] == "valid":
            continue
        why = o.get("reason") or next(iter(o.get("notes", [])), "")
        view = f" (view: {o['failure_view']})" if o.get("failure_view") else ""
        console.print(f"{name}: {_SHOWN[o['verdict']]}: {why}{view}", markup=False, soft_wrap=True)
    parts = [f"{n} {v}" for v, n in counts.items() if n]
    where = os.path.commonpath([os.path.dirname(os.path.abspath(o["file"])) for o in outcomes])
    console.print(
        f"{len(outcomes)} histories in {where}: {', '.join(parts)}; {wall:.2f} s, {jobs} jobs",
        markup=False,
        soft_wrap=True,
    )
