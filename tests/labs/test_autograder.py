"""`zablab lab autograder` builds a Gradescope zip whose run_autograder, run in a directory laid
out as /autograder (source, submission, results), writes a valid results.json."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.labs.conftest import validate_results, zablab
from zablab.labs.registry import get_lab, lab_names


@pytest.mark.parametrize("name", lab_names())
def test_autograder_zip_grades_in_a_gradescope_layout(
    tmp_path: Path, name: str, reference_submission
) -> None:
    lab = get_lab(name)
    zip_path = tmp_path / f"{name}.zip"
    r = zablab("lab", "autograder", name, "--out", str(zip_path), "--secret", "zip-secret")
    assert r.returncode == 0, r.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
        assert {"setup.sh", "run_autograder", "secret", "pyproject.toml"} <= names
        assert f"zablab/labs/{name}/handout/README.md" in names
        z.extractall(root / "source")
    run = root / "source" / "run_autograder"
    run.chmod(run.stat().st_mode | stat.S_IXUSR)
    shutil.copyfile(run, root / "run_autograder")
    (root / "run_autograder").chmod(0o755)
    (root / "results").mkdir()
    reference_submission(lab, "zip-secret", root / "submission")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZABLAB_LAB_SECRET")}
    env.update(ZABLAB_AUTOGRADER_ROOT=str(root), ZABLAB_PYTHON=sys.executable)
    # from an unrelated directory, so only the zip's copy of zablab can be imported
    p = subprocess.run(
        [str(root / "run_autograder")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stdout + p.stderr
    doc = validate_results(root / "results" / "results.json")
    assert doc["score"] == lab.max_points, doc["output"]
    assert f"grading with zablab from {root / 'source' / 'zablab'}" in p.stdout


def test_a_grader_failure_still_writes_valid_results(tmp_path: Path) -> None:
    zip_path = tmp_path / "z.zip"
    assert zablab("lab", "autograder", "znode", "--out", str(zip_path)).returncode == 0
    root = tmp_path / "autograder"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(root / "source")
    run = root / "source" / "run_autograder"
    run.chmod(0o755)
    (root / "results").mkdir()  # no submission directory at all
    env = dict(os.environ, ZABLAB_AUTOGRADER_ROOT=str(root), ZABLAB_PYTHON=sys.executable)
    env.pop("PYTHONPATH", None)
    p = subprocess.run(
        [str(run)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0
    doc = validate_results(root / "results" / "results.json")
    assert doc["score"] == 0 and "grader itself failed" in doc["output"]
