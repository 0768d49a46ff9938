"""`zablab check`: check a recorded history and print the verdict.

Checkers come from `zablab.checkers.registry` (name -> function(history, options) -> Result),
so every checker there is offered by `--checker`; `--model`, `--timeout` and `--out` (as
`dir`) are passed as options, and `--option KEY=VALUE` passes any other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from zablab.checkers.result import Result
    from zablab.history.jsonl import Op

MODEL_NAMES = ("register", "cas-register", "kv", "set", "fifo-queue", "unordered-queue", "mutex")


def _linearizable(history: Sequence[Op], o: Mapping[str, Any]) -> Result:
    from zablab.checkers.linearizable import check_linearizable
    from zablab.checkers.models import get_model
    from zablab.errors import UserError

    if not o.get("model"):
        raise UserError(
            f"--model is required for the linearizable checker ({', '.join(MODEL_NAMES)})"
        )
    return check_linearizable(history, get_model(str(o["model"])), timeout=o.get("timeout"))


def _checkers() -> dict[str, Callable[[Sequence[Op], Mapping[str, Any]], Result]]:
    """The shared registry's checkers, with this module's linearizable one as the fallback."""
    found: dict[str, Callable[[Sequence[Op], Mapping[str, Any]], Result]] = {
        "linearizable": _linearizable
    }
    try:
        from zablab.checkers.registry import CHECKERS
    except ImportError:
        return found
    found.update({name: entry.fn for name, entry in CHECKERS.items()})
    found["linearizable"] = _linearizable  # keeps the --model hint for a missing model
    return found


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

  zablab check store/cas/latest/history.jsonl --model cas-register

  zablab check etcd_000.log --format etcd-log --model cas-register

  zablab check c50-ok.txt --format kv-log --model kv --timeout 30 --out /tmp/views

  zablab check history.jsonl --checker zookeeper --option keyed=true

Exit status: 0 valid, 1 invalid (a linearizability failure view is written), 2 unknown
(timeout or state limit), 255 bad input."""


def check(
    file: Annotated[
        Path, typer.Argument(help="History file (jsonl, edn, Jepsen log lines, porcupine kv log).")
    ],
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help=f"Model for the linearizable checker: {', '.join(MODEL_NAMES)}."
        ),
    ] = None,
    checker: Annotated[
        str, typer.Option("--checker", "-c", help="Which checker to run (see the registry).")
    ] = "linearizable",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format", "-f", help="jsonl | edn | etcd-log | kv-log (default: from the file name)."
        ),
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Give up with 'unknown' after S seconds.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Where to write results.json and the failure view (default store/check/<file>).",
        ),
    ] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option", "-o", help="KEY=VALUE passed to the checker (VALUE read as JSON)."
        ),
    ] = None,
) -> None:
    """Check a history; print the verdict and, when invalid, where the failure view is."""
    from zablab.checkers.failure_view import write_failure_view
    from zablab.errors import UserError
    from zablab.history.formats import load_history

    checkers = _checkers()
    run = checkers.get(checker)
    if run is None:
        raise UserError(f"unknown checker {checker!r}; choose one of: {', '.join(checkers)}")
    if timeout is not None and timeout <= 0:
        raise UserError("--timeout must be a positive number of seconds")
    outdir = out or Path("store") / "check" / file.name
    opts = _parse_options(option or [])
    opts.setdefault("dir", str(outdir))
    if model is not None:
        opts["model"] = model
    if timeout is not None:
        opts["timeout"] = timeout
    history = load_history(file, fmt)
    result = run(history, opts)
    d = result.details
    verdict = {True: "valid", False: "INVALID", "unknown": "unknown"}[result.valid]
    facts = [checker]
    if model:
        facts.append(f"model {model}")
    if "ops" in d:
        facts.append(f"{d['ops']} ops")
    if "partitions" in d:
        facts.append(f"{d['partitions']} partition(s)")
    if "seconds" in d:
        facts.append(f"{d['seconds']:.3f} s")
    print(f"{file}: {verdict} ({', '.join(facts)})")
    if result.valid == "unknown" and d.get("reason"):
        print(f"  unknown: {d['reason']}")
    if result.valid is False and "op" in d and "partition_ops" in d:
        op = d["op"]
        where = f" (key {d['key']!r})" if d.get("key") is not None else ""
        print(
            f"  cannot linearize: {op['describe']}, process {op['process']}, "
            f"history index {op['invoke_index']}{where}"
        )
        if d.get("longest"):
            print(
                f"  longest partial linearization: {len(d['longest'][0]['ops'])} of "
                f"{len(d['partition_ops'])} ops"
            )
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / "results.json").write_text(json.dumps(result.to_dict(), default=str, indent=1))
        if result.valid is False and "partition_ops" in d:
            view = write_failure_view(result, outdir / "failure.html", file.name)
            print(f"  failure view: {view}")
    except OSError as exc:
        raise UserError(f"cannot write to {outdir}: {exc.strerror}; choose another --out") from None
    raise typer.Exit(result.exit_code)


def register(app: typer.Typer) -> None:
    app.command("check", epilog=EPILOG)(check)
