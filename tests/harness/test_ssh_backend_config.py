"""The ssh backend's inputs: Jepsen-style nodes files and OpenSSH config files (no network)."""

from __future__ import annotations

import pytest

from zablab.errors import UserError
from zablab.harness.backends.ssh import HostEntry, SshBackend, read_nodes_file


def test_nodes_file_one_host_per_line_with_comments_and_ports(tmp_path):
    f = tmp_path / "nodes"
    f.write_text("# my cluster\nn1\n\n  n2  # the second\n192.168.56.13:2222\n")
    assert read_nodes_file(str(f)) == [
        HostEntry("n1"),
        HostEntry("n2"),
        HostEntry("192.168.56.13", 2222),
    ]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "names no hosts"),
        ("# only a comment\n", "names no hosts"),
        ("n1 n2\n", "one host per line"),
        ("n1\nn1\n", "more than once"),
    ],
)
def test_bad_nodes_files_are_user_errors(tmp_path, text, match):
    f = tmp_path / "nodes"
    f.write_text(text)
    with pytest.raises(UserError, match=match):
        read_nodes_file(str(f))


def test_missing_nodes_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read the nodes file"):
        read_nodes_file(str(tmp_path / "absent"))
    with pytest.raises(UserError, match="--nodes-file"):
        SshBackend(None)


def test_ssh_config_supplies_address_user_port_and_key(tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text(
        "Host n1\n  HostName 192.168.56.11\n  User vagrant\n  Port 2200\n"
        "  IdentityFile /keys/n1\n\nHost *\n  User root\n"
    )
    b = SshBackend(str(tmp_path / "nodes"), ssh_config=str(cfg), known_hosts="/kh")
    t1 = b.target(HostEntry("n1"))
    assert (t1.host, t1.user, t1.port, t1.key_file) == (
        "192.168.56.11",
        "vagrant",
        2200,
        "/keys/n1",
    )
    assert t1.strict_host_keys and t1.known_hosts == "/kh"
    t2 = b.target(HostEntry("n2", 2022))
    assert (t2.host, t2.user, t2.port) == ("n2", "root", 2022)
