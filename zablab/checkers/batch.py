"""Checking histories in worker processes, each with its own memory and time bound.

Every history is checked in a forked child: the child limits its address space
(RLIMIT_AS) before it reads anything, so a search that would grow without bound ends in
MemoryError, which becomes `unknown` with the reason, instead of taking the machine down; the
parent stops a child that outlives its time limit. Forking after the checkers are imported
lets children share the parent's modules, so a worker costs a few milliseconds, not a start-up.
The child sends its outcome (a small JSON summary; results.json and the failure view it
writes itself) back through a pipe.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zablab.errors import UserError

GiB = 1 << 30
KILL_GRACE = 5.0  # seconds a child gets beyond its time limit to report before it is stopped
VERDICTS = {True: "valid", False: "invalid", "unknown": "unknown"}
#: exit status of each verdict, and how bad it is (the worst decides the command's status)
EXIT = {"valid": 0, "unknown": 2, "invalid": 1, "error": 255}
RANK = {"valid": 0, "unknown": 1, "invalid": 2, "error": 3}


def default_max_memory(jobs: int) -> int:
    """Bytes one check may allocate: half the machine's memory shared by the jobs, at most 4 GiB."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * GiB
    return max(256 << 20, min(4 * GiB, total // 2 // max(jobs, 1)))


def parse_size(text: str) -> int:
    """'2G', '512M', '1.5GiB', '100000000' -> bytes."""
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": GiB, "T": 1 << 40}.get(t[-1:], 1)
    number = t[:-1] if t[-1:] in "KMGT" and t else t
    try:
        value = float(number) * scale
    except ValueError:
        raise UserError(f"--max-memory: {text!r} is not a size; write e.g. 2G or 512M") from None
    if value < 64 << 20:
        raise UserError(f"--max-memory: {text} is too small for a check; give at least 64M")
    return int(value)


def show_size(n: int) -> str:
    return f"{n / GiB:.1f} GiB" if n >= GiB else f"{n >> 20} MiB"


@dataclass(frozen=True)
class Task:
    """One check: the history (or trace) it reads and where its files go."""

    path: Path
    outdir: Path


@dataclass(frozen=True)
class Settings:
    checker: str
    fmt: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    time_limit: float | None = None
    max_memory: int = 4 * GiB
    title: str = ""


def _vsize() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _limit_memory(budget: int) -> None:
    """Let this process allocate `budget` bytes beyond what it maps now."""
    try:
        import resource
    except ImportError:  # not a Unix: no address-space limit to set
        return
    limit = _vsize() + budget
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # e.g. macOS refuses RLIMIT_AS: the time limit still holds
        pass


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this worker when the command dies (even by SIGKILL), so no worker
    outlives it; elsewhere a worker ends when its orders pipe closes after its current check."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def check_one(task: Task, settings: Settings) -> dict[str, Any]:
    """Read, check and write one history's results; the outcome as a JSON-able dict.

    Bad input comes back as verdict "error" with the one-line message; running out of the
    memory limit as "unknown" with the reason and the hint of the model, when it has one.
    """
    started = time.monotonic()
    out: dict[str, Any] = {"file": str(task.path), "checker": settings.checker}
    if settings.options.get("model"):
        out["model"] = settings.options["model"]
    try:
        out.update(_run(task, settings))
    except UserError as exc:
        reason = str(exc)
        if not reason.startswith(str(task.path)):  # raised by a checker: say which input
            reason = f"{task.path}: {reason}"
        out.update(verdict="error", reason=reason)
    except MemoryError:
        out.update(
            verdict="unknown",
            reason=f"ran out of its memory limit ({show_size(settings.max_memory)}, "
            "--max-memory) while reading the history",
        )
    except RecursionError:
        out.update(verdict="error", reason=f"{task.path}: the history nests too deeply to read")
    except Exception as exc:  # noqa: BLE001 - a bug in a checker: say so, never a verdict
        out.update(verdict="error", reason=_internal_error(task, exc))
    out["seconds"] = round(time.monotonic() - started, 4)
    return out


def _internal_error(task: Task, exc: Exception) -> str:
    """One line for a checker that crashed; the traceback goes to a file beside the results."""
    import traceback

    where = ""
    try:
        task.outdir.mkdir(parents=True, exist_ok=True)
        dump = task.outdir / "traceback.txt"
        dump.write_text("".join(traceback.format_exception(exc)))
        where = f" (traceback in {dump})"
    except OSError:
        pass
    return (
        f"{task.path}: the checker crashed: {type(exc).__name__}: {exc}{where}; this is a bug "
        "in zablab, please report it with the history"
    )


def _run(task: Task, settings: Settings) -> dict[str, Any]:
    from zablab.checkers.registry import get_entry

    entry = get_entry(settings.checker)
    opts = dict(settings.options)
    opts.setdefault("dir", str(task.outdir))
    if settings.time_limit is not None:
        opts.setdefault("timeout", settings.time_limit)
    if entry.reads == "trace":
        opts.setdefault("trace", str(task.path))
        history: list[Any] = []
    else:
        from zablab.history.formats import load_history

        history = load_history(task.path, settings.fmt)
    result = entry.fn(history, opts)
    d = result.details
    verdict = VERDICTS[result.valid]
    out: dict[str, Any] = {"verdict": verdict, "notes": []}
    notes: list[str] = out["notes"]
    if "ops" in d:
        out["ops"] = d["ops"]
    elif entry.reads == "history":
        out["ops"] = sum(1 for op in history if op.is_client and op.type == "invoke")
    for k in ("partitions", "seconds"):
        if k in d:
            out[k if k != "seconds" else "check_seconds"] = d[k]
    if verdict == "unknown":
        reason = str(d.get("reason") or "the checker could not decide")
        if "out of its memory limit" in reason:
            reason = reason.replace(
                "its memory limit", f"its memory limit ({show_size(settings.max_memory)})"
            )
        out["reason"] = reason
    if result.valid is False:
        notes.extend(_why_invalid(result.to_dict()))
    try:
        task.outdir.mkdir(parents=True, exist_ok=True)
        (task.outdir / "results.json").write_text(
            json.dumps(result.to_dict(), default=str)  # no indent: C's encoder, 10x faster
        )
        if result.valid is False and "partition_ops" in d:
            from zablab.checkers.failure_view import write_failure_view

            view = write_failure_view(result, task.outdir / "failure.html", task.path.name)
            out["failure_view"] = str(view)
            notes.append(f"failure view: {view}")
    except OSError as exc:
        raise UserError(
            f"cannot write to {task.outdir}: {exc.strerror}; choose another --out"
        ) from None
    return out


def _why_invalid(d: Mapping[str, Any]) -> list[str]:
    """One or two lines saying what broke."""
    if "op" in d and "partition_ops" in d:
        op = d["op"]
        where = f" (key {d['key']!r})" if d.get("key") is not None else ""
        why = f": {d['why']}" if d.get("why") else ""
        lines = [
            f"cannot linearize: {op['describe']}, process {op['process']}, "
            f"history index {op['invoke_index']}{where}{why}"
        ]
        if d.get("longest"):
            lines.append(
                f"longest partial linearization: {len(d['longest'][0]['ops'])} of "
                f"{len(d['partition_ops'])} ops"
            )
        return lines
    if d.get("summary"):
        return [str(d["summary"])]
    if d.get("anomaly-counts"):
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(d["anomaly-counts"].items()))
        return [f"anomalies: {counts}"]
    failed = [c["checker"] for c in d.get("children", []) if c.get("valid") is False]
    return [f"violated: {', '.join(failed)}"] if failed else []


@dataclass
class _Worker:
    """A forked worker: it is sent task numbers, one a line, and answers one JSON line each."""

    pid: int
    send: int  # the parent writes task numbers here
    recv: int  # and reads outcomes here
    task: int | None = None
    started: float = 0.0
    buf: bytes = b""


def _fork_worker(tasks: list[Task], settings: Settings, siblings: list[_Worker]) -> _Worker:
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the worker: never returns into the caller's code
        code = 0
        try:
            os.close(down_w)
            os.close(up_r)
            for other in siblings:  # else a sibling would never see the end of its orders
                os.close(other.send)
                os.close(other.recv)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
            _die_with_parent(parent)
            _limit_memory(settings.max_memory)
            with os.fdopen(down_r, "rb") as orders, os.fdopen(up_w, "wb") as answers:
                for line in orders:
                    outcome = check_one(tasks[int(line)], settings)
                    answers.write(json.dumps(outcome, default=str).encode() + b"\n")
                    answers.flush()
        except BaseException:  # noqa: BLE001 - a worker must always reach os._exit
            code = 70
        finally:
            os._exit(code)
    os.close(down_r)
    os.close(up_w)
    return _Worker(pid, down_w, up_r)


def _died(task: Task, settings: Settings, status: int, elapsed: float) -> dict[str, Any]:
    out: dict[str, Any] = {
        "file": str(task.path),
        "checker": settings.checker,
        "verdict": "unknown",
        "seconds": round(elapsed, 4),
    }
    if settings.options.get("model"):
        out["model"] = settings.options["model"]
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        hint = " (killed: most likely the machine ran out of memory)" if sig == 9 else ""
        out["reason"] = (
            f"the check's worker died by signal {sig}{hint}; lower --jobs or --max-memory"
        )
    else:
        out["reason"] = f"the check's worker failed (exit {os.WEXITSTATUS(status)})"
    return out


def run_checks(
    tasks: list[Task],
    settings: Settings,
    jobs: int,
    on_done: Callable[[dict[str, Any]], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Check every task on `jobs` workers; outcomes in task order. Ctrl-C stops every worker.

    A worker that overruns the time limit is killed and replaced; one whose check ran out of
    memory is replaced too, since its heap may stay fragmented.
    """
    _preload(settings.checker)
    results: dict[int, dict[str, Any]] = {}
    queue = list(range(len(tasks)))[::-1]  # popped from the end: task order
    workers: dict[int, _Worker] = {}
    kill_after = None if settings.time_limit is None else settings.time_limit + KILL_GRACE

    def finish(i: int, outcome: dict[str, Any]) -> None:
        results[i] = outcome
        on_done(outcome)

    def feed(w: _Worker) -> None:
        """Give `w` the next task, or let it exit when none is left."""
        if not queue:
            _retire(w)
            del workers[w.recv]
            return
        w.task = queue.pop()
        w.started = time.monotonic()
        os.write(w.send, b"%d\n" % w.task)

    def replace(w: _Worker) -> None:
        del workers[w.recv]
        if queue:
            fresh = _fork_worker(tasks, settings, list(workers.values()))
            workers[fresh.recv] = fresh
            feed(fresh)

    try:
        for _ in range(min(max(jobs, 1), len(tasks))):
            w = _fork_worker(tasks, settings, list(workers.values()))
            workers[w.recv] = w
            feed(w)
        while len(results) < len(tasks):
            ready, _, _ = select.select(list(workers), [], [], 0.2)
            for fd in ready:
                w = workers[fd]
                chunk = os.read(fd, 1 << 16)
                if not chunk:  # the worker died in the middle of a check
                    status = _reap(w)
                    if w.task is not None:
                        elapsed = time.monotonic() - w.started
                        finish(w.task, _died(tasks[w.task], settings, status, elapsed))
                    replace(w)
                    continue
                w.buf += chunk
                while b"\n" in w.buf and w.task is not None:
                    line, w.buf = w.buf.split(b"\n", 1)
                    outcome = json.loads(line)
                    finish(w.task, outcome)
                    w.task = None
                    if "memory limit" in str(outcome.get("reason", "")):
                        _retire(w)
                        replace(w)
                    else:
                        feed(w)
            if kill_after is None:
                continue
            now = time.monotonic()
            for w in list(workers.values()):
                if w.task is None or now - w.started <= kill_after:
                    continue
                _stop(w)
                outcome = _died(tasks[w.task], settings, 0, now - w.started)
                outcome["reason"] = (
                    f"timed out after {settings.time_limit:g} s (--time-limit); the worker "
                    "was stopped"
                )
                finish(w.task, outcome)
                replace(w)
    finally:
        for w in workers.values():
            _stop(w)
        gc.unfreeze()  # the callers' own garbage is collectable again
    return [results[i] for i in range(len(tasks))]


def _preload(checker: str) -> None:
    """Import what every worker needs once, here, and freeze the heap: forked workers then
    share these pages instead of importing each on its own, and their garbage collector does
    not walk (and so copy) the parent's objects."""
    import importlib

    from zablab.checkers.registry import get_entry

    for module in ("zablab.history.formats", *get_entry(checker).modules):
        importlib.import_module(module)
    gc.collect()
    gc.freeze()


def _reap(w: _Worker) -> int:
    for fd in (w.send, w.recv):
        try:
            os.close(fd)
        except OSError:
            pass
    return os.waitpid(w.pid, 0)[1]


def _retire(w: _Worker) -> None:
    """Close the worker's orders: it finishes and exits."""
    try:
        os.close(w.send)
    except OSError:
        pass
    os.waitpid(w.pid, 0)
    os.close(w.recv)


def _stop(w: _Worker) -> None:
    try:
        os.kill(w.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(w)


_GLOB = set("*?[")
_HISTORY_SUFFIXES = (".jsonl", ".edn", ".log")


def find_inputs(paths: list[Path], reads: str, fmt: str | None) -> list[Path]:
    """The histories (or traces) that `zablab check PATH...` names, in a stable order.

    A directory stands for the histories in it (with --format: every file; else the files
    whose suffix names a format), or, for a trace checker, for one trace; a pattern with
    * ? [ that names no file is a glob. A path that does not exist is kept, so that its
    check reports it.
    """
    import glob

    found: list[Path] = []
    for p in paths:
        if not p.exists() and _GLOB & set(str(p)):
            matches = sorted(glob.glob(str(p), recursive=True))
            if not matches:
                raise UserError(f"{p}: no file matches this pattern")
            found.extend(Path(m) for m in matches)
        elif p.is_dir() and reads == "history":
            inside = sorted(
                f
                for f in p.iterdir()
                if f.is_file()
                and not f.name.startswith(".")
                and (fmt is not None or f.name.lower().endswith(_HISTORY_SUFFIXES))
            )
            if not inside:
                raise UserError(
                    f"{p}: a directory with no history files (*.jsonl, *.edn, *.log); "
                    "give --format to check every file in it"
                )
            found.extend(inside)
        else:
            found.append(p)
    return found


def out_dirs(inputs: list[Path], out: Path | None) -> list[Path]:
    """Where each check writes: `out` itself for one input, `out/<name>` for several."""
    if len(inputs) == 1:
        return [out or Path("store") / "check" / (inputs[0].name or "input")]
    base = out or Path("store") / "check"
    names: dict[str, int] = {}
    dirs = []
    for p in inputs:
        name = p.name or "input"
        n = names[name] = names.get(name, 0) + 1
        dirs.append(base / (name if n == 1 else f"{name}.{n}"))
    return dirs
