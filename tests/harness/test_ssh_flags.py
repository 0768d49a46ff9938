"""`--ssh-user/--ssh-port/--ssh-key/--known-hosts/--ssh-config/--no-strict-host-keys` reach the
ssh backend of `zablab test` and `zablab cluster up`; bad paths are one-line errors (exit 255)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zablab.cli import main
from zablab.errors import UserError
from zablab.harness.backends.ssh import SshBackend


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """Stops the ssh backend at setup (no SSH at all) and records what it was given."""
    got: dict[str, object] = {}

    def setup(self: SshBackend, count: int | None = None) -> list[object]:
        got.update(
            user=self.user,
            port=self.port,
            key_file=self.key_file,
            known_hosts=self.known_hosts,
            ssh_config=self.ssh_config,
            strict_host_keys=self.strict_host_keys,
            count=count,
        )
        raise UserError("stopped by the test before any connection.")

    monkeypatch.setattr(SshBackend, "setup", setup)
    return got


@pytest.fixture
def files(tmp_path):
    nodes = tmp_path / "nodes"
    nodes.write_text("10.1.0.1\n10.1.0.2\n10.1.0.3\n")
    key = tmp_path / "id_ed25519"
    key.write_text("not really a key\n")
    known = tmp_path / "known_hosts"
    known.write_text("")
    cfg = tmp_path / "ssh_config"
    cfg.write_text("Host *\n  User vagrant\n")
    return nodes, key, known, cfg


FLAGS = ["--ssh-user", "admin", "--ssh-port", "2222", "--no-strict-host-keys"]


def test_test_flags_reach_the_ssh_backend(seen, files, tmp_path, runtime_dir, capsys):
    nodes, key, known, cfg = files
    rc = main(
        ["test", "--nodes-file", str(nodes), "--store", str(tmp_path / "s"), "-q", *FLAGS]
        + ["--ssh-key", str(key), "--known-hosts", str(known), "--ssh-config", str(cfg)]
    )
    assert rc == 255
    assert "stopped by the test" in capsys.readouterr().err
    assert seen == {
        "user": "admin",
        "port": 2222,
        "key_file": str(key),
        "known_hosts": str(known),
        "ssh_config": str(cfg),
        "strict_host_keys": False,
        "count": 3,  # --nodes-file without --nodes: every host
    }


def test_defaults_keep_host_key_checking_on(seen, files, tmp_path, runtime_dir):
    nodes = files[0]
    assert main(["test", "--nodes-file", str(nodes), "--nodes", "2", "-q"]) == 255
    assert seen["strict_host_keys"] is True and seen["user"] == "root" and seen["count"] == 2


def test_cluster_up_flags_reach_the_ssh_backend(seen, files, runtime_dir):
    nodes, key, _, _ = files
    rc = main(["cluster", "up", "--nodes-file", str(nodes), "--ssh-key", str(key), *FLAGS])
    assert rc == 255
    assert seen["key_file"] == str(key) and seen["port"] == 2222 and seen["count"] == 3


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--ssh-key", "--ssh-key /nonexistent/key: no readable file there"),
        ("--known-hosts", "--known-hosts /nonexistent/key: no readable file there"),
        ("--ssh-config", "--ssh-config /nonexistent/key: no readable file there"),
    ],
)
@pytest.mark.parametrize("command", [["test", "-q"], ["cluster", "up"]])
def test_bad_paths_are_one_line_errors(seen, files, runtime_dir, capsys, flag, message, command):
    nodes = files[0]
    assert main([*command, "--nodes-file", str(nodes), flag, "/nonexistent/key"]) == 255
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not seen  # refused before the backend was built


def test_ssh_flags_without_the_ssh_backend_are_refused(seen, runtime_dir, capsys):
    assert main(["test", "--backend", "local", "--ssh-port", "2222", "-q"]) == 255
    assert "are for --backend ssh" in capsys.readouterr().err
    assert main(["test", "--ssh-port", "0", "--backend", "ssh", "-q"]) == 255
    assert "is not a TCP port" in capsys.readouterr().err
