"""Every check is bounded in memory and time; a bound hit is `unknown` with the reason and a hint."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from zablab.checkers import batch, registry
from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import SetModel
from zablab.checkers.result import Result
from zablab.cli import main
from zablab.errors import UserError
from zablab.history.jsonl import Op, write_jsonl


def set_history(
    adds: int, lose: int = 0, processes: int = 20, seed: int = 3, foresee: bool = False
) -> list[Op]:
    """A set run as `zablab test --workload set` records it: concurrent adds (a few crashed),
    then one final read holding the acknowledged elements (minus `lose` of them) and half of
    the crashed ones. `foresee` adds a read half-way that holds what was acknowledged before
    it and also the very last element, added long after it: invalid, but only a search over
    the orders of the ops before it can tell."""
    rng = random.Random(seed)
    events: list[tuple[int, int, Op]] = []
    free = [0] * processes
    acked: list[int] = []
    crashed: list[int] = []
    for v in range(adds):
        p = v % processes
        start = free[p] + rng.randrange(1, 50)
        end = start + rng.randrange(1, 400)
        events.append((start, 0, Op(-1, start, "invoke", p, "add", v)))
        kind = "info" if rng.random() < 0.03 else "ok"
        events.append((end, 1, Op(-1, end, kind, p, "add", v)))
        (crashed if kind == "info" else acked).append(v)
        free[p] = end
    t = max(free) + 10
    if foresee:
        mid = t // 2
        before = [op.value for _, _, op in events if op.type == "ok" and op.time < mid]
        events.append((mid, 0, Op(-1, mid, "invoke", 998, "read", None)))
        events.append((mid + 5, 1, Op(-1, mid + 5, "ok", 998, "read", [*before, adds - 1])))
    seen = sorted(acked[lose:] + crashed[::2])
    events.append((t, 0, Op(-1, t, "invoke", 999, "read", None)))
    events.append((t + 5, 1, Op(-1, t + 5, "ok", 999, "read", seen, {"final": True})))
    ops = [op for _, _, op in sorted(events, key=lambda e: (e[0], e[1]))]
    for i, op in enumerate(ops):
        op.index = i
    return ops


def test_readme_sized_set_history_checks_in_bounded_memory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "set.jsonl"
    write_jsonl(set_history(4000), p)
    args = ["check", str(p), "--model", "set", "--max-memory", "256M", "--out", str(tmp_path)]
    assert main(args) == 0, capsys.readouterr().out
    assert ": valid (linearizable, model set, 4001 ops" in capsys.readouterr().out


def test_set_states_are_bitsets_and_unobserved_crashed_adds_are_dropped() -> None:
    r_ops = set_history(2000)
    r = check_linearizable(r_ops, SetModel())
    assert r.valid is True
    assert r.details["states_visited"] < 3 * 2000  # one path, no blow-up
    assert r.details["checked"] == sum(1 for op in r_ops if op.type == "ok")


def test_a_lost_acknowledged_add_is_refuted_without_a_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "lost.jsonl"
    write_jsonl(set_history(5000, lose=1), p)
    args = ["check", str(p), "--model", "set", "--max-memory", "96M", "--out", str(tmp_path)]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "it misses 0, whose add completed before it began" in out
    assert "read -> [1 2 3 4 5 6 7 8 9 10 11 12 ... (" in out  # a long read, shortened
    assert (tmp_path / "failure.html").is_file()


def test_a_set_search_beyond_its_memory_bound_is_unknown_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = tmp_path / "foresee.jsonl"
    write_jsonl(set_history(3000, foresee=True), p)
    started = time.monotonic()
    args = ["check", str(p), "--model", "set", "--max-memory", "96M", "--out", str(tmp_path)]
    assert main([*args, "--time-limit", "120"]) == 2
    out = capsys.readouterr().out
    assert "memory limit (96 MiB)" in out and "use --checker set" in out, out
    assert time.monotonic() - started < 100


def test_time_limit_is_unknown_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ops = [Op(i, 0, "invoke", i, "append", ["k", f"<{i}>"]) for i in range(14)]
    ops += [Op(14 + i, 100, "ok", i, "append", ["k", f"<{i}>"]) for i in range(14)]
    ops += [Op(28, 200, "invoke", 99, "get", ["k", None]), Op(29, 201, "ok", 99, "get", ["k", "x"])]
    p = tmp_path / "hard.jsonl"
    write_jsonl(ops, p)
    assert main(["check", str(p), "-m", "kv", "--time-limit", "0.05", "--out", str(tmp_path)]) == 2
    assert "unknown: timed out after 0.05 s" in capsys.readouterr().out


def _sleeper(ops: Any, options: Any) -> Result:
    time.sleep(60)  # a checker that never looks at its time limit
    return Result("sleeper", True)


def _suicide(ops: Any, options: Any) -> Result:
    os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
    return Result("suicide", True)


@pytest.mark.parametrize(
    ("fn", "reason"),
    [
        (_sleeper, "timed out after 0.3 s (--time-limit); the worker was stopped"),
        (_suicide, "died by signal 9"),
    ],
)
def test_a_worker_that_does_not_report_is_unknown(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fn: Any,
    reason: str,
) -> None:
    monkeypatch.setitem(registry.CHECKERS, "t", registry.Entry(fn, "a test double"))
    monkeypatch.setattr(batch, "KILL_GRACE", 0.2)
    p = tmp_path / "h.jsonl"
    write_jsonl([Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "ok", 0, "write", 1)], p)
    started = time.monotonic()
    args = ["check", str(p), "--checker", "t", "--time-limit", "0.3", "--out", str(tmp_path)]
    assert main(args) == 2
    assert reason in capsys.readouterr().out
    assert time.monotonic() - started < 10


def test_default_memory_bound_is_a_safe_share_of_the_machine() -> None:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for jobs in (1, 2, 8):
        m = batch.default_max_memory(jobs)
        assert m <= 4 * batch.GiB and m <= max(total // 2 // jobs, 256 << 20)


@pytest.mark.parametrize(
    ("text", "size"),
    [("2G", 2 << 30), ("512M", 512 << 20), ("1.5GiB", 3 << 29), ("100000000", 10**8)],
)
def test_max_memory_sizes(text: str, size: int) -> None:
    assert batch.parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "1K", "-3G"])
def test_bad_max_memory_is_a_usage_error(text: str) -> None:
    with pytest.raises(UserError, match="--max-memory"):
        batch.parse_size(text)


def _crasher(ops: Any, options: Any) -> Result:
    raise TypeError("unhashable type: 'list'")


def test_a_crashing_checker_is_one_line_and_exit_255_never_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(registry.CHECKERS, "crash", registry.Entry(_crasher, "a test double"))
    p = tmp_path / "h.jsonl"
    write_jsonl([Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "ok", 0, "write", 1)], p)
    assert main(["check", str(p), "--checker", "crash", "--out", str(tmp_path / "o")]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the checker crashed: TypeError" in err[0] and str(p) in err[0]
    assert "TypeError" in (tmp_path / "o" / "traceback.txt").read_text()


def test_workers_die_with_the_command(tmp_path: Path) -> None:
    """Even a command killed by SIGKILL leaves no worker behind."""
    import subprocess
    import sys

    p = tmp_path / "lost.jsonl"
    write_jsonl(set_history(3000, foresee=True), p)  # a long search: the worker is busy
    cmd = [
        sys.executable,
        "-m",
        "zablab",
        "check",
        str(p),
        "--model",
        "set",
        "--out",
        str(tmp_path),
    ]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    try:
        deadline = time.monotonic() + 20
        workers: list[int] = []
        while not workers and time.monotonic() < deadline:
            time.sleep(0.1)
            out = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
            workers = [int(x) for x in out.stdout.split()]
        assert workers, "no worker started"
    finally:
        proc.kill()
        proc.wait()

    def running(pid: int) -> bool:  # a zombie waiting for its reaper is not running
        try:
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(map(running, workers)):
        time.sleep(0.1)
    alive = [w for w in workers if running(w)]
    for w in alive:  # clean up before failing
        os.kill(w, signal.SIGKILL)
    assert not alive
