"""Debian's zkCli (ZooKeeperMain) works against zablab as against ZooKeeper.

One JVM per server runs a piped script; the transcript, with zxids replaced by their rank, times
and session ids masked and the test's root path replaced by /R, must equal the one recorded from
Apache ZooKeeper 3.8 below.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from zablab.apache import cli_command

pytestmark = pytest.mark.zookeeper

SCRIPT = """\
create /R
create /R/a hello
ls /R
get /R/a
set /R/a world
get -s /R/a
set -v 7 /R/a x
create /R/a again
create -e /R/e eph
stat /R/e
create -s /R/s- one
create -s /R/s- two
create -e -s /R/es
create /R/a/b/c deep
create /R/a/b
delete /R/a
ls -s /R
delete /R/a/b
delete /R/a
ls /R
deleteall /R
ls /R
get /R
"""

EXPECTED = """\
Created /R
Created /R/a
[a]
hello
world
cZxid = Z1
ctime = TIME
mZxid = Z2
mtime = TIME
pZxid = Z1
cversion = 0
dataVersion = 1
aclVersion = 0
ephemeralOwner = 0x0
dataLength = 5
numChildren = 0
version No is not valid : /R/a
Node already exists: /R/a
Created /R/e
cZxid = Z3
ctime = TIME
mZxid = Z3
mtime = TIME
pZxid = Z3
cversion = 0
dataVersion = 0
aclVersion = 0
ephemeralOwner = SESSION
dataLength = 3
numChildren = 0
Created /R/s-0000000002
Created /R/s-0000000003
Created /R/es0000000004
Node does not exist: /R/a/b/c
Created /R/a/b
Node not empty: /R/a
[a, e, es0000000004, s-0000000002, s-0000000003]
cZxid = Z0
ctime = TIME
mZxid = Z0
mtime = TIME
pZxid = Z4
cversion = 5
dataVersion = 0
aclVersion = 0
ephemeralOwner = 0x0
dataLength = 0
numChildren = 5
[e, es0000000004, s-0000000002, s-0000000003]
Node does not exist: /R
Node does not exist: /R
"""

NOISE = re.compile(
    r"^(Connecting to |Welcome to ZooKeeper!|JLine support is|WATCHER::|WatchedEvent state:|$)"
)
ZXID = re.compile(r"^([cmp]Zxid) = (0x[0-9a-f]+)$")


WATCHER_BLOCK = re.compile(r"\n?WATCHER::\n\nWatchedEvent state:\w+ type:None path:null\n?")


def normalise(transcript: str, root: str) -> str:
    """Mask what may differ between servers: zxid values (kept as ranks), times, session ids.

    zkCli prints connection-state events from its event thread, so such a block can land in the
    middle of a command's output line; cut it out wherever it is before comparing lines.
    """
    transcript = WATCHER_BLOCK.sub("", transcript)
    lines = [line.replace(root, "/R") for line in transcript.splitlines() if not NOISE.match(line)]
    zxids = sorted({int(m.group(2), 16) for line in lines if (m := ZXID.match(line))})
    rank = {z: i for i, z in enumerate(zxids)}
    out = []
    for line in lines:
        if m := ZXID.match(line):
            line = f"{m.group(1)} = Z{rank[int(m.group(2), 16)]}"
        elif line.startswith(("ctime = ", "mtime = ")):
            line = line[:8] + "TIME"
        elif line.startswith("ephemeralOwner = ") and line != "ephemeralOwner = 0x0":
            line = "ephemeralOwner = SESSION"
        out.append(line)
    return "\n".join(out) + "\n"


def run_cli(hosts: str, stdin: str = "", args: tuple[str, ...] = ()) -> str:
    done = subprocess.run(
        cli_command(hosts, args=args),
        input=stdin + "quit\n" if not args else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    return done.stdout


def check_script(hosts: str) -> None:
    root = f"/zkcli-{uuid.uuid4().hex[:12]}"
    transcript = run_cli(hosts, SCRIPT.replace("/R", root))
    assert normalise(transcript, root) == EXPECTED, transcript


def check_one_shot(hosts: str) -> None:
    """`zkCli.sh -server H:P cmd args` runs one command and exits."""
    root = f"/zkcli-{uuid.uuid4().hex[:12]}"
    assert "Created " + root in run_cli(hosts, args=("create", root, "one-shot"))
    assert normalise(run_cli(hosts, args=("get", root)), root) == "one-shot\n"
    run_cli(hosts, args=("delete", root))
    assert f"Node does not exist: {root}" in run_cli(hosts, args=("get", root))


def test_zkcli_against_zookeeper(apache_zk):
    """The recorded transcript still matches Apache ZooKeeper (guards the expectation itself)."""
    check_script(apache_zk.hosts)
    check_one_shot(apache_zk.hosts)


def test_zkcli_against_zablab(zookeeper_installed, zablab_node):
    check_script(zablab_node.address)
    check_one_shot(zablab_node.address)


def test_normalise_keeps_zxid_order():
    """Swapped zxids must not normalise to the recorded transcript."""
    a = "cZxid = 0x10\nmZxid = 0x11\n"
    b = "cZxid = 0x11\nmZxid = 0x10\n"
    assert normalise(a, "/x") != normalise(b, "/x")
