"""Start-up stays small: `zablab --version` and `zablab check` import no typer, and no plotting
library is imported unless a picture is written. (The time itself is a bench line:
bench/checker_porcupine.py prints it.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("typer", "pydantic", "matplotlib", "rich", "kazoo")

# runs `zablab ARGS` in a fresh interpreter, then checks one history the way a worker does,
# and prints the modules each step had loaded
PROBE = """
import json, sys
from pathlib import Path
from zablab.cli import main
rc = main(sys.argv[2:])
after_main = sorted(sys.modules)
if sys.argv[1] != "-":
    from zablab.checkers import batch
    task = batch.Task(Path(sys.argv[1]), Path(sys.argv[-1]) / "worker")
    batch.check_one(task, batch.Settings("linearizable", None, {"model": "cas-register"}))
print(json.dumps({"rc": rc, "main": after_main, "worker": sorted(sys.modules)}))
"""


def probe(history: str, args: list[str]) -> dict:
    p = subprocess.run(
        [sys.executable, "-c", PROBE, history, *args],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("example", "code"), [("register-valid.jsonl", 0), ("register-invalid.jsonl", 1)]
)
def test_check_imports_neither_typer_nor_plotting(example: str, code: int, tmp_path: Path) -> None:
    path = str(REPO / "examples" / example)
    got = probe(path, ["check", path, "--model", "cas-register", "--out", str(tmp_path)])
    assert got["rc"] == code
    assert "zablab.checkers.linearizable" in got["main"]
    for mods in (got["main"], got["worker"]):
        assert not [m for m in mods if m.split(".")[0] in HEAVY]
    if code:
        assert (tmp_path / "failure.html").is_file() and (
            tmp_path / "worker" / "failure.html"
        ).is_file()


def test_version_imports_no_typer() -> None:
    got = probe("-", ["--version"])
    assert got["rc"] == 0 and not [m for m in got["main"] if m.split(".")[0] in HEAVY]
