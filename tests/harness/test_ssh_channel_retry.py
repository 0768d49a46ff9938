"""A busy sshd may close a new channel before the command starts; SshRemote reconnects and
tries once more, and a second refusal is one RemoteError naming the host and the command."""

from __future__ import annotations

import io
from typing import Any

import paramiko
import pytest

from zablab.harness.control.remote import RemoteError
from zablab.harness.control.ssh import SshRemote, SshTarget


class _Out(io.BytesIO):
    class channel:  # noqa: N801 - paramiko's attribute name
        @staticmethod
        def recv_exit_status() -> int:
            return 0


class FakeClient:
    def __init__(self, refusals: list[int]) -> None:
        self.refusals = refusals

    def exec_command(self, cmd: str, timeout: float) -> Any:
        if self.refusals[0] > 0:
            self.refusals[0] -= 1
            raise paramiko.SSHException("Channel closed.")
        return None, _Out(b"2\n"), io.BytesIO(b"")

    def close(self) -> None:
        pass


def _remote(monkeypatch: pytest.MonkeyPatch, refusals: int) -> tuple[SshRemote, list[int]]:
    left = [refusals]
    connects = [0]
    r = SshRemote(SshTarget("10.0.0.9"))

    def connect() -> FakeClient:
        connects[0] += 1
        return FakeClient(left)

    monkeypatch.setattr(r, "_connect", connect)
    return r, connects


def test_a_channel_closed_before_the_command_started_is_retried_once(monkeypatch) -> None:
    r, connects = _remote(monkeypatch, refusals=1)
    assert r.exec("echo 2").out == "2\n"
    assert connects == [2]


def test_a_second_refusal_is_one_error_naming_host_and_command(monkeypatch) -> None:
    r, _ = _remote(monkeypatch, refusals=2)
    with pytest.raises(RemoteError, match=r"10\.0\.0\.9: `echo 2` could not run over SSH"):
        r.exec("echo 2")
