"""Client workers spread over several processes, so kazoo is not held to one core by the GIL.

One kazoo process tops out near 2,000 requests/s on a small machine, far below what a ZooKeeper
server serves; a test that wants to stress the server (and a history dense enough to catch a
short anomaly) needs more. Each worker process runs a share of the workers as threads, stamps
every event itself and sends batches to the harness over its stdout, one JSON object per line:

    {"ready": true}                        imports done, sessions may open
    {"w": <watermark ns>, "ops": [event]}  events, and a promise that none later is earlier

The harness writes one line of JSON config to the process's stdin, then `go <deadline>`, and
`stop` (or closes stdin) to end it early. Worker processes ignore SIGINT: Ctrl-C reaches the
harness, which stops them in order; if the harness dies, stdin's end stops them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from zablab.errors import UserError
from zablab.harness.clients.workers import WorkerConfig, run_worker
from zablab.harness.generator import Schedule
from zablab.harness.recorder import Event, Recorder
from zablab.harness.tally import ErrorTally

log = logging.getLogger("zablab.clients")

FLUSH_EVERY = 0.02  # seconds between batches: how late the history lags the ops


MAX_AUTO_PROCS = 8


def auto_procs(concurrency: int) -> int:
    """Worker processes when the user did not say. Two per core: a kazoo process is bound by
    its GIL long before by the CPU (on 2 cores, 10 workers record ~1,200 ops/s in one process,
    ~2,800 in two and ~4,100 in four; beyond that the processes crowd each other out)."""
    return max(1, min(concurrency, 2 * (os.cpu_count() or 1), MAX_AUTO_PROCS))


class WorkerProcesses:
    """The harness's side: start, release, stop and reap the worker processes."""

    def __init__(
        self,
        cfg: WorkerConfig,
        procs: int,
        recorder: Recorder,
        log_dir: Path,
        rate: float = 0.0,
        on_spawn: Any = None,
    ):
        self.cfg = cfg
        self.rec = recorder
        self.log_dir = log_dir
        self.rate = rate
        self.on_spawn = on_spawn or (lambda name, pid: None)
        self.groups = [list(range(k, cfg.concurrency, procs)) for k in range(procs)]
        self.procs: list[subprocess.Popen[bytes]] = []
        self._readers: list[threading.Thread] = []
        self._ready: list[threading.Event] = []

    def start(self, timeout: float = 60.0) -> None:
        """Spawn every worker process and wait until each has loaded kazoo and the workload."""
        try:
            for slot, indexes in enumerate(self.groups):
                self._spawn(slot, indexes)
            deadline = time.monotonic() + timeout
            for slot, ready in enumerate(self._ready):
                while not ready.wait(0.1):
                    if self.procs[slot].poll() is not None or time.monotonic() > deadline:
                        raise UserError(
                            f"client worker process {slot} did not start: "
                            f"{_tail(self.log_dir / f'clients-{slot}.log')}"
                        )
        except BaseException:
            self.kill()  # also on Ctrl-C half way: nothing spawned may outlive the run
            self._forget()
            raise

    def _spawn(self, slot: int, indexes: list[int]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.log_dir / f"clients-{slot}.log", "wb") as err:
            p = subprocess.Popen(
                [sys.executable, "-m", "zablab.harness.clients.procs"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                start_new_session=True,  # Ctrl-C in a terminal goes to the harness only
            )
        self.procs.append(p)
        self.on_spawn(f"clients-{slot}", p.pid)
        config = {
            "config": asdict(self.cfg),
            "indexes": indexes,
            "slot": slot,
            "slots": len(self.groups),
            "t0": self.rec.t0,
            "rate": self.rate * len(indexes) / self.cfg.concurrency,
        }
        self._send(p, json.dumps(config))
        ready = threading.Event()
        self._ready.append(ready)
        t = threading.Thread(
            target=self._read, args=(slot, p, ready), name=f"clients-{slot}", daemon=True
        )
        t.start()
        self._readers.append(t)
        # no events come before `go`, so the source may start holding the history back now
        self.rec.add_source(slot)

    def _forget(self) -> None:
        """Stop waiting for events of any worker process: what did not arrive is not coming."""
        for slot in range(len(self.groups)):
            self.rec.ingest(slot, [], None)

    def go(self, deadline: float) -> None:
        """Start the ops; every process ends at the same `deadline` (time.monotonic())."""
        for p in self.procs:
            self._send(p, f"go {deadline!r}")

    def stop(self) -> None:
        for p in self.procs:
            self._send(p, "stop")

    def join(self, timeout: float) -> None:
        """Wait for the processes to finish their ops and send the rest; kill what hangs."""
        deadline = time.monotonic() + timeout
        for t in self._readers:
            t.join(max(0.0, deadline - time.monotonic()))
        self.kill()
        for t in self._readers:
            t.join(5)
        self._forget()
        for slot in range(len(self.procs)):  # keep only logs that say something
            log_path = self.log_dir / f"clients-{slot}.log"
            with contextlib.suppress(OSError):
                if log_path.stat().st_size == 0:
                    log_path.unlink()

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
            if p.stdin is not None:
                with contextlib.suppress(OSError):
                    p.stdin.close()

    @staticmethod
    def _send(p: subprocess.Popen[bytes], line: str) -> None:
        assert p.stdin is not None
        with contextlib.suppress(OSError, ValueError):  # the process already ended
            p.stdin.write(line.encode() + b"\n")
            p.stdin.flush()

    def _read(self, slot: int, p: subprocess.Popen[bytes], ready: threading.Event) -> None:
        assert p.stdout is not None
        try:
            for line in p.stdout:  # drain to the end whatever comes: a full pipe stalls the child
                try:
                    msg = json.loads(line)
                    if msg.get("ready"):
                        ready.set()
                    elif "w" in msg:
                        self.rec.ingest(slot, [tuple(e) for e in msg["ops"]], msg["w"])
                except Exception as exc:
                    log.warning("client worker process %d: %s in %r", slot, exc, line[:200])
        finally:
            # its events are all in; the rest of the history no longer waits for it
            self.rec.ingest(slot, [], None)
            with contextlib.suppress(OSError):
                p.stdout.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                rc = p.wait(10)
                if rc:
                    log.warning("client worker process %d exited with %s", slot, rc)


def _tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        lines = []
    return lines[-1] if lines else "it exited without a message"


# -- the worker process ---------------------------------------------------------------------


class BatchRecorder:
    """The worker process's recorder: stamps events and hands them over in batches."""

    def __init__(self, out: IO[str], t0: int):
        self._out = out
        self._t0 = t0
        self._lock = threading.Lock()
        self._events: list[Event] = []

    def record(self, type_: str, process: Any, f: str, value: Any = None, **extra: Any) -> None:
        extra = {k: v for k, v in extra.items() if v is not None}
        with self._lock:
            self._events.append((time.monotonic_ns() - self._t0, type_, process, f, value, extra))

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
            watermark = time.monotonic_ns() - self._t0  # every later event is stamped after it
        line = json.dumps({"w": watermark, "ops": events}, separators=(",", ":"), default=repr)
        self._out.write(line + "\n")
        self._out.flush()


def child_main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # stray prints must not corrupt the event stream
    # the first error of each kind in full, then counts: a repeating failure is one line
    sink = logging.StreamHandler(sys.stderr)
    sink.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    tally = ErrorTally(sink, own_in_sink=False).__enter__()
    msg = json.loads(sys.stdin.readline())
    cfg = WorkerConfig(**msg["config"])
    cfg.nodes = [tuple(n) for n in cfg.nodes]  # type: ignore[misc]
    workload = cfg.make_workload()
    workload.share(msg["slot"], msg["slots"])
    rec = BatchRecorder(out, msg["t0"])
    out.write('{"ready":true}\n')
    out.flush()
    line = sys.stdin.readline().split()
    if not line or line[0] != "go":
        return
    schedule = Schedule(0, msg["rate"], seed=cfg.seed + msg["slot"], deadline=float(line[1]))

    def watch_stdin() -> None:
        sys.stdin.readline()  # "stop", or the harness is gone
        schedule.stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    workers = [
        threading.Thread(
            target=run_worker, args=(cfg, workload, i, schedule, rec.record), daemon=True
        )
        for i in msg["indexes"]
    ]
    code = 0
    try:
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            time.sleep(FLUSH_EVERY)
            rec.flush()
        rec.flush()
    except BrokenPipeError:
        schedule.stop.set()  # the harness is gone: nobody to report to
    except BaseException:
        # ops nobody records must not go on: stop the workers and say why
        schedule.stop.set()
        traceback.print_exc()
        code = 1
    # sessions close in the background (see Client.close); let them end cleanly, or their
    # ephemerals outlive the test by a session timeout
    deadline = time.monotonic() + 3
    for w in workers:
        w.join(max(0.0, deadline - time.monotonic()))
    for t in threading.enumerate():
        if t.name == "kazoo-close":
            t.join(max(0.0, deadline - time.monotonic()))
    for line in tally.summary():
        print(f"errors by kind: {line}", file=sys.stderr)
    sys.stderr.flush()
    os._exit(code)  # kazoo's background threads must not hold the exit up


if __name__ == "__main__":
    child_main()
