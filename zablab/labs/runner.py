"""Run one test in a child process, so student code can crash, hang, allocate without bound or
call sys.exit and the grader still writes a result for every test.

The child is forked (the framework is already imported, so a test starts in milliseconds),
gets a memory limit (RLIMIT_DATA: what it writes, not the address space malloc arenas reserve
for threads), has its stdout/stderr captured, runs the test's cases in order and reports one
JSON line through a pipe. The parent waits at most the test's timeout, then kills.
"""

from __future__ import annotations

import faulthandler
import json
import os
import resource
import select
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .engine import Case, Lab, SubmissionError, Test

OUTPUT_LIMIT = 4000  # characters of a test's output kept in results (Gradescope shows it all)


@dataclass
class Outcome:
    test: Test
    passed: bool
    output: str  # the explanation of a failure, or "" when it passed
    seed: int | None  # the seed of the failing case (None: passed, or failed before any case)
    seconds: float
    cases: int  # cases that ran to completion


def run_test(lab: Lab, test: Test, directory: Path, seeds: list[int]) -> Outcome:
    t0 = time.monotonic()
    read_fd, write_fd = os.pipe()
    capture = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    # a child killed at its timeout cannot clean up: what it makes in its own scratch
    # directory goes with the directory, which the parent removes whatever happened
    scratch = tempfile.mkdtemp(prefix="zablab-test-")
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_fd)
        os.environ["TMPDIR"] = tempfile.tempdir = scratch
        _child(lab, test, directory, seeds, write_fd, capture.fileno())
    os.close(write_fd)
    try:
        report, status = _wait(pid, read_fd, test.timeout)
    finally:
        os.close(read_fd)
        shutil.rmtree(scratch, ignore_errors=True)
    capture.seek(0)
    printed = capture.read(OUTPUT_LIMIT + 1).decode("utf-8", "replace")
    capture.close()
    seconds = time.monotonic() - t0
    if report is None:
        reason = status or "the test process ended without a result"
        return Outcome(test, False, _with_prints(reason, printed), None, seconds, 0)
    passed = bool(report.get("passed"))
    output = "" if passed else _with_prints(str(report.get("output", "")), printed)
    seed = report.get("seed")
    cases = report.get("cases", 0)
    return Outcome(test, passed, output, seed if isinstance(seed, int) else None, seconds,
                   cases if isinstance(cases, int) else 0)


def _with_prints(reason: str, printed: str) -> str:
    if not printed.strip():
        return reason
    if len(printed) > OUTPUT_LIMIT:
        printed = printed[:OUTPUT_LIMIT] + "\n[... more output cut]"
    return f"{reason}\n--- your code printed ---\n{printed.rstrip()}"


def _wait(pid: int, fd: int, timeout: float) -> tuple[dict[str, object] | None, str]:
    """The child's report and, if there is none, why."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None, (
                f"timed out after {timeout:g} s (an infinite loop, a deadlock, or a wait for "
                "an event that never comes?)"
            )
        r, _, _ = select.select([fd], [], [], min(left, 0.5))
        if not r:
            continue
        data = os.read(fd, 65536)
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    raw = b"".join(chunks)
    if raw:
        try:
            report = json.loads(raw.decode("utf-8"))
            if isinstance(report, dict):
                return report, ""
        except ValueError:
            pass
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        why = "out of memory?" if sig == signal.SIGKILL else signal.Signals(sig).name
        return None, f"the test process was killed by signal {sig} ({why})"
    return None, f"the test process exited with code {os.WEXITSTATUS(status)} without a result"


def _child(
    lab: Lab, test: Test, directory: Path, seeds: list[int], out_fd: int, capture_fd: int
) -> None:
    code = 0
    try:
        faulthandler.disable()  # a student's segfault is reported as a result, not a dump
        limit = lab.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        os.dup2(capture_fd, 1)
        os.dup2(capture_fd, 2)
        sys.stdout = sys.stderr = open(capture_fd, "w", buffering=1, closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        report = _run_cases(lab, test, directory, seeds)
        sys.stdout.flush()
        data = json.dumps(report).encode("utf-8")
        os.write(out_fd, data)
    except BaseException:  # noqa: BLE001 - the child must always exit through os._exit
        code = 3
    finally:
        os._exit(code)


def _run_cases(lab: Lab, test: Test, directory: Path, seeds: list[int]) -> dict[str, object]:
    done = 0
    for seed in seeds:
        case = Case(lab, test, directory, seed)
        try:
            test.func(case)
        except SubmissionError as exc:
            return {"passed": False, "output": str(exc), "seed": None, "cases": done}
        except AssertionError as exc:
            return {"passed": False, "output": str(exc) or "assertion failed", "seed": seed,
                    "cases": done}
        except NotImplementedError as exc:
            where = _student_frame(exc)
            return {"passed": False, "seed": seed, "cases": done,
                    "output": f"not implemented yet: {where}{': ' + str(exc) if str(exc) else ''}"}
        except MemoryError:
            return {"passed": False, "seed": seed, "cases": done,
                    "output": f"out of memory (limit {lab.memory_mb} MB)"}
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            return {"passed": False, "seed": seed, "cases": done,
                    "output": f"your code raised {type(exc).__name__}: {exc}\n"
                    + _student_traceback(exc)}
        done += 1
    return {"passed": True, "seed": None, "cases": done}


def _student_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    frames = traceback.extract_tb(exc.__traceback__)
    here = str(Path(__file__).resolve().parent)
    return [f for f in frames if not f.filename.startswith(here)] or list(frames)


def _student_frame(exc: BaseException) -> str:
    frames = _student_frames(exc)
    if not frames:
        return "?"
    f = frames[-1]
    return f"{f.name} ({Path(f.filename).name}:{f.lineno})"


def _student_traceback(exc: BaseException) -> str:
    frames = _student_frames(exc)[-6:]
    return "".join(traceback.format_list(frames)).rstrip()
