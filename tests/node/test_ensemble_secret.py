"""The ensemble secret: a node on the built-in default says so once; a peer with another
secret is refused, and each side logs the refusal once (not on every retry)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from zablab.node.launcher import launch_ensemble
from zablab.node.secret import SECRET_ENV

DEFAULT_WARNING = "built-in default secret"


def _log(node) -> str:
    return Path(node.log_path).read_text(errors="replace")


def _mode(node) -> str:
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        s.sendall(b"srvr")
        text = b""
        while chunk := s.recv(4096):
            text += chunk
    modes = [ln.split(": ", 1)[1] for ln in text.decode().splitlines() if ln.startswith("Mode:")]
    return modes[0] if modes else "not serving"


def _modes(nodes, want: set[str], seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    while True:
        modes = [_mode(n) for n in nodes]
        if set(modes) == want or time.monotonic() > deadline:
            return modes
        time.sleep(0.2)


def test_wrong_secret_is_refused_with_one_line_on_each_side(tmp_path):
    envs = [{SECRET_ENV: "alpha-secret"}, {SECRET_ENV: "beta-secret"}]
    nodes = launch_ensemble(str(tmp_path), 2, tick_time=100, fsync=False, envs=envs)
    try:
        time.sleep(3)  # many election rounds: every one dials the other member again
        assert "leader" not in _modes(nodes, {"leader", "follower"}, 1)
        logs = [_log(n) for n in nodes]
    finally:
        for n in nodes:
            n.stop()
    for me, other, text in ((1, 2, logs[0]), (2, 1, logs[1])):
        refusals = [ln for ln in text.splitlines() if " WARNING " in ln and "refused" in ln]
        assert len(refusals) == 1, (me, refusals)
        assert f"peer {other}" in refusals[0] and SECRET_ENV in refusals[0]
        assert DEFAULT_WARNING not in text


def test_default_secret_warns_once_and_the_same_secret_forms_a_quorum(tmp_path):
    same = {SECRET_ENV: "gamma-secret"}
    nodes = launch_ensemble(str(tmp_path / "set"), 2, tick_time=100, fsync=False, envs=[same] * 2)
    try:
        assert sorted(_modes(nodes, {"leader", "follower"}, 15)) == ["follower", "leader"]
    finally:
        for n in nodes:
            n.stop()
    for n in nodes:
        text = _log(n)
        assert DEFAULT_WARNING not in text and "refused peer" not in text
    bare = launch_ensemble(str(tmp_path / "bare"), 2, tick_time=100, fsync=False)
    try:
        time.sleep(1)
    finally:
        for n in bare:
            n.stop()
    for n in bare:
        warnings = [line for line in _log(n).splitlines() if DEFAULT_WARNING in line]
        assert len(warnings) == 1 and SECRET_ENV in warnings[0]
