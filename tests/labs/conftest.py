"""Helpers for the lab tests: run the `zablab` CLI as students and Gradescope do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "zablab" / "labs" / "results.schema.json"


def zablab(*args: str, cwd: Path | None = None, timeout: float = 600,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-m", "zablab", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def validate_results(path: Path) -> dict:
    import jsonschema

    doc = json.loads(path.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    return doc


@pytest.fixture
def run_zablab():
    return zablab
