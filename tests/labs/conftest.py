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


def zablab(
    *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ, PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "zablab", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def validate_results(path: Path) -> dict:
    import jsonschema

    doc = json.loads(path.read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    return doc


@pytest.fixture
def run_zablab():
    return zablab


def start_serving(args: list[str], cwd: Path | None = None) -> tuple[subprocess.Popen[str], int]:
    """`zablab lab serve ...` started; returns it and the port from its ready line."""
    import select

    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "zablab", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    r, _, _ = select.select([proc.stdout], [], [], 30)
    line = proc.stdout.readline() if r else ""
    if "zablab node ready port=" not in line:
        stop(proc)
        raise AssertionError(f"{args}: no ready line (got {line!r})")
    return proc, int(line.rsplit("=", 1)[1])


def stop(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a student stops the server; kill if it lingers."""
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def grade(lab: str, sub: Path, out: Path, secret: str = "course-secret") -> dict:
    """`zablab lab grade` on a submission directory, as Gradescope runs it; the validated
    results.json."""
    r = zablab("lab", "grade", lab, "--submission", str(sub), "--results", str(out),
               "--secret", secret)
    assert r.returncode == 0, r.stdout + r.stderr
    return validate_results(out)


@pytest.fixture(scope="session")
def reference_submission(tmp_path_factory: pytest.TempPathFactory):
    """``make(lab, secret, into)``: a lab's full-marks submission copied into ``into``. For a
    lab whose submission the reference makes (bughunt's hunter searches for its traces), the
    making is done once per secret in a session, as it takes seconds."""
    import shutil

    made: dict[tuple[str, str], Path] = {}

    def make(lab, secret: str, into: Path) -> Path:  # type: ignore[no-untyped-def]
        if lab.reference_submission is None:
            into.mkdir(parents=True, exist_ok=True)
            for f in lab.student_files:
                shutil.copyfile(lab.resource("reference", f), into / f)
            return into
        key = (lab.name, secret)
        if key not in made:
            made[key] = tmp_path_factory.mktemp(f"{lab.name}-reference")
            lab.reference_submission(made[key], secret)
        shutil.copytree(made[key], into, dirs_exist_ok=True)
        return into

    return make
