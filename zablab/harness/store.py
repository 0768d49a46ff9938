"""The run store: store/<test>/<YYYYmmddTHHMMSS.fff>/ and store/latest (a text file, no symlink)."""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from zablab.errors import UserError


def run_stamp(now: _dt.datetime | None = None) -> str:
    now = now or _dt.datetime.now()
    return now.strftime("%Y%m%dT%H%M%S.") + f"{now.microsecond // 1000:03d}"


def new_run_dir(store: str | Path, test_name: str) -> Path:
    base = Path(store) / test_name
    for _ in range(100):
        d = base / run_stamp()
        try:
            d.mkdir(parents=True)
            return d
        except FileExistsError:
            continue
    raise UserError(f"cannot create a run directory under {base}.")


def set_latest(store: str | Path, run_dir: Path) -> None:
    p = Path(store) / "latest"
    tmp = p.with_suffix(".tmp")
    tmp.write_text(os.path.relpath(run_dir, store) + "\n")
    os.replace(tmp, p)


def resolve_run(store: str | Path, spec: str | None) -> Path:
    """A run from a path, `latest`, or a test name (its newest run)."""
    store = Path(store)
    if spec and Path(spec).is_dir() and (Path(spec) / "history.jsonl").exists():
        return Path(spec)
    if not spec or spec == "latest":
        p = store / "latest"
        if not p.exists():
            raise UserError(f"no runs in {store}; run `zablab test` first or name a run directory.")
        return store / p.read_text().strip()
    d = store / spec
    if d.is_dir():
        if (d / "history.jsonl").exists():
            return d
        runs = sorted(x for x in d.iterdir() if (x / "history.jsonl").exists())
        if runs:
            return runs[-1]
    raise UserError(f"no run {spec!r} in {store}; give a run directory, a test name or `latest`.")


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
    os.replace(tmp, path)
