"""The nightly workflow's sim shards and its merge job, run for real on stub output.

The sim job's Run step and the merge job's Table step are run verbatim (as GitHub runs them,
bash -e) with a stub `zablab`; the merge itself is `python -m zablab.verdicts merge`. The
workflow's validity against GitHub's schema is checked by tests/harness/test_workflow.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from zablab.shards import shard
from zablab.verdicts import collect, main, markdown, worst

REPO = Path(__file__).resolve().parents[2]
WORKFLOW = REPO / ".github" / "workflows" / "nightly.yml"


def jobs() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]


def step(job: dict, name: str) -> dict:
    return next(s for s in job["steps"] if s.get("name") == name)


# a stub `zablab sim`: prints what the real one prints for the seeds of its shard, using the
# project's own split, with seed 7 failing
STUB = f"""#!{sys.executable}
import sys
sys.path.insert(0, {str(REPO)!r})
from zablab.shards import shard
args = sys.argv[1:]
n = int(args[args.index("--seeds") + 1])
mine = shard(list(range(n)), args[args.index("--shard") + 1])
for s in mine:
    if s == 7:
        print(f"seed {{s}}: VIOLATION (3 acked writes, trace x)")
print(f"{{len(mine)}} seeds, {{int(7 in mine)}} failing, 100.0 seeds/s", file=sys.stderr)
sys.exit(1 if 7 in mine else 0)
"""


def workspace(tmp_path: Path) -> Path:
    """A directory laid out like the runner's checkout: .venv/bin/{zablab,python}, zablab/."""
    ws = tmp_path / "ws"
    (ws / ".venv" / "bin").mkdir(parents=True)
    stub = ws / ".venv" / "bin" / "zablab"
    stub.write_text(STUB)
    stub.chmod(0o755)
    (ws / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (ws / "zablab").symlink_to(REPO / "zablab")
    return ws


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=full, capture_output=True, text=True
    )


def test_the_sim_matrix_covers_every_shard() -> None:
    sim = jobs()["sim"]
    k = int(sim["env"]["SHARDS"])
    assert sim["strategy"]["matrix"]["shard"] == list(range(1, k + 1))
    assert '--shard "$SHARD/$SHARDS"' in step(sim, "Run")["run"]
    assert set(jobs()["verdicts"]["needs"]) == {"chaos", "sim"}


def run_shards(ws: Path, seeds: int) -> dict[int, subprocess.CompletedProcess[str]]:
    sim = jobs()["sim"]
    script = step(sim, "Run")["run"]
    out = {}
    for i in sim["strategy"]["matrix"]["shard"]:
        env = {"SHARD": str(i), "SHARDS": sim["env"]["SHARDS"], "SEEDS": str(seeds),
               "OUT": str(ws / "stores" / f"sim-shard-{i}"),
               "GITHUB_OUTPUT": str(ws / f"out-{i}")}  # fmt: skip
        out[i] = bash(script, ws, env)
    return out


def fake_chaos_run(stores: Path, name: str, valid: object, finished: bool = True) -> None:
    run = stores / name / "zablab-register" / "20260101T000000.000"
    run.mkdir(parents=True)
    opts = {"db": "zablab", "workload": "register", "nemesis": "partition", "backend": "netns"}
    (run / "test.json").write_text(json.dumps({"seed": 3, "options": opts}))
    if finished:
        (run / "results.json").write_text(json.dumps({"checker": "zablab test", "valid": valid}))


def test_shards_record_their_seeds_and_the_merge_job_tables_them(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    ran = run_shards(ws, seeds=40)
    for r in ran.values():
        assert r.returncode == 0, r.stderr  # the step records; a later step fails the job
    records = {i: json.loads((ws / "stores" / f"sim-shard-{i}" / f"shard-{i}" / "results.json")
                             .read_text()) for i in ran}  # fmt: skip
    assert sum(r["seeds"] == 40 for r in records.values()) == 4
    failing = [i for i, r in records.items() if r["valid"] is False]
    assert failing == [next(i for i in ran if 7 in shard(list(range(40)), f"{i}/4"))]
    assert records[failing[0]]["failing"] == [7]
    fake_chaos_run(ws / "stores", "chaos-netns-zablab-0-seed3", True)
    fake_chaos_run(ws / "stores", "chaos-netns-zablab-1-seed4", "unknown")
    table_step = step(jobs()["verdicts"], "Table")["run"]
    summary = ws / "summary.md"
    r = bash(table_step, ws, {"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.returncode == 1  # one shard found a violation: the merge job fails
    text = summary.read_text()
    assert f"| sim {failing[0]}/4 |" in text and "failing seeds: 7" in text
    assert "| zablab | register | partition | netns | 3 | unknown |" in text
    assert text.strip().endswith("6 results: 4 valid, 1 unknown, 1 invalid")
    rows = collect([ws / "stores"])
    assert sorted(r.verdict for r in rows) == [
        "invalid",
        "unknown",
        "valid",
        "valid",
        "valid",
        "valid",
    ]


def test_an_all_valid_night_passes_and_an_unknown_only_warns(tmp_path: Path) -> None:
    stores = tmp_path / "stores"
    fake_chaos_run(stores, "a", True)
    assert main(["merge", str(stores)]) == 0
    fake_chaos_run(stores, "b", "unknown")
    assert main(["merge", str(stores)]) == 2
    fake_chaos_run(stores, "c", True, finished=False)  # the run never wrote results.json
    rows = collect([stores])
    assert worst(rows) == 255
    assert "no results.json: the run never finished" in markdown(rows)


def test_merging_nothing_is_no_evidence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["merge", str(tmp_path)]) == 2
    assert "nothing ran" in capsys.readouterr().out


def _check_jsonschema() -> str | None:
    import shutil

    return shutil.which("check-jsonschema") or shutil.which(
        "check-jsonschema", path=str(Path(sys.executable).parent)
    )


@pytest.mark.skipif(_check_jsonschema() is None, reason="pip install check-jsonschema")
def test_the_shard_matrix_validates_against_githubs_schema(tmp_path: Path) -> None:
    checker = _check_jsonschema()
    assert checker
    args = [checker, "--builtin-schema", "vendor.github-workflows"]
    ok = subprocess.run([*args, str(WORKFLOW)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "nightly.yml"  # the check can fail: a matrix must be a mapping
    broken.write_text(WORKFLOW.read_text().replace("        shard: [1, 2, 3, 4]", "        - 1"))
    assert subprocess.run([*args, str(broken)], capture_output=True, text=True).returncode != 0
