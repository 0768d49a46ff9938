"""The engine: a student's crash, hang, exit, import error or memory bomb is a failed test with
its reason; files come only from the submission; CLI usage errors are one line and 255."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.labs.conftest import zablab
from zablab.labs.engine import Case, Lab, Part, hidden_seeds, visible_seeds
from zablab.labs.engine import Test as LabTest
from zablab.labs.runner import run_test

BAD = {
    "crash": ("def run():\n    raise ValueError('boom')\n", "your code raised ValueError: boom"),
    "hang": ("def run():\n    while True:\n        pass\n", "timed out after 2 s"),
    "syntax": ("def run(:\n", "does not import: SyntaxError"),
    "exit": ("import sys\ndef run():\n    sys.exit(3)\n", "your code raised SystemExit: 3"),
    "hard_exit": (
        "import os\ndef run():\n    os._exit(0)\n",
        "exited with code 0 without a result",
    ),
    "segv": (
        "import os, signal\ndef run():\n    os.kill(os.getpid(), signal.SIGSEGV)\n",
        "killed by signal 11",
    ),
    "memory": ("def run():\n    return bytearray(4 * 1024 ** 3)\n", "out of memory (limit 512 MB)"),
    "todo": (
        "def run():\n    raise NotImplementedError\n",
        "not implemented yet: run (student.py:2)",
    ),
    "missing_file": (None, "student.py is not in the submission"),
}


def _call_run(case: Case) -> None:
    """Calls the student's run()."""
    case.student("student.py").run()


def _lab() -> Lab:
    tests = (LabTest("only.case", "p", 1, _call_run, timeout=2),)
    return Lab(
        "fake",
        "Fake",
        "zablab.labs.znode",
        (Part("p", "P"),),
        tests,
        ("student.py",),
        memory_mb=512,
    )


@pytest.mark.parametrize("kind", sorted(BAD))
def test_student_failures_are_failed_tests_with_the_reason(tmp_path: Path, kind: str) -> None:
    source, reason = BAD[kind]
    if source is not None:
        (tmp_path / "student.py").write_text(source)
    lab = _lab()
    outcome = run_test(lab, lab.tests[0], tmp_path, [1])
    assert not outcome.passed
    assert reason in outcome.output


def test_prints_are_captured_and_shown_with_the_failure(tmp_path: Path) -> None:
    (tmp_path / "student.py").write_text(
        "def run():\n    print('debug 42')\n    assert False, 'nope'\n"
    )
    lab = _lab()
    outcome = run_test(lab, lab.tests[0], tmp_path, [1])
    assert not outcome.passed and "nope" in outcome.output and "debug 42" in outcome.output


def test_a_passing_test_passes(tmp_path: Path) -> None:
    (tmp_path / "student.py").write_text("def run():\n    return 1\n")
    lab = _lab()
    outcome = run_test(lab, lab.tests[0], tmp_path, [1, 2, 3])
    assert outcome.passed and outcome.cases == 3


def test_student_file_is_found_in_a_subfolder_once(tmp_path: Path) -> None:
    (tmp_path / "upload").mkdir()
    (tmp_path / "upload" / "student.py").write_text("def run():\n    return 1\n")
    lab = _lab()
    assert run_test(lab, lab.tests[0], tmp_path, [1]).passed
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "student.py").write_text("def run():\n    return 1\n")
    out = run_test(lab, lab.tests[0], tmp_path, [1])
    assert not out.passed and "more than once" in out.output


def test_seeds_visible_fixed_hidden_from_the_secret() -> None:
    t = LabTest("x.y", "p", 1, _call_run, seeds=3)
    assert visible_seeds(t) == visible_seeds(t)
    assert hidden_seeds(t, "s1") == hidden_seeds(t, "s1")
    assert hidden_seeds(t, "s1") != hidden_seeds(t, "s2")
    assert set(hidden_seeds(t, "s1")).isdisjoint(visible_seeds(t))


