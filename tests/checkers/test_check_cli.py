"""`zablab check`: verdict, failure view, exit codes 0/1/2/255 and one-line input errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zablab.cli import main
from zablab.history.jsonl import Op, write_jsonl


class _Run:
    def __init__(self, code: int, output: str):
        self.exit_code = code
        self.output = output


@pytest.fixture()
def run(capsys: pytest.CaptureFixture[str]) -> object:
    """`zablab ARGS` in this process: its exit status and what it printed."""

    def invoke(args: list[str]) -> _Run:
        code = main(args)
        captured = capsys.readouterr()
        return _Run(code, captured.out + captured.err)

    return invoke


def history(tmp_path: Path, read_value: int) -> Path:
    ops = [
        Op(0, 0, "invoke", 0, "write", 1),
        Op(1, 10, "ok", 0, "write", 1),
        Op(2, 20, "invoke", 1, "cas", [1, 2]),
        Op(3, 30, "ok", 1, "cas", [1, 2]),
        Op(4, 40, "invoke", 2, "read", None),
        Op(5, 50, "ok", 2, "read", read_value),
    ]
    p = tmp_path / "h.jsonl"
    write_jsonl(ops, p)
    return p


def test_valid_history_exits_0(run: Any, tmp_path: Path) -> None:
    p = history(tmp_path, 2)
    r = run(["check", str(p), "--model", "cas-register", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "valid" in r.output and "INVALID" not in r.output
    saved = json.loads((tmp_path / "o" / "results.json").read_text())
    assert saved["valid"] is True
    assert not (tmp_path / "o" / "failure.html").exists()


def test_invalid_history_exits_1_and_writes_the_view(run: Any, tmp_path: Path) -> None:
    p = history(tmp_path, 1)
    r = run(["check", str(p), "-m", "cas-register", "--out", str(tmp_path / "o")])
    assert r.exit_code == 1, r.output
    assert "INVALID" in r.output
    assert "cannot linearize: read -> 1, process 2, history index 4" in r.output
    view = tmp_path / "o" / "failure.html"
    assert f"failure view: {view}" in r.output
    assert 'id="data"' in view.read_text()


def test_timeout_exits_2(run: Any, tmp_path: Path) -> None:
    ops = []
    for p in range(14):
        ops.append(Op(len(ops), 0, "invoke", p, "append", ["k", f"<{p}>"]))
    for p in range(14):
        ops.append(Op(len(ops), 100, "ok", p, "append", ["k", f"<{p}>"]))
    ops += [
        Op(len(ops), 200, "invoke", 99, "get", ["k", None]),
        Op(len(ops) + 1, 201, "ok", 99, "get", ["k", "x"]),
    ]
    path = tmp_path / "hard.jsonl"
    write_jsonl(ops, path)
    r = run(["check", str(path), "-m", "kv", "--timeout", "0.05", "--out", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert "unknown: timed out" in r.output


def test_bad_line_exits_255_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = history(tmp_path, 2)
    p.write_text(p.read_text() + '{"type": "ok", "process": 1\n')
    assert main(["check", str(p), "--model", "register", "--out", str(tmp_path)]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("zablab: error: ") and f"{p}:7: not valid JSON" in err[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nope"], "unknown model 'nope'"),
        ([], "--model is required"),
        (["--model", "register"], "model register has no operation 'cas'"),
        (["--model", "register", "--format", "xml"], "unknown history format 'xml'"),
        (["--model", "register", "--checker", "nope"], "unknown checker 'nope'"),
    ],
)
def test_user_errors_exit_255(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    p = history(tmp_path, 2)
    assert main(["check", str(p), "--out", str(tmp_path), *args]) == 255
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_wrong_format_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = history(tmp_path, 2)
    assert (
        main(["check", str(p), "-m", "register", "--format", "etcd-log", "--out", str(tmp_path)])
        == 255
    )
    assert "no Jepsen op lines" in capsys.readouterr().err


def test_other_checkers_and_options_reach_the_registry(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zablab.checkers import registry
    from zablab.checkers.result import Result

    def fake(history: list[Op], options: dict[str, object]) -> Result:
        # runs in the worker process: what it saw comes back through results.json
        return Result("fake", False, {"seen": dict(options), "n": len(history)})

    monkeypatch.setitem(registry.CHECKERS, "fake", registry.Entry(fake, "a test double"))
    p = history(tmp_path, 2)
    r = run(
        [
            "check",
            str(p),
            "--checker",
            "fake",
            "-o",
            "keyed=true",
            "-o",
            "name=x",
            "--time-limit",
            "7",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 1, r.output
    saved = json.loads((tmp_path / "o" / "results.json").read_text())
    assert saved["seen"] == {"keyed": True, "name": "x", "dir": str(tmp_path / "o"), "timeout": 7}
    assert saved["n"] == 6
    assert "INVALID (fake" in r.output
    assert not (tmp_path / "o" / "failure.html").exists()


def test_every_registry_checker_is_offered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zablab.checkers.registry import CHECKERS

    assert main(["check", str(history(tmp_path, 2)), "--checker", "nope"]) == 255
    err = capsys.readouterr().err
    assert all(name in err for name in CHECKERS)


def test_console_entry_point_returns_the_verdict_code(tmp_path: Path) -> None:
    assert (
        main(["check", str(history(tmp_path, 2)), "-m", "cas-register", "--out", str(tmp_path)])
        == 0
    )
    assert (
        main(["check", str(history(tmp_path, 1)), "-m", "cas-register", "--out", str(tmp_path)])
        == 1
    )
    assert (tmp_path / "failure.html").is_file()


def corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    for i, read in enumerate([2, 1, 2, 2, 1]):
        history(tmp_path, read).rename(d / f"h{i}.jsonl")
    (d / "notes.txt").write_text("not a history")  # skipped: no history suffix
    return d


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_many_histories_table_summary_and_worst_exit(run: Any, tmp_path: Path, jobs: str) -> None:
    d = corpus(tmp_path)
    r = run(["check", str(d), "-m", "cas-register", "-j", jobs, "--out", str(tmp_path / "o")])
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    assert lines[0].split() == ["file", "model", "ops", "verdict", "seconds"]
    assert [ln.split()[3] for ln in lines[1:6]] == ["valid", "INVALID", "valid", "valid", "INVALID"]
    assert lines[-1].startswith(f"5 histories in {d}: 3 valid, 2 invalid;")
    assert (tmp_path / "o" / "h1.jsonl" / "failure.html").is_file()
    assert not (tmp_path / "o" / "h0.jsonl" / "failure.html").exists()


def test_globs_files_and_json(run: Any, tmp_path: Path) -> None:
    d = corpus(tmp_path)
    args = ["check", str(d / "h[02].jsonl"), str(d / "h3.jsonl"), "-m", "cas-register", "--json"]
    r = run([*args, "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert [Path(o["file"]).name for o in doc["histories"]] == ["h0.jsonl", "h2.jsonl", "h3.jsonl"]
    assert doc["summary"]["valid"] == 3 and doc["summary"]["verdict"] == "valid"


def test_a_pattern_matching_nothing_is_a_usage_error(run: Any, tmp_path: Path) -> None:
    r = run(["check", str(tmp_path / "*.nothing"), "-m", "register"])
    assert r.exit_code == 255 and "no file matches this pattern" in r.output
