"""One test run, start to end: set up → start DB → workers + nemesis → heal → final reads →
tear down → fetch logs → check → report.

Teardown lives in `finally` and SIGTERM is turned into KeyboardInterrupt, so partitions, pauses,
skews and processes are undone however the run ends; a state file covers the cases where even
that cannot run (kill -9 of the harness): the next run cleans it up first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zablab.bugs import ClientBugs, bugs_in_args
from zablab.checkers.availability import check_availability
from zablab.checkers.result import Result, compose
from zablab.checkers.summary import annotate
from zablab.checkers.zab import check_zab_trace, load_zab_trace
from zablab.errors import UserError
from zablab.harness import capacity, leftovers, server_metrics, store
from zablab.harness.backends import cleanup_runs, get_backend
from zablab.harness.backends.base import Node
from zablab.harness.clients.procs import WorkerProcesses, auto_procs
from zablab.harness.clients.workers import WorkerConfig, open_client, run_op, run_worker
from zablab.harness.db import get_db
from zablab.harness.db.base import DB
from zablab.harness.faults.lazyfs import control as lazyfs
from zablab.harness.faults.nemesis import Nemesis, parse_nemesis
from zablab.harness.generator import Schedule, parse_concurrency
from zablab.harness.recorder import Recorder
from zablab.harness.tally import ErrorTally
from zablab.harness.workloads import get_workload
from zablab.harness.workloads.base import Workload
from zablab.history.jsonl import HistoryWriter
from zablab.node.replica.config import parse_protocol

#: where the lose-unfsynced nemesis can mount its filesystem (the node runs our daemon)
LAZYFS_BACKENDS = ("local", "netns")

log = logging.getLogger("zablab.runner")


@dataclass
class TestOptions:
    """Every option of a run; saved in test.json so a run can be understood and repeated."""

    __test__ = False  # not a pytest class, despite the name

    backend: str = "local"
    db: str = "zablab"
    nodes: int = 5
    nodes_file: str | None = None
    workload: str = "register"
    nemesis: str = "partition,kill"
    nemesis_interval: float = 5.0
    time_limit: float = 60.0
    concurrency: str = "2n"
    rate: float = 0.0
    seed: int | None = None
    store: str = "store"
    name: str | None = None
    op_timeout: float = 3.0
    session_timeout: float = 10.0
    ready_timeout: float = 90.0
    check_timeout: float = 60.0
    fsync: bool = True  # False only for benchmarks of the harness itself
    client_bug: str = "none"  # a deliberately broken client, to show the checkers catch it
    client_procs: int = 0  # processes the workers are spread over; 0: two per core
    db_args: str = ""  # extra flags for each zablab node, e.g. a seeded server bug
    protocol: str = ""  # zablab's replication protocol (zoo.cfg zablab.protocol); "": zab
    max_unavailable: float | None = None  # seconds; None: two session timeouts
    report: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def test_name(self) -> str:
        return self.name or f"{self.db}-{self.workload}"


INTERRUPTED_EXIT = 130  # Ctrl-C or SIGTERM: the partial run is kept, marked interrupted


@dataclass
class RunOutcome:
    run_dir: Path
    result: Result
    ops: int  # client operations completed (ok, fail or info)
    seconds: float
    status: str = "complete"  # or interrupted
    cleaned: list[str] = field(default_factory=list)  # what teardown undid
    errors: list[str] = field(default_factory=list)  # warnings and errors, one line per kind

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"

    @property
    def exit_code(self) -> int:
        return INTERRUPTED_EXIT if self.interrupted else self.result.exit_code


Progress = Callable[[str, float], None]


def _versions(db: str) -> dict[str, str]:
    import kazoo

    from zablab import __version__

    v = {"zablab": __version__, "python": platform.python_version(), "kazoo": kazoo.__version__}
    if db == "zookeeper":
        jar = Path("/usr/share/java/zookeeper.jar")
        if jar.exists():
            v["zookeeper"] = (
                os.path.basename(os.path.realpath(jar))
                .removeprefix("zookeeper-")
                .removesuffix(".jar")
            )
    return v


class Runner:
    def __init__(self, opts: TestOptions, progress: Progress | None = None):
        # seeded bugs are checked before anything starts (one message, zablab/bugs.py)
        if opts.client_bug != "none":
            ClientBugs.of([opts.client_bug])
        if opts.db == "zablab":
            bugs_in_args(opts.db_args)
            if opts.protocol:
                parse_protocol(opts.protocol)
        elif opts.protocol:
            raise UserError(
                f"--protocol {opts.protocol} chooses zablab's replication protocol; "
                f"--db {opts.db} has its own: drop --protocol, or use --db zablab."
            )
        self.opts = opts
        self.progress = progress or (lambda phase, frac: None)
        self.seed = opts.seed if opts.seed is not None else random.SystemRandom().randrange(2**31)
        self.rng = random.Random(self.seed)
        from zablab.harness.backends import BACKENDS
        from zablab.harness.db import DBS

        if opts.backend not in BACKENDS:
            raise UserError(
                f"unknown --backend {opts.backend!r}; choose one of: {', '.join(BACKENDS)}."
            )
        if opts.db not in DBS:
            raise UserError(f"unknown --db {opts.db!r}; choose one of: {', '.join(DBS)}.")
        self.kinds = parse_nemesis(opts.nemesis)
        if "crash-point" in self.kinds and opts.db != "zablab":
            raise UserError(
                f"the crash-point nemesis needs zablab's nodes (--db zablab), not {opts.db}: "
                "they stop themselves at the protocol moment."
            )
        if "lose-unfsynced" in self.kinds or "crash-point" in self.kinds:
            if opts.backend not in LAZYFS_BACKENDS:
                raise UserError(
                    "the lose-unfsynced nemesis runs on the "
                    + " and ".join(LAZYFS_BACKENDS)
                    + f" backends, not {opts.backend}; use --backend local or --backend netns."
                )
            lazyfs.check_host()
        if opts.nodes < 1:
            raise UserError("--nodes must be at least 1.")
        self.concurrency = parse_concurrency(opts.concurrency, opts.nodes)
        self.worker_cfg = WorkerConfig(
            nodes=[],  # known once the backend has set the nodes up
            workload=opts.workload,
            seed=self.seed,
            concurrency=self.concurrency,
            op_timeout=opts.op_timeout,
            session_timeout=opts.session_timeout,
            client_bug=opts.client_bug,
            workload_opts={
                "check_timeout": opts.check_timeout,
                "session_timeout": opts.session_timeout,
            },
        )
        self.workload = self.worker_cfg.make_workload()
        self.run_dir: Path | None = None
        self.backend: Any = None
        self.db: DB | None = None
        self.nodes: list[Node] = []
        self.nemesis: Nemesis | None = None
        self.rec: Recorder | None = None
        self.state: leftovers.RunState | None = None
        if opts.client_procs < 0:
            raise UserError("--client-procs must be 0 (two per core) or more.")
        self.client_procs = min(opts.client_procs or auto_procs(self.concurrency), self.concurrency)
        capacity.check(opts.backend, opts.nodes, self.concurrency, self.client_procs)
        self.phase = "setup"
        self.status = "running"
        self.cleaned: list[str] = []
        self.errors: list[str] = []

    # -- public -----------------------------------------------------------------------------

    def run(self) -> RunOutcome:
        started = time.monotonic()
        for note in cleanup_runs(("test",)):
            log.warning("%s", note)
        self.run_dir = store.new_run_dir(self.opts.store, self.opts.test_name)
        handler = logging.FileHandler(self.run_dir / "zablab.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("zablab")
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        old_term = None
        if threading.current_thread() is threading.main_thread():
            old_term = signal.signal(signal.SIGTERM, _raise_interrupt)
        tally = ErrorTally(handler)
        try:
            with tally:
                out = self._run(started)
            out.errors = tally.summary()
            return out
        finally:
            self.errors = tally.summary()
            if old_term is not None:
                signal.signal(signal.SIGTERM, old_term)
            root.removeHandler(handler)
            handler.close()

    def _run(self, started: float) -> RunOutcome:
        assert self.run_dir is not None
        run_dir = self.run_dir

        def outcome(result: Result) -> RunOutcome:
            return RunOutcome(
                run_dir,
                result,
                self.completed_ops(),
                time.monotonic() - started,
                self.status,
                self.cleaned,
            )

        try:
            self._write_test_json()
            store.set_latest(self.opts.store, run_dir)
            self._run_cluster()
            self._set_phase("checking")
            result = self.check()
            self._set_phase("report")
            if self.opts.report:
                self.write_report()
            self.status = "complete"
            self._write_test_json()
            return outcome(result)
        except KeyboardInterrupt:
            log.warning("interrupted during %s; torn down", self.phase)
            return outcome(self._unfinished("interrupted", f"during {self.phase}"))
        except UserError as exc:
            self._unfinished("failed", str(exc))
            raise UserError(f"{exc} Logs: {run_dir / 'nodes'}") from None
        except Exception as exc:
            log.exception("harness error")
            self._unfinished("crashed", f"harness error: {type(exc).__name__}: {exc}")
            raise

    def _unfinished(self, status: str, why: str) -> Result:
        """Mark the run as not finished in test.json and results.json: whatever its partial
        history shows, its verdict is unknown."""
        assert self.run_dir is not None
        self.status = status
        with contextlib.suppress(Exception):
            self._write_test_json(reason=why)
        result = Result("zablab test", "unknown", {"reason": _unfinished_reason(status, why)})
        data = {**result.to_dict(), "status": status}
        with contextlib.suppress(Exception):
            store.write_json(self.run_dir / "results.json", data)
        return result

    def _set_phase(self, phase: str, frac: float = 0.0) -> None:
        self.phase = phase
        self.progress(phase, frac)

    def completed_ops(self) -> int:
        return sum(self.rec.outcomes().values()) if self.rec else 0

    def snapshot(self) -> dict[str, Any]:
        """What the progress display shows: ops completed by outcome, and the fault in force."""
        counts = self.rec.outcomes() if self.rec else {}
        return {
            "phase": self.phase,
            "ops": sum(counts.values()),
            "ok": counts.get("ok", 0),
            "fail": counts.get("fail", 0),
            "info": counts.get("info", 0),
            "fault": (self.nemesis.current if self.nemesis else None) or "none",
        }

    # -- phases -----------------------------------------------------------------------------

    def _run_cluster(self) -> None:
        assert self.run_dir is not None
        o = self.opts
        self.state = leftovers.RunState.create("test", o.backend)
        self.rec = Recorder(HistoryWriter.open(self.run_dir / "history.jsonl"))
        try:
            self._set_phase("setup")
            self.backend = get_backend(
                o.backend,
                {
                    "seed": self.seed,
                    "db": o.db,
                    "nodes_file": o.nodes_file,
                    "ssh": o.extra.get("ssh"),
                },
            )
            self.nodes = self.backend.setup(o.nodes)
            if getattr(self.backend, "base_dir", None):
                self.state.add_dir(self.backend.base_dir)
            clock_env = None
            if "clock" in self.kinds:
                clock = self.backend.clock()
                for n in self.nodes:
                    if hasattr(clock, "prepare"):
                        clock.prepare(n.name)

                def clock_env(n: Node) -> dict[str, str]:
                    return clock.env(n.name)

            self.db = get_db(
                o.db,
                on_spawn=lambda n, pid: self.state.add_proc(n.name, pid),
                env=clock_env,
                fsync=o.fsync,
                # the crash-point nemesis crashes nodes that stop themselves at NEWLEADER
                args=(o.db_args + " --crash-point newleader").strip()
                if "crash-point" in self.kinds
                else o.db_args,
                **({"protocol": o.protocol} if o.protocol else {}),
                lazyfs="lose-unfsynced" in self.kinds or "crash-point" in self.kinds,
                on_mount=lambda n, path: self.state.add_mount(path) if self.state else None,
            )
            self._write_test_json()
            self.db.setup(self.nodes)
            self._set_phase("starting")
            t = time.monotonic()
            for n in self.nodes:
                self.db.start(n)
            self.db.await_ready(self.nodes, o.ready_timeout)
            log.info("cluster up in %.1f s, leader %s", time.monotonic() - t, self.db.primaries())
            self._setup_workload()
            self._main_phase()
            self._final_phase()
        finally:
            self._teardown()

    def _open_client(self, node: Node, deadline: float) -> Any:
        o = self.opts
        return open_client(
            node.name, node.client_address, o.op_timeout, o.session_timeout, deadline
        )

    def _setup_workload(self) -> None:
        assert self.db is not None
        deadline = time.monotonic() + 30
        while True:
            for node in self.nodes:
                c = self._open_client(node, min(deadline, time.monotonic() + 5))
                if c is None:
                    continue
                try:
                    self.workload.setup(c)
                    return
                except Exception as exc:
                    log.warning("workload setup on %s: %s", node.name, exc)
                finally:
                    c.close()
            if time.monotonic() > deadline:
                raise UserError(
                    "could not create the workload's znodes within 30 s; see the node logs."
                )

    def _main_phase(self) -> None:
        o = self.opts
        assert self.db is not None and self.rec is not None and self.run_dir is not None
        self.worker_cfg.nodes = [(n.name, n.client_address) for n in self.nodes]
        self._set_phase("running")
        procs: WorkerProcesses | None = None
        threads: list[threading.Thread] = []
        if self.client_procs > 1:
            state = self.state
            procs = WorkerProcesses(
                self.worker_cfg,
                self.client_procs,
                self.rec,
                self.run_dir,
                o.rate,
                on_spawn=lambda name, pid: state.add_proc(name, pid) if state else None,
            )
        schedule = Schedule(o.time_limit, o.rate, seed=self.seed)
        self.nemesis = Nemesis(
            self.kinds,
            self.backend,
            self.db,
            self.nodes,
            self.rec,
            random.Random(self.seed + 2),
            o.nemesis_interval,
        )
        nem_stop = threading.Event()
        nem = threading.Thread(
            target=self.nemesis.run, args=(nem_stop,), name="nemesis", daemon=True
        )
        try:
            if procs is not None:
                procs.start()
                schedule = Schedule(o.time_limit, o.rate, seed=self.seed)  # after their start-up
                procs.go(schedule.deadline)
            else:
                threads = [
                    threading.Thread(
                        target=run_worker,
                        args=(self.worker_cfg, self.workload, i, schedule, self.rec.record),
                        name=f"worker-{i}",
                        daemon=True,
                    )
                    for i in range(self.concurrency)
                ]
                for w in threads:
                    w.start()
            nem.start()
            t0 = time.monotonic()
            while schedule.running():
                self.progress(
                    "running", min(1.0, (time.monotonic() - t0) / max(o.time_limit, 0.001))
                )
                schedule.stop.wait(0.25)
        finally:
            schedule.stop.set()
            if procs is not None:
                procs.stop()
            nem_stop.set()
            if nem.is_alive():
                nem.join(o.nemesis_interval + 30)
            for w in threads:
                w.join(o.op_timeout + 10)
            if procs is not None:
                # a cas waits up to three op timeouts; sessions then get 3 s to close
                procs.join(3 * o.op_timeout + 12)
            if procs is not None:
                self.cleaned.append(f"stopped {len(procs.procs)} client worker processes")
            self._set_phase("healing")
            log.info("main phase over: %d history events; healing", len(self.rec.ops))
            self._note_healed(self.nemesis.heal_all())

    def _final_phase(self) -> None:
        assert self.db is not None and self.rec is not None
        finals = self.workload.final_ops()
        if not finals:
            return
        self._set_phase("final reads")
        log.info("final phase: %s", finals)
        try:
            self.db.await_ready(self.nodes, self.opts.ready_timeout)
        except UserError as exc:
            log.warning("cluster did not recover before the final reads: %s", exc)
        settle = self.workload.settle_seconds()
        if settle:
            time.sleep(settle)
        # fresh process numbers, above every one the workers used
        process = 1 + max(
            (o.process for o in self.rec.ops if isinstance(o.process, int)),
            default=self.concurrency - 1,
        )
        nodes = self.nodes[:1] if self.workload.final_once() else self.nodes
        for node in nodes:
            client = self._open_client(node, time.monotonic() + 20)
            if client is None:
                log.warning("final ops: no session on %s", node.name)
                continue
            try:
                for f, value in finals:
                    run_op(
                        client,
                        self.workload,
                        self.workload.reads,
                        process,
                        f,
                        value,
                        self.rec.record,
                        final=True,
                    )
                    process += 1
            finally:
                client.close()

    def _note_healed(self, steps: list[str]) -> None:
        if steps:
            self.cleaned.append(f"healed the faults in force ({', '.join(steps)})")

    def _teardown(self) -> None:
        """Undo everything; each step runs even if an earlier one fails."""
        self._set_phase("teardown")
        log.info("teardown")
        if self.nemesis is not None:
            with contextlib.suppress(Exception):
                self._note_healed(self.nemesis.heal_all())
        if self.db is not None and self.run_dir is not None:
            running = [n.name for n in self.nodes if _quietly(self.db.running, n)]
            with contextlib.suppress(Exception):  # the servers' own counters, for the report
                server_metrics.collect([n for n in self.nodes if n.name in running], self.run_dir)
            for n in self.nodes:
                with contextlib.suppress(Exception):
                    self.db.kill(n)
                dest = self.run_dir / "nodes" / n.name
                for p in self.db.fetch_paths(n):
                    with contextlib.suppress(Exception):
                        n.remote.download(p, str(dest / os.path.basename(p)))
            for n in self.nodes:
                with contextlib.suppress(Exception):
                    self.db.teardown(n)
            if running:
                self.cleaned.append(
                    f"killed {len(running)} node processes ({', '.join(running)}) and kept "
                    f"their logs in {self.run_dir / 'nodes'}"
                )
        if self.backend is not None:
            with contextlib.suppress(Exception):
                self.backend.teardown()
            where = getattr(self.backend, "base_dir", "") or ""
            self.cleaned.append(
                f"tore down the {self.opts.backend} backend" + (f" ({where})" if where else "")
            )
        if self.rec is not None:
            self.rec.close()
        if self.state is not None:
            left = leftovers.kill_procs(self.state)
            leftovers.detach_mounts(self.state)
            self.state.remove()
            if left:
                self.cleaned.append(f"killed {left} leftover processes")

    # -- results ----------------------------------------------------------------------------

    def check(self) -> Result:
        assert self.rec is not None and self.run_dir is not None
        return check_run(
            self.run_dir,
            self.rec.ops,
            self.workload,
            self.opts.db,
            bound=self.opts.max_unavailable,
            session_timeout=self.opts.session_timeout,
        )

    def write_report(self) -> None:
        from zablab.harness.report import write_report

        assert self.run_dir is not None
        write_report(self.run_dir)

    def _write_test_json(self, reason: str = "") -> None:
        assert self.run_dir is not None
        data = {
            "name": self.opts.test_name,
            "status": self.status,  # running, complete, interrupted, failed or crashed
            **({"reason": reason} if reason else {}),
            "options": asdict(self.opts),
            "seed": self.seed,
            "concurrency": self.concurrency,
            "client_procs": self.client_procs,
            "nemesis": self.kinds,
            "workload_checker": self.workload.checker,
            "versions": _versions(self.opts.db),
            "argv": sys.argv,
            "nodes": [
                {
                    "name": n.name,
                    "id": n.id,
                    "host": n.host,
                    "client_port": n.client_port,
                    "peer_ports": list(n.peer_ports),
                }
                for n in self.nodes
            ],
            "start": self.run_dir.name,
        }
        store.write_json(self.run_dir / "test.json", data)


def check_run(
    run_dir: Path,
    ops: list[Any],
    workload: Workload,
    db: str,
    status: str = "complete",
    reason: str = "",
    bound: float | None = None,
    session_timeout: float = 10.0,
) -> Result:
    """Run the workload's checkers, the availability checker (and the ZAB trace checker for
    zablab) and save results.json. A run that did not finish, or in which no client op
    completed, is unknown whatever the checkers say: they judged a partial history, or none."""
    results = []
    evidence = _evidence(ops, status, reason)
    if evidence is not None:
        results.append(evidence)
    results.append(workload.check(ops))
    results.append(check_availability(ops, bound=bound, session_timeout=session_timeout))
    if db == "zablab":
        traces = sorted(
            str(p) for p in (run_dir / "nodes").glob("*/trace.jsonl") if p.stat().st_size > 0
        )
        if traces:
            results.append(check_zab_trace(load_zab_trace(*traces)))
    result = annotate(compose("zablab test", results), ops)
    data = result.to_dict()
    data["status"] = status
    why = unknown_reason(result)
    if why:
        data["reason"] = why
    data["stats"] = stats(ops)
    store.write_json(run_dir / "results.json", data)
    return result


def _evidence(ops: list[Any], status: str, reason: str) -> Result | None:
    if status == "running":
        why = "the run never finished: its harness stopped before the end"
    elif status != "complete":
        why = _unfinished_reason(status, reason) + "; its history is partial"
    elif not any(op.is_client and op.type == "ok" for op in ops):
        why = "no client operation succeeded, so nothing was checked"
    else:
        return None
    return Result("evidence", "unknown", {"reason": why})


def _unfinished_reason(status: str, why: str) -> str:
    verb = {"interrupted": "was interrupted"}.get(status, status)
    return f"the run {verb}" + (f" ({why})" if why else "")


def unknown_reason(result: Result) -> str:
    """The first reason an unknown result gives, searching its children depth-first."""
    if result.valid != "unknown":
        return ""
    if result.details.get("reason"):
        return str(result.details["reason"])
    for c in result.children:
        why = unknown_reason(c)
        if why:
            return f"{c.checker}: {why}" if not why.startswith(c.checker) else why
    return ""


def _quietly(fn: Callable[[Node], bool], node: Node) -> bool:
    try:
        return fn(node)
    except Exception:
        return False


def stats(ops: list[Any]) -> dict[str, Any]:
    out: dict[str, dict[str, int]] = {}
    for op in ops:
        if op.is_client and op.type != "invoke":
            d = out.setdefault(op.f, {"ok": 0, "fail": 0, "info": 0})
            d[op.type] += 1
    return out


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def analyze(run_dir: Path) -> Result:
    """Re-check a stored run from its history and test.json."""
    import json

    from zablab.history.jsonl import read_jsonl

    try:
        test = json.loads((run_dir / "test.json").read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{run_dir}/test.json is missing or unreadable ({exc}).") from None
    o = test.get("options", {})
    workload = get_workload(
        o.get("workload", "register"),
        random.Random(0),
        check_timeout=o.get("check_timeout", 60),
        session_timeout=o.get("session_timeout", 10),
    )
    ops = read_jsonl(run_dir / "history.jsonl")
    return check_run(
        run_dir,
        ops,
        workload,
        o.get("db", "zablab"),
        status=str(test.get("status", "complete")),
        reason=str(test.get("reason", "")),
        bound=o.get("max_unavailable"),
        session_timeout=o.get("session_timeout", 10),
    )
