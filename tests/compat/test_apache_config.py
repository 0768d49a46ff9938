"""zoo.cfg, myid and command lines for Apache ZooKeeper (pure functions, no JVM needed)."""

from __future__ import annotations

import pytest

from zablab.apache import (
    cli_command,
    ensemble,
    myid_text,
    server_classpath,
    server_command,
    zoo_cfg,
)
from zablab.apache.classpath import check_installed
from zablab.errors import UserError


def parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_standalone_cfg_has_no_server_lines_and_no_admin_port():
    cfg = parse(zoo_cfg("/d", 2181))
    assert cfg["dataDir"] == "/d"
    assert cfg["clientPort"] == "2181"
    assert cfg["clientPortAddress"] == "127.0.0.1"
    assert cfg["admin.enableServer"] == "false"
    assert cfg["forceSync"] == "yes"
    assert not [k for k in cfg if k.startswith("server.")]


def test_ensemble_cfg_lists_members_with_ids_from_one():
    members = ensemble(["10.0.0.1", "10.0.0.2", "10.0.0.3"], client_port=2181)
    cfg = parse(zoo_cfg("/d", 2181, client_address="10.0.0.1", members=members, force_sync=False))
    assert cfg["server.1"] == "10.0.0.1:2888:3888;10.0.0.1:2181"
    assert cfg["server.3"] == "10.0.0.3:2888:3888;10.0.0.3:2181"
    assert cfg["clientPortAddress"] == "10.0.0.1"
    assert ensemble(["h"])[0].line() == "server.1=h:2888:3888"
    assert cfg["forceSync"] == "no"
    assert "clientPortAddress" not in parse(zoo_cfg("/d", 2181, client_address=None))


def test_extra_keys_override_defaults():
    cfg = parse(zoo_cfg("/d", 1, extra={"tickTime": "500", "reconfigEnabled": "true"}))
    assert cfg["tickTime"] == "500"
    assert cfg["reconfigEnabled"] == "true"


def test_myid_rejects_zero():
    assert myid_text(2) == "2\n"
    with pytest.raises(ValueError):
        myid_text(0)


def test_command_lines_name_the_main_classes_and_jars():
    argv = server_command("/c/zoo.cfg", java="/usr/bin/java", java_dir="/opt/jars/")
    assert argv[0] == "/usr/bin/java"
    assert argv[-2:] == ["org.apache.zookeeper.server.quorum.QuorumPeerMain", "/c/zoo.cfg"]
    assert argv[argv.index("-cp") + 1] == server_classpath("/opt/jars")
    assert "/opt/jars/zookeeper.jar" in server_classpath("/opt/jars").split(":")
    cli = cli_command("127.0.0.1:5", args=("ls", "/"))
    assert cli[-4:] == ["-server", "127.0.0.1:5", "ls", "/"]


def test_missing_jars_are_a_user_error(tmp_path):
    with pytest.raises(UserError, match="apt-get install zookeeper"):
        check_installed(str(tmp_path))
