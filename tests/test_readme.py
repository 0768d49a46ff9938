"""Every command README.md shows runs as written, in order, in a fresh clone.

The commands come out of the README's fenced blocks, so a command added there without a line
in `EXPECT` fails here: the README cannot promise what no test has run. Long runs are shortened
only where the README says so (the `zablab test` time limit); servers are started in the
background, probed and stopped.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHORT = "--time-limit 8"
DATA_DIRS = ("/tmp/zl1", "/tmp/zablab-example")  # README's `zablab node` commands and examples/zoo.cfg


def readme_commands(text: str) -> list[str]:
    """Lines of the fenced shell blocks, comments after the command dropped."""
    out = []
    for block in re.findall(r"^```(?:sh|bash|shell|console)?\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            line = re.sub(r"\s{2,}#.*$", "", line).strip()
            if line and not line.startswith("#"):
                out.append(line)
    return out


@dataclass(frozen=True)
class Expect:
    exit: int | tuple[int, ...] = 0
    shorten: bool = False  # append SHORT: the README says the test shortens it
    background: int | None = None  # a server: wait for this port, leave it running
    output: str = ""  # a regex the output must match
    skip: str = ""  # not run here, with the reason (and what checks it instead)


INSTALL = r"S=\$\(command -v sudo\); \$S apt-get .*"
EXPECT: list[tuple[str, Expect]] = [
    (INSTALL + r"pytest -q -ra tests", Expect(skip="the suite itself: .ci/run runs it verbatim "
                                                  "(test_ci_runs_the_readme_suite_command)")),
    (INSTALL + r"&& zablab test", Expect(shorten=True)),
    (r"zablab test( --db zookeeper)?", Expect(shorten=True)),
    (r"zablab test --workload set --nemesis partition-majorities-ring,pause,clock .*",
     Expect(shorten=True)),
    (r"zablab test --backend netns .*", Expect(shorten=True)),
    (r"zablab test --workload election .*", Expect(shorten=True)),
    (r"zablab test --nodes 3 --workload set .*--bug commit-without-quorum\"", Expect(exit=1,
     output=r"acknowledged adds? (was|were) lost")),
    (r"zablab analyze", Expect()),
    (r"zablab serve", Expect(background=8080)),
    (r"zablab cluster up --nodes 3", Expect(output=r"127\.0\.0\.1:\d+")),
    (r"zablab cluster down", Expect()),
    (r"zablab node --port 2181 .*", Expect(background=2181)),
    (r"zablab node --config examples/zoo.cfg", Expect(background=2182)),
    (r"python -c \"from kazoo.*", Expect(output=r"b'world'")),
    (r"/usr/share/zookeeper/bin/zkCli.sh .* ls /", Expect(output=r"hello")),
    (r"echo srvr \| nc 127.0.0.1 2181", Expect(output=r"Mode: standalone")),
    (r"echo mntr \| nc 127.0.0.1 2181", Expect(output=r"zk_server_state\s+standalone")),
    (r"zablab check store/zablab-register/\*/history.jsonl --model zk-register", Expect()),
    (r"zablab check store/zablab-register/\*/nodes --checker zab", Expect()),
    (r"zablab sim --seed 3 --nodes 3 --trace sim-trace.jsonl", Expect()),
    (r"zablab check sim-trace.jsonl --checker zab", Expect()),
    (r"zablab check examples/register-invalid.jsonl .*", Expect(exit=1)),
    (r"zablab check examples/\*.jsonl --model cas-register", Expect(exit=1)),
    (r"zablab check examples/.*", Expect()),
    (r"zablab sim --seed 30 --bug diff-without-trunc --log", Expect(exit=1,
     output=r"replay")),
    (r"zablab sim --protocol paxos .*", Expect(exit=1, output=r"primary")),
    (r"zablab sim --seed 2 --election smallest-id", Expect(exit=1, output=r"lost write")),
    (r"zablab sim --replay store/sim/seed-30.json --html seed-30.html", Expect(exit=1,
     output=r"diagram: seed-30.html")),
    (r"zablab sim --search dfs --bug commit-without-quorum .*", Expect(exit=1, output=r"replay:")),
    (r"zablab sim --search dfs --max-depth 70 .*", Expect(output=r"no violation")),
    (r"zablab sim --workload register --seed 11 --bug commit-without-quorum", Expect(exit=1,
     output=r"linearizab")),
    (r"zablab sim --workload \w+ --seeds \d+.*", Expect()),
    (r"zablab sim --seeds .*", Expect()),
    (r"zablab lab list", Expect(output=r"znode")),
    (r"zablab lab start znode w", Expect()),
    (r"zablab lab start fle f", Expect()),
    (r"zablab lab start bughunt b", Expect()),
    (r"zablab lab start paxos p", Expect()),
    (r"zablab lab start zab z", Expect()),
    (r"zablab lab test znode --dir w", Expect(exit=1, output=r"not implemented")),
]


def expectation(cmd: str) -> Expect:
    for pattern, exp in EXPECT:
        if re.fullmatch(pattern, cmd):
            return exp
    raise AssertionError(
        f"README shows a command the README test does not know: {cmd!r} — add it to EXPECT"
    )


COMMANDS = readme_commands(README.read_text())


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """A fresh clone of the committed tree, as a new user gets it."""
    ws = tmp_path_factory.mktemp("readme") / "zablab"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(ws)], check=True)
    servers: list[subprocess.Popen] = []
    yield ws, servers
    for p in servers:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
    venv = ws / ".venv" / "bin" / "zablab"
    if venv.exists():
        subprocess.run([str(venv), "cluster", "down"], cwd=ws, capture_output=True, timeout=120)
    for data_dir in DATA_DIRS:  # the README's servers keep their data where it says
        shutil.rmtree(data_dir, ignore_errors=True)


def wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("cmd", COMMANDS)
def test_readme_command(cmd, clone):
    ws, servers = clone
    exp = expectation(cmd)
    if exp.skip:
        pytest.skip(exp.skip)
    run = cmd + (" " + SHORT if exp.shorten else "")
    env = dict(os.environ)
    venv_bin = ws / ".venv" / "bin"
    env["PATH"] = f"{venv_bin}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(ws / ".venv")
    if exp.background is not None:
        p = subprocess.Popen(
            ["bash", "-c", run], cwd=ws, env=env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        servers.append(p)
        wait_port(exp.background)
        return
    res = subprocess.run(
        ["bash", "-c", run], cwd=ws, env=env, capture_output=True, text=True, timeout=900
    )
    codes = exp.exit if isinstance(exp.exit, tuple) else (exp.exit,)
    out = res.stdout + res.stderr
    assert res.returncode in codes, f"{run}\nexit {res.returncode}, expected {codes}\n{out[-3000:]}"
    if exp.output:
        assert re.search(exp.output, out), f"{run}: output lacks /{exp.output}/\n{out[-3000:]}"


def test_every_readme_command_is_known():
    for cmd in COMMANDS:
        expectation(cmd)


def test_ci_runs_the_readme_suite_command():
    suite = [c for c in COMMANDS if "pytest" in c]
    assert len(suite) == 1, suite
    ci = (ROOT / ".ci" / "run").read_text()
    tail = suite[0].split("&& python3 -m venv", 1)[1]
    assert "python3 -m venv" + tail in ci, ".ci/run must run README's test command verbatim"


