"""What the election lab grades against: a real 3-node zablab ensemble, the fenced store, a
fault proxy between each candidate and the ensemble, and candidate processes running the
student's code — all started by one test and all gone when it ends.

Every process is started with PR_SET_PDEATHSIG, so even if the grader kills the test process
(a timeout) the ensemble and the candidates die with it. Times of faults and observations are
taken on the store's clock, so the history the checker reads has one time line.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient
from kazoo.retry import KazooRetry

from zablab.apache.fourletter import four_letter
from zablab.checkers.election import check_election
from zablab.checkers.result import Result
from zablab.harness.backends.base import Node
from zablab.harness.backends.local import HOST, LocalBackend
from zablab.harness.db.zablab import ZablabDB
from zablab.harness.faults.proxy import FaultProxy
from zablab.harness.fenced_store import FencedStore
from zablab.history.jsonl import Op

SESSION_TIMEOUT = 2.0  # seconds: small, so that a failover takes seconds


def _die_with_parent() -> None:
    """preexec_fn: SIGKILL this child when the process that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def wait_for(pred: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


class Candidate:
    """One candidate process: `python -m zablab.labs.election.candidate` on the student's file."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], log: Path):
        self.name = name
        self.proc = proc
        self.log = log

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stopped(self) -> bool:
        """True while the process is stopped by SIGSTOP (state T in /proc)."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] in ("T", "t")

    def output(self, limit: int = 1500) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""


class GradingCluster:
    def __init__(self, nodes: int = 3, session_timeout: float = SESSION_TIMEOUT):
        self.count = nodes
        self.session_timeout = session_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="zablab-election-"))
        self.t0 = time.monotonic_ns()
        self.backend = LocalBackend(base_dir=str(self.dir / "nodes"), proxy=False)
        self.db = ZablabDB()
        self.nodes: list[Node] = []
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.store = FencedStore(clock=self.now)
        self.proxy = FaultProxy(HOST)
        self.candidates: dict[str, Candidate] = {}
        self.clients: list[KazooClient] = []
        self.events: list[Op] = []  # faults and observations, on the store's clock

    def now(self) -> int:
        return time.monotonic_ns() - self.t0

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> GradingCluster:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.nodes = self.backend.setup(self.count)
        self.db.setup(self.nodes)
        for n in self.nodes:
            self._start_node(n)
        ok = wait_for(self._ready, 30)
        if not ok:
            raise AssertionError(
                "the zablab ensemble did not come up in 30 s (a grader problem, not yours): "
                + self._node_logs()
            )
        self.store.start()

    def _start_node(self, n: Node) -> None:
        log = open(self.dir / f"{n.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        self.procs[n.name] = subprocess.Popen(
            shlex.split(self.db.command(n)),
            cwd=n.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
        log.close()

    def _live_nodes(self) -> list[Node]:
        return [n for n in self.nodes if self.procs[n.name].poll() is None]

    def _ready(self) -> bool:
        modes = [self.db.mode(n) for n in self._live_nodes()]
        return all(modes) and modes.count("leader") == 1

    def close(self) -> None:
        for c in self.clients:
            with contextlib.suppress(Exception):
                c.stop()
                c.close()
        for cand in self.candidates.values():
            _kill(cand.proc)
        for p in self.procs.values():
            _kill(p)
        with contextlib.suppress(Exception):
            self.proxy.close()
        with contextlib.suppress(Exception):
            self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _node_logs(self) -> str:
        out = []
        for n in self.nodes:
            with contextlib.suppress(OSError):
                out.append(f"{n.name}: " + (self.dir / f"{n.name}.log").read_text()[-400:])
        return "\n".join(out)

    # -- clients -----------------------------------------------------------------------------

    @property
    def hosts(self) -> str:
        return self.db.connection_string(self.nodes)

    def client(self, hosts: str | None = None) -> KazooClient:
        """A started kazoo client straight to the ensemble, stopped when the cluster closes."""
        zk = KazooClient(
            hosts=hosts or self.hosts,
            timeout=self.session_timeout,
            connection_retry=KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5),
        )
        zk.start(timeout=10)
        self.clients.append(zk)
        return zk

    def proxied_hosts(self, name: str) -> str:
        """A connection string for candidate `name` through the fault proxy."""
        ports = []
        for n in self.nodes:
            key = (name, n.name, "client")
            if key not in {(lk.src, lk.dst, lk.kind) for lk in self.proxy.links()}:
                self.proxy.add_link(name, n.name, (n.host, n.client_port), "client")
            ports.append(f"{HOST}:{self.proxy.port(name, n.name, 'client')}")
        return ",".join(ports)

    def spawn(self, name: str, student_file: str, scheme: str, path: str) -> Candidate:
        log = self.dir / f"{name}.out"
        cmd = [
            sys.executable,
            "-m",
            "zablab.labs.election.candidate",
            "--file",
            student_file,
            "--name",
            name,
            "--scheme",
            scheme,
            "--path",
            path,
            "--hosts",
            self.proxied_hosts(name),
            "--store",
            "{}:{}".format(*self.store.address),
            "--session-timeout",
            str(self.session_timeout),
        ]
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        cand = self.candidates[name] = Candidate(name, proc, log)
        return cand

    # -- faults (each recorded as a nemesis op) ----------------------------------------------

    def record(
        self, process: str, f: str, value: Any = None, type_: str = "info", **extra: Any
    ) -> None:
        self.events.append(Op(-1, self.now(), type_, process, f, value, extra))

    def lose_primary(self, name: str | None, fault: str) -> None:
        self.record(
            "nemesis",
            "lose-primary",
            {"primary": name, "fault": fault} if name else {"fault": fault},
        )

    def kill(self, name: str) -> None:
        self.lose_primary(name, "kill -9")
        _kill(self.candidates[name].proc)

    def pause(self, name: str) -> None:
        """SIGSTOP at the worst moment: the candidate stops itself inside its next write, after
        it chose the token and before the store sees it (SIGUSR1 arms that)."""
        self.candidates[name].proc.send_signal(signal.SIGUSR1)
        if not wait_for(self.candidates[name].stopped, 5):
            self.candidates[name].proc.send_signal(signal.SIGSTOP)
        self.lose_primary(name, "SIGSTOP")

    def resume(self, name: str) -> None:
        self.record("nemesis", "resume", name)
        self.candidates[name].proc.send_signal(signal.SIGCONT)

    def partition(self, name: str) -> None:
        self.lose_primary(name, "partition from the ensemble")
        cut = {(a, b) for n in self.nodes for a, b in ((name, n.name), (n.name, name))}
        self.proxy.set_blocked(self.proxy.blocked() | cut)

    def heal(self) -> None:
        self.record("nemesis", "heal")
        self.proxy.heal()

    def kill_zk_leader(self) -> str:
        leader = next(n for n in self._live_nodes() if self.db.mode(n) == "leader")
        self.lose_primary(None, f"kill -9 of ZooKeeper leader {leader.name}")
        _kill(self.procs[leader.name])
        return leader.name

    # -- observations ------------------------------------------------------------------------

    def primary(self, after: int = 0) -> str | None:
        """The leader of the latest accepted write at or after `after`."""
        for op in reversed(self.store.log):
            if op.time < after:
                break
            if op.type == "ok":
                return str(op.extra.get("leader"))
        return None

    def wait_primary(
        self, timeout: float, after: int = 0, other_than: str | None = None
    ) -> str | None:
        def p() -> str | None:
            name = self.primary(after)
            return name if name and name != other_than else None

        return wait_for(p, timeout)

    def wakeups(self) -> dict[str, int]:
        """Watch events the servers delivered so far, per session, summed over the nodes."""
        out: dict[str, int] = {}
        for n in self._live_nodes():
            for line in four_letter(n.host, n.client_port, "wevs").splitlines():
                sid, _, count = line.partition("\t")
                if count.strip().isdigit():
                    out[sid] = out.get(sid, 0) + int(count)
        return out

    def record_wakeups(self, scheme: str, before: dict[str, int], waiters: list[str]) -> int:
        after = self.wakeups()
        woken = sorted(s for s in waiters if after.get(s, 0) > before.get(s, 0))
        self.record(
            "observer",
            "wakeups",
            {"scheme": scheme, "waiters": len(waiters), "woken": len(woken)},
            "ok",
            sessions=woken,
        )
        return len(woken)

    def live_sessions(self) -> list[str]:
        out = []
        for n in self._live_nodes():
            for line in four_letter(n.host, n.client_port, "cons").splitlines():
                if "sid=" in line:
                    out.append(line.split("sid=", 1)[1].split(",", 1)[0])
        return out

    def record_candidates(self, zk: KazooClient, path: str) -> list[dict[str, Any]]:
        nodes = []
        for child in zk.get_children(path) if zk.exists(path) else []:
            stat = zk.exists(f"{path}/{child}")
            if stat is not None:
                nodes.append({"path": f"{path}/{child}", "owner": f"{stat.ephemeralOwner:#x}"})
        self.record("observer", "candidates", nodes, "ok", live_sessions=self.live_sessions())
        return nodes

    def history(self) -> list[Op]:
        ops = sorted([*self.store.log, *self.events], key=lambda o: o.time)
        return [
            Op(i, o.time, o.type, o.process, o.f, o.value, dict(o.extra)) for i, o in enumerate(ops)
        ]

    def check(self, **opts: Any) -> Result:
        return check_election(self.history(), session_timeout=self.session_timeout, **opts)

    def save(self, path: Path) -> None:
        with open(path, "w") as fh:
            for op in self.history():
                fh.write(json.dumps(op.to_dict()) + "\n")


def _kill(p: subprocess.Popen[bytes]) -> None:
    if p.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            p.send_signal(signal.SIGCONT)
            p.kill()
    with contextlib.suppress(Exception):
        p.wait(5)
