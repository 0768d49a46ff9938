"""The nightly workflow: valid for GitHub, the right matrix, and its Run step executed for real.

The Run step's shell script is run verbatim with a stub `zablab` that records its arguments and
exits with each of Jepsen's exit codes, so the verdict mapping, the job summary row and the
command line (the same one test_docker_cli.py runs) are checked, not just read.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"
sys.path.insert(0, str(Path(__file__).parent))

from test_docker_cli import command  # noqa: E402


def load() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def step(job: dict, name: str) -> dict:
    return next(s for s in job["steps"] if s.get("name") == name)


CHECKER = shutil.which("check-jsonschema")


@pytest.mark.skipif(CHECKER is None, reason="pip install check-jsonschema")
def test_workflow_matches_githubs_schema(tmp_path):
    ok = subprocess.run(
        [CHECKER, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # the check can fail: a job without runs-on is rejected
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on: ubuntu-latest", "runs_on: x", 1))
    bad = subprocess.run(
        [CHECKER, "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0


def test_nightly_schedule_matrix_and_artifacts():
    wf = load()
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert on["schedule"][0]["cron"]
    chaos = wf["jobs"]["chaos"]
    matrix = chaos["strategy"]["matrix"]
    assert set(matrix["backend"]) == {"netns", "docker"}
    assert set(matrix["db"]) == {"zablab", "zookeeper"}
    nemeses = {n for combo in matrix["nemesis"] for n in combo.split(",")}
    assert {"partition", "kill", "pause", "clock"} <= nemeses
    assert len(matrix["seed"]) >= 2
    assert chaos["strategy"]["fail-fast"] is False
    upload = step(chaos, "Keep the store")
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == chaos["env"]["STORE"] and upload["if"] == "always()"
    assert "GITHUB_STEP_SUMMARY" in step(wf["jobs"]["verdicts"], "Table")["run"]


def run_step(tmp_path: Path, rc: int) -> tuple[subprocess.CompletedProcess[str], Path]:
    chaos = load()["jobs"]["chaos"]
    script = step(chaos, "Run")["run"]
    stub = tmp_path / "zablab"
    stub.write_text(
        "#!/bin/sh\n"
        'printf "%s\\n" "$@" > "$ARGS_FILE"\n'
        'mkdir -p "$STORE" && echo zablab-register/20260101T000000.000 > "$STORE/latest"\n'
        f"exit {rc}\n"
    )
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "BACKEND": "docker",
        "DB": "zookeeper",
        "NEMESIS": "partition,kill,pause",
        "SEED": "7",
        "TIME_LIMIT": "20",
        "STORE": str(tmp_path / "store"),
        "ZABLAB": str(stub),
        "ARGS_FILE": str(tmp_path / "args"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
    }
    # GitHub runs `run:` scripts with bash -e {0}
    res = subprocess.run(["bash", "-e", "-c", script], env=env, capture_output=True, text=True)
    return res, tmp_path


@pytest.mark.parametrize(
    ("rc", "verdict", "annotation"),
    [(0, "valid", None), (1, "invalid", "::error::"), (2, "unknown", "::warning::"),
     (255, "harness error", "::error::")],
)  # fmt: skip
def test_run_step_maps_exit_codes_to_verdicts(tmp_path, rc, verdict, annotation):
    res, d = run_step(tmp_path, rc)
    assert res.returncode == 0, res.stderr  # the step records; a later step fails the job
    out = dict(line.split("=", 1) for line in (d / "output").read_text().splitlines())
    assert out == {"rc": str(rc), "verdict": verdict}
    assert f"| {verdict} ({rc}) |" in (d / "summary").read_text()
    record = json.loads((d / "store" / "verdict.json").read_text())
    assert (record["rc"], record["verdict"], record["seed"]) == (rc, verdict, 7)
    assert record["run"] == "zablab-register/20260101T000000.000"
    if annotation:
        assert annotation in res.stdout
    else:
        assert "::" not in res.stdout
    # the job-failing step's condition, evaluated for this exit code
    cond = step(load()["jobs"]["chaos"], "Fail on invalid or harness error")["if"]
    expr = cond.replace("steps.run.outputs.rc", repr(str(rc))).replace("&&", "and")
    assert eval(expr) == (rc in (1, 255))


def test_run_step_runs_the_same_command_as_the_docker_test(tmp_path):
    run_step(tmp_path, 0)
    args = (tmp_path / "args").read_text().splitlines()
    assert args == command("zookeeper", "partition,kill,pause", 7, 20, str(tmp_path / "store"))
