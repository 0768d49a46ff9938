"""What `zablab test` shows while it runs.

On a terminal: a rich bar with the phase, ops completed, their ok/fail/info counts and the fault
in force. Piped (CI logs): no bar, but a line at each phase change and a status line every
10 s, so a log shows the run is alive and what it is doing without a terminal to redraw.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

STATUS_EVERY = 10.0


def status_text(s: dict[str, Any]) -> str:
    return (
        f"{s['ops']:,} ops (ok {s['ok']:,}, fail {s['fail']:,}, info {s['info']:,}); "
        f"fault: {s['fault']}"
    )


def run_with_progress(runner: Any, quiet: bool, out: IO[str] | None = None) -> Any:
    """runner.run() with the display that fits `out` (stdout by default)."""
    out = out or sys.stdout
    if quiet:
        return runner.run()
    if out.isatty():
        return _with_bar(runner, out)
    return _with_lines(runner, out)


def _with_bar(runner: Any, out: IO[str]) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(bar_width=16),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        console=Console(file=out),
        transient=True,
    ) as progress:
        task = progress.add_task("setup", total=1.0, status="")

        def update(phase: str, frac: float) -> None:
            progress.update(
                task, description=phase, completed=frac, status=status_text(runner.snapshot())
            )

        runner.progress = update
        return runner.run()


def _with_lines(runner: Any, out: IO[str]) -> Any:
    t0 = time.monotonic()
    mu = threading.Lock()
    last = {"phase": ""}
    done = threading.Event()

    def line(text: str) -> None:
        with mu:
            out.write(f"[{time.monotonic() - t0:5.0f} s] {text}\n")
            out.flush()

    def update(phase: str, frac: float) -> None:
        if phase != last["phase"]:
            last["phase"] = phase
            line(phase)

    def ticker() -> None:
        while not done.wait(STATUS_EVERY):
            s = runner.snapshot()
            line(f"{s['phase']}: {status_text(s)}")

    runner.progress = update
    t = threading.Thread(target=ticker, name="progress", daemon=True)
    t.start()
    try:
        return runner.run()
    finally:
        done.set()
