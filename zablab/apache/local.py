"""One Apache ZooKeeper server on 127.0.0.1 with a temporary dataDir, for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from zablab.apache.classpath import JAVA_DIR, check_installed, find_java, server_command
from zablab.apache.config import Member, myid_text, zoo_cfg
from zablab.apache.fourletter import is_serving
from zablab.errors import UserError
from zablab.ports import free_port

HOST = "127.0.0.1"


class LocalZooKeeper:
    """Start/stop a standalone server; the data directory is removed by `close()`."""

    def __init__(
        self,
        *,
        java_dir: str = JAVA_DIR,
        tick_time: int = 2000,
        force_sync: bool = True,
        extra: Mapping[str, str] | None = None,
        properties: tuple[str, ...] = (),
        startup_timeout: float = 60.0,
        base_dir: str | None = None,
        port: int = 0,
        server_id: int | None = None,
        members: tuple[Member, ...] = (),
        admin_port: int | None = None,
    ) -> None:
        """Standalone by default; with `members` and `server_id`, one member of an ensemble
        (then `port` must be that member's client port, and `start()` does not wait: a member
        serves only once a quorum is up, see `wait_serving`)."""
        self.java_dir = java_dir
        self.tick_time = tick_time
        self.force_sync = force_sync
        self.extra = dict(extra or {})
        self.properties = properties
        self.startup_timeout = startup_timeout
        self.dir = Path(tempfile.mkdtemp(prefix="zablab-zk-", dir=base_dir))
        self.port = port
        self.server_id = server_id
        self.members = members
        self.admin_port = admin_port  # the AdminServer's HTTP port on 127.0.0.1; None: off
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def hosts(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.dir / "zookeeper.log"

    def start(self, attempts: int = 3) -> LocalZooKeeper:
        """Start on a fresh free port, retrying when another process grabbed the port first."""
        check_installed(self.java_dir)
        java = find_java()
        if self.members:
            self._spawn(java)
            return self
        for _ in range(attempts):
            self.port = free_port()
            if self._start_once(java):
                return self
        raise UserError(
            f"Apache ZooKeeper did not start after {attempts} attempts; see {self.log_path}."
        )

    def _spawn(self, java: str) -> None:
        data_dir = self.dir / "data"
        data_dir.mkdir(exist_ok=True)
        if self.server_id is not None:
            (data_dir / "myid").write_text(myid_text(self.server_id))
        cfg = self.dir / "zoo.cfg"
        cfg.write_text(
            zoo_cfg(
                str(data_dir),
                self.port,
                tick_time=self.tick_time,
                force_sync=self.force_sync,
                members=self.members,
                extra={**self.extra, **self._admin_keys()},
            )
        )
        argv = server_command(
            str(cfg),
            java=java,
            java_dir=self.java_dir,
            properties=self.properties,
            admin_port=self.admin_port,
        )
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.dir,
                start_new_session=True,
            )

    def _admin_keys(self) -> dict[str, str]:
        """zoo.cfg keys win over -D properties in ZooKeeper, so the AdminServer is set here."""
        if self.admin_port is None:
            return {}
        return {
            "admin.enableServer": "true",
            "admin.serverAddress": "127.0.0.1",
            "admin.serverPort": str(self.admin_port),
        }

    def _start_once(self, java: str) -> bool:
        self._spawn(java)
        assert self.process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.process = None
                return False
            if is_serving(HOST, self.port):
                return True
            time.sleep(0.1)
        self.stop()
        return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the JVM lingers; safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """kill -9, for crash tests; the data directory stays for a restart."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def wait_serving(self, timeout: float | None = None) -> None:
        """Block until the server serves (for ensemble members: once a quorum formed)."""
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while not is_serving(HOST, self.port):
            if not self.running:
                raise UserError(f"Apache ZooKeeper exited; see {self.log_path}.")
            if time.monotonic() > deadline:
                raise UserError(
                    f"Apache ZooKeeper is not serving on {self.hosts}; see {self.log_path}."
                )
            time.sleep(0.1)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> LocalZooKeeper:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
