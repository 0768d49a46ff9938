"""A Gradescope autograder zip: setup.sh, run_autograder, and a copy of zablab itself.

run_autograder puts the zip's own copy of zablab first on PYTHONPATH, so what grades is what
was zipped; the secret for the hidden seeds travels in the zip (students never see the zip).
"""

from __future__ import annotations

import importlib.metadata
import secrets
import stat
import zipfile
from pathlib import Path

import zablab

from .engine import Lab

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu).
set -eu
apt-get update
apt-get install -y python3.11 python3.11-venv || apt-get install -y python3 python3-venv
PY=$(command -v python3.11 || command -v python3)
"$PY" -m venv /autograder/venv
/autograder/venv/bin/pip install /autograder/source
{apt}"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for each submission. ZABLAB_AUTOGRADER_ROOT and ZABLAB_PYTHON let a test
# run it in a directory laid out like /autograder.
set -u
ROOT="${{ZABLAB_AUTOGRADER_ROOT:-/autograder}}"
PY="${{ZABLAB_PYTHON:-$ROOT/venv/bin/python}}"
export PYTHONPATH="$ROOT/source${{PYTHONPATH:+:$PYTHONPATH}}"
export ZABLAB_LAB_SECRET="$(cat "$ROOT/source/secret")"
mkdir -p "$ROOT/results"
cd "$ROOT"
"$PY" -c 'import zablab; print("grading with zablab from", zablab.__file__)'
"$PY" -m zablab lab grade {lab} --submission "$ROOT/submission" \\
    --results "$ROOT/results/results.json"
rc=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  cat > "$ROOT/results/results.json" <<JSON
{{"score": 0, "execution_time": 0, "output": "The grader itself failed (exit $rc); please tell the course staff.",
 "tests": [{{"name": "grader", "number": "0.1", "score": 0, "max_score": 0, "status": "failed",
  "output": "exit code $rc", "tags": [], "visibility": "visible"}}]}}
JSON
fi
exit 0
"""

PYPROJECT = """[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "zablab"
version = "{version}"
requires-python = ">=3.11"
dependencies = {deps}

[tool.setuptools.packages.find]
include = ["zablab*"]

[tool.setuptools.package-data]
"*" = ["*.json", "*.md", "*.jsonl", "*/handout/*"]
"""


def _dependencies() -> list[str]:
    try:
        reqs = importlib.metadata.requires("zablab") or []
    except importlib.metadata.PackageNotFoundError:
        reqs = []
    return [r for r in reqs if "extra ==" not in r]


def build_autograder(lab: Lab, out: Path, secret: str | None = None) -> str:
    """Write the zip; returns the secret its hidden seeds come from."""
    secret = secret or secrets.token_hex(16)
    pkg = Path(zablab.__file__).resolve().parent
    apt = f"apt-get install -y {' '.join(lab.apt_packages)}\n" if lab.apt_packages else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        _script(z, "setup.sh", SETUP_SH.format(apt=apt))
        _script(z, "run_autograder", RUN_AUTOGRADER.format(lab=lab.name))
        z.writestr("secret", secret + "\n")
        z.writestr("pyproject.toml", PYPROJECT.format(
            version=zablab.__version__, deps=repr(_dependencies()).replace("'", '"')))
        for f in sorted(pkg.rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc":
                z.write(f, "zablab/" + f.relative_to(pkg).as_posix())
    return secret


def _script(z: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    z.writestr(info, text)
