"""SSH control channel (paramiko): how the harness drives every node that is not a local process.

Host keys are checked by default against a known_hosts file the backend recorded when it created
the node (or the user's file for the ssh backend); a mismatch is refused, never accepted silently.
"""

from __future__ import annotations

import os
import posixpath
import shlex
import stat
import threading
from dataclasses import dataclass
from typing import Any

import paramiko

from zablab.errors import UserError
from zablab.harness.control.remote import ExecResult, RemoteError


@dataclass
class SshTarget:
    """Where and as whom to connect; `known_hosts` None means the user's ~/.ssh/known_hosts."""

    host: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    known_hosts: str | None = None
    strict_host_keys: bool = True
    connect_timeout: float = 10.0


def _env_prefix(env: dict[str, str] | None) -> str:
    if not env:
        return ""
    return "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) + " "


def spawn_command(cmd: str, log: str, env: dict[str, str] | None, cwd: str | None) -> str:
    """Shell text that starts `cmd` detached (own session, stdio to `log`) and prints its pid.

    Shared by every Remote so that daemons are started the same way on all backends.
    """
    inner = f"{_env_prefix(env)}sh -c {shlex.quote('exec ' + cmd)}"
    cd = f"cd {shlex.quote(cwd)} && " if cwd else ""
    return (
        f"{cd}mkdir -p {shlex.quote(posixpath.dirname(log) or '.')} && "
        f"setsid {inner} >>{shlex.quote(log)} 2>&1 </dev/null & echo $!"
    )


class SshRemote:
    """Remote over one SSH connection; thread-safe (paramiko multiplexes channels)."""

    def __init__(self, target: SshTarget):
        self.target = target
        self.host = target.host
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> paramiko.SSHClient:
        with self._lock:
            if self._client is not None and self._transport_alive(self._client):
                return self._client
            t = self.target
            client = paramiko.SSHClient()
            known = t.known_hosts or os.path.expanduser("~/.ssh/known_hosts")
            if os.path.exists(known):
                client.load_host_keys(known)
            if t.strict_host_keys:
                client.set_missing_host_key_policy(paramiko.RejectPolicy())
            else:
                client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
            try:
                client.connect(
                    t.host,
                    port=t.port,
                    username=t.user,
                    key_filename=t.key_file,
                    timeout=t.connect_timeout,
                    banner_timeout=t.connect_timeout,
                    auth_timeout=t.connect_timeout,
                    allow_agent=t.key_file is None,
                    look_for_keys=t.key_file is None,
                )
            except paramiko.BadHostKeyException:
                raise UserError(
                    f"host key of {t.host}:{t.port} does not match the one recorded in {known}; "
                    "refusing to connect (if the host was rebuilt, remove its line from that file)"
                ) from None
            except paramiko.SSHException as exc:
                if "not found in known_hosts" in str(exc):
                    raise UserError(
                        f"{t.host}:{t.port} is not in {known}; add its host key "
                        "(e.g. ssh-keyscan) or turn off strict host-key checking"
                    ) from None
                raise UserError(f"cannot SSH to {t.user}@{t.host}:{t.port}: {exc}") from None
            except (TimeoutError, OSError) as exc:
                raise UserError(
                    f"cannot reach {t.host}:{t.port} over SSH ({exc}); is the host up and sshd running?"
                ) from None
            self._client = client
            self._sftp = None
            return client

    @staticmethod
    def _transport_alive(client: paramiko.SSHClient) -> bool:
        tr = client.get_transport()
        return tr is not None and tr.is_active()

    def _sftp_client(self) -> paramiko.SFTPClient:
        client = self._connect()
        with self._lock:
            if self._sftp is None:
                self._sftp = client.open_sftp()
            return self._sftp

    def close(self) -> None:
        with self._lock:
            if self._sftp is not None:
                self._sftp.close()
                self._sftp = None
            if self._client is not None:
                self._client.close()
                self._client = None

    def _open(self, full: str, timeout: float) -> Any:
        """The command's channel. A busy sshd can close a new channel before the command
        starts ("Channel closed"): nothing ran, so one retry on a fresh connection is safe."""
        try:
            return self._connect().exec_command(full, timeout=timeout)
        except paramiko.SSHException:
            self.close()
            return self._connect().exec_command(full, timeout=timeout)

    # -- Remote -----------------------------------------------------------------------------
    def exec(
        self,
        cmd: str,
        *,
        check: bool = True,
        timeout: float = 60.0,
        env: dict[str, str] | None = None,
    ) -> ExecResult:
        full = _env_prefix(env) + "sh -c " + shlex.quote(cmd)
        try:
            _, out_f, err_f = self._open(full, timeout)
            out = out_f.read().decode(errors="replace")
            err = err_f.read().decode(errors="replace")
            rc = out_f.channel.recv_exit_status()
        except TimeoutError:
            raise RemoteError(f"{self.host}: `{cmd}` did not finish within {timeout:g} s") from None
        except paramiko.SSHException as exc:
            raise RemoteError(f"{self.host}: `{cmd}` could not run over SSH: {exc}") from None
        res = ExecResult(rc, out, err)
        if check and rc != 0:
            last = (err.strip() or out.strip()).splitlines()[-1:] or [""]
            raise RemoteError(f"{self.host}: `{cmd}` exited {rc}: {last[0]}")
        return res

    def upload(self, local: str, remote: str) -> None:
        sftp = self._sftp_client()
        if os.path.isdir(local):
            self.exec(f"mkdir -p {shlex.quote(remote)}")
            for name in os.listdir(local):
                self.upload(os.path.join(local, name), posixpath.join(remote, name))
            return
        sftp.put(local, remote)
        sftp.chmod(remote, os.stat(local).st_mode & 0o777)

    def download(self, remote: str, local: str) -> None:
        sftp = self._sftp_client()
        try:
            st = sftp.stat(remote)
        except FileNotFoundError:
            raise RemoteError(f"{self.host}: no such file {remote}") from None
        if st.st_mode is not None and stat.S_ISDIR(st.st_mode):
            os.makedirs(local, exist_ok=True)
            for entry in sftp.listdir_attr(remote):
                self.download(
                    posixpath.join(remote, entry.filename), os.path.join(local, entry.filename)
                )
            return
        os.makedirs(os.path.dirname(local) or ".", exist_ok=True)
        sftp.get(remote, local)

    def spawn(
        self,
        cmd: str,
        *,
        log: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> int:
        res = self.exec(spawn_command(cmd, log, env, cwd))
        return int(res.out.strip().splitlines()[-1])

    def signal(self, pid: int, sig: str) -> bool:
        return self.exec(f"kill -{sig} {int(pid)}", check=False).rc == 0

    def alive(self, pid: int) -> bool:
        # a zombie still answers kill -0; ask ps for the state instead
        res = self.exec(f"ps -o stat= -p {int(pid)}", check=False)
        return res.rc == 0 and bool(res.out.strip()) and not res.out.strip().startswith("Z")
