"""Start and stop `zablab node` subprocesses (tests, the harness's local backend, benches).

The node binds port 0 unless told otherwise and prints `zablab node ready port=N` on stdout
once it serves, so callers never race for a port and never poll.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from zablab.errors import UserError
from zablab.ports import free_ports

READY = "zablab node ready port="


@dataclass
class NodeProcess:
    data_dir: str
    log_path: str
    args: list[str]
    proc: subprocess.Popen[str] | None = None
    port: int = 0
    host: str = "127.0.0.1"
    env: dict[str, str] | None = None  # extra environment variables for the node
    _log: object = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> NodeProcess:
        logf = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self._log = logf
        cmd = [sys.executable, "-m", "zablab", "node", *self.args]
        self.proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=logf,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
            env={**os.environ, **self.env} if self.env else None,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                line = self.proc.stdout.readline()
                if line.startswith(READY):
                    self.port = int(line[len(READY) :].strip())
                    return self
                if not line:  # stdout closed: the node exited
                    break
            elif self.proc.poll() is not None:
                break
        self.kill()
        raise UserError(
            f"zablab node did not start (exit {self.proc.poll()}): {self.tail_log().strip()}"
        )

    def tail_log(self, n: int = 20) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            assert self.proc is not None
            os.kill(self.proc.pid, sig)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (clean shutdown with a snapshot), then SIGKILL if it lingers."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._cleanup()
        return self.proc.returncode

    def kill(self) -> None:
        """kill -9, as a crash."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()
        if self._log is not None:
            self._log.close()  # type: ignore[attr-defined]
            self._log = None

    def restart(self, timeout: float = 20.0) -> NodeProcess:
        """Start again on the same data dir and port (after stop or kill)."""
        args = list(self.args)
        if "--port" in args:
            args[args.index("--port") + 1] = str(self.port)
        else:
            args += ["--port", str(self.port)]
        self.args = args
        return self.start(timeout)


def launch_node(
    data_dir: str | None = None,
    *,
    port: int = 0,
    host: str = "127.0.0.1",
    fsync: bool = True,
    tick_time: int | None = None,
    extra_args: list[str] | None = None,
    log_path: str | None = None,
    timeout: float = 20.0,
    zoo_cfg: str = "",
) -> NodeProcess:
    """Start a node and wait until it serves; the caller stops it (stop() or kill()).
    `zoo_cfg` holds zoo.cfg lines (written beside the data directory) for what has no flag."""
    data_dir = data_dir or tempfile.mkdtemp(prefix="zablab-node-")
    os.makedirs(data_dir, exist_ok=True)
    args = ["--data-dir", data_dir, "--port", str(port), "--client-port-address", host]
    if zoo_cfg:
        cfg = os.path.join(os.path.dirname(os.path.abspath(data_dir)), "zoo.cfg")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(zoo_cfg.rstrip("\n") + "\n")
        args += ["--config", cfg]
    if not fsync:
        args.append("--no-fsync")
    if tick_time:
        args += ["--tick-time", str(tick_time)]
    args += extra_args or []
    log_path = log_path or os.path.join(data_dir, "node.log")
    return NodeProcess(data_dir, log_path, args, host=host).start(timeout)


def launch_ensemble(
    base_dir: str,
    n: int = 3,
    *,
    host: str = "127.0.0.1",
    tick_time: int = 200,
    fsync: bool = True,
    timeout: float = 20.0,
    extra_config: str = "",
    envs: list[dict[str, str]] | None = None,
) -> list[NodeProcess]:
    """Start n nodes replicated by ZAB (zoo.cfg + myid each, traces in their dirs);
    `extra_config` holds further zoo.cfg lines (e.g. `snapCount=50`), `envs` one environment
    addition per node (e.g. its ZABLAB_ENSEMBLE_SECRET)."""
    ports = free_ports(3 * n, host)
    servers = "".join(
        f"server.{i + 1}={host}:{ports[3 * i]}:{ports[3 * i + 1]}\n" for i in range(n)
    )
    nodes: list[NodeProcess] = []
    try:
        for i in range(n):
            d = os.path.join(base_dir, f"n{i + 1}")
            data = os.path.join(d, "data")
            os.makedirs(data, exist_ok=True)
            with open(os.path.join(data, "myid"), "w", encoding="utf-8") as f:
                f.write(f"{i + 1}\n")
            cfg = os.path.join(d, "zoo.cfg")
            with open(cfg, "w", encoding="utf-8") as f:
                f.write(
                    f"tickTime={tick_time}\ninitLimit=10\nsyncLimit=5\ndataDir={data}\n"
                    f"clientPort={ports[3 * i + 2]}\nclientPortAddress={host}\n"
                    + ("" if fsync else "forceSync=no\n")
                    + (extra_config.rstrip("\n") + "\n" if extra_config else "")
                    + servers
                )
            args = ["--config", cfg, "--trace", os.path.join(d, "trace.jsonl")]
            env = envs[i] if envs else None
            node = NodeProcess(data, os.path.join(d, "node.log"), args, host=host, env=env)
            nodes.append(node.start(timeout))
    except BaseException:
        for node in nodes:
            node.kill()
        raise
    return nodes