def test_lab_list_json_names_labs_parts_and_files() -> None:
    r = zablab("lab", "list", "--json")
    assert r.returncode == 0, r.stderr
    labs = {lab["name"]: lab for lab in json.loads(r.stdout)}
    znode = labs["znode"]
    assert znode["student_files"] == ["znode_tree.py"]
    assert znode["given_points"] == 2
    assert {p["name"] for p in znode["parts"]} >= {"basics", "watches", "multi", "kazoo"}
    r = zablab("lab", "list")
    assert r.returncode == 0 and "znode" in r.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("lab", "start", "nolab", "w"), "no lab named 'nolab'"),
        (("lab", "test", "znode", "--dir", "/nonexistent/dir"), "is not a directory"),
        (("lab", "test", "znode", "--dir", ".", "--part", "nopart"), "has no part 'nopart'"),
        (("lab", "test", "znode", "--dir", ".", "--case", "no.case"), "has no test 'no.case'"),
        (("lab", "test", "znode", "--dir", ".", "--seed", "3"), "give --case NAME with it"),
    ],
)
def test_usage_errors_are_one_line_and_255(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    r = zablab(*args, cwd=tmp_path)
    assert r.returncode == 255
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_grade_without_a_secret_is_a_usage_error(tmp_path: Path) -> None:
    r = zablab(
        "lab",
        "grade",
        "znode",
        "--submission",
        str(tmp_path),
        "--results",
        str(tmp_path / "r.json"),
        env={"ZABLAB_LAB_SECRET": ""},
    )
    assert r.returncode == 255 and "no secret" in r.stderr
    assert not (tmp_path / "r.json").exists()


def test_start_writes_the_workspace_and_never_overwrites(tmp_path: Path) -> None:
    w = tmp_path / "w"
    r = zablab("lab", "start", "znode", str(w))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in w.iterdir()) == ["README.md", "visible_tests.py", "znode_tree.py"]
    (w / "znode_tree.py").write_text("# my work\n")
    r = zablab("lab", "start", "znode", str(w))
    assert r.returncode == 255 and "already exists" in r.stderr
    assert (w / "znode_tree.py").read_text() == "# my work\n"


def test_starter_fails_with_not_implemented_and_solution_passes(tmp_path: Path) -> None:
    zablab("lab", "start", "znode", str(tmp_path / "w"))
    r = zablab("lab", "test", "znode", "--dir", str(tmp_path / "w"))
    assert r.returncode == 1
    assert "not implemented yet: create (znode_tree.py:" in r.stdout
    assert "[ 1/" in r.stdout  # progress lines
    zablab("lab", "start", "znode", str(tmp_path / "s"), "--solution")
    r = zablab("lab", "test", "znode", "--dir", str(tmp_path / "s"))
    assert r.returncode == 0, r.stdout
    from zablab.labs.registry import get_lab

    n = len(get_lab("znode").visible())
    assert f"{n} of {n} tests passed" in r.stdout


def test_a_failing_case_replays_with_the_printed_command(tmp_path: Path) -> None:
    """The replay command printed for a failure runs only that case and fails the same way."""
    w = tmp_path / "w"
    w.mkdir()
    mutant = Path(__file__).parents[2] / "zablab/labs/znode/mutants/multi_no_rollback.py"
    (w / "znode_tree.py").write_text(mutant.read_text())
    r = zablab("lab", "test", "znode", "--dir", str(w), "--part", "random")
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    replay = next(line.split("replay: ", 1)[1] for line in lines if "replay: " in line)
    assert "--case random.sequences --seed " in replay
    first = _failure_text(r.stdout)
    args = replay.split()[1:]  # drop "zablab"
    again = zablab(*args)
    assert again.returncode == 1
    assert "1 tests on" in again.stdout
    assert _failure_text(again.stdout) == first


def _failure_text(stdout: str) -> str:
    """The explanation lines of the failed test (up to the replay line)."""
    keep = []
    on = False
    for line in stdout.splitlines():
        if "FAILED" in line:
            on = True
            continue
        if on and "what this test checks" in line:
            break
        if on:
            keep.append(line.strip())
    return textwrap.dedent("\n".join(keep))


def test_the_time_budget_fails_later_tests_as_not_run(tmp_path: Path) -> None:
    from dataclasses import replace

    from zablab.labs.grader import plan_visible, run_plan

    (tmp_path / "student.py").write_text("def run():\n    while True:\n        pass\n")
    tests = tuple(LabTest(f"t.{i}", "p", 1, _call_run, timeout=1) for i in range(3))
    lab = replace(_lab(), tests=tests, time_budget=2.5)
    results = run_plan(lab, tmp_path, plan_visible(lab))
    reasons = [o.output for _, o in results]
    assert "timed out" in reasons[0] and "timed out" in reasons[1]
    assert reasons[2].startswith("not run: the lab's grading time (2.5 s) ran out")


def test_a_test_killed_at_its_timeout_leaves_no_temporary_files(tmp_path: Path) -> None:
    """A hung test is killed before its cleanup runs: what it made under the temporary
    directory must go anyway (a grading cluster's node directories, for one)."""
    marker = tmp_path / "made.txt"
    (tmp_path / "student.py").write_text(
        "import tempfile, pathlib\n"
        "def run():\n"
        "    d = tempfile.mkdtemp()\n"
        f"    pathlib.Path({str(marker)!r}).write_text(d)\n"
        "    while True:\n"
        "        pass\n"
    )
    lab = _lab()
    outcome = run_test(lab, lab.tests[0], tmp_path, [1])
    assert not outcome.passed and "timed out" in outcome.output
    made = Path(marker.read_text())
    assert made.name and not made.exists(), f"{made} was left behind"
