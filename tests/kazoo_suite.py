"""Run kazoo's own test suite (twelve modules, through tests/kazoo_plugin.py) against servers.

Shared by the standalone comparison (tests/compat) and the ensemble run (tests/node).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODULES = (
    "test_client",
    "test_connection",
    "test_lock",
    "test_watchers",
    "test_cache",
    "test_lease",
    "test_queue",
    "test_barrier",
    "test_partitioner",
    "test_counter",
    "test_party",
    "test_election",
)
# For the default suite on a second protocol: every module but the three slowest (partitioner,
# watchers, cache: half of the suite's time), so recipes, sessions and connections are covered.
SUBSET = tuple(m for m in MODULES if m not in ("test_partitioner", "test_watchers", "test_cache"))


@dataclass
class SuiteRun:
    """Outcome per test id (`Class::test`): passed, failed, error or skipped."""

    outcomes: dict[str, str]
    output: str

    def with_outcome(self, outcome: str) -> set[str]:
        return {t for t, o in self.outcomes.items() if o == outcome}


def start_suite(
    hosts: str, junit: Path, per_test_timeout: int = 120, modules: tuple[str, ...] = MODULES
) -> subprocess.Popen[str]:
    env = dict(os.environ, ZABLAB_KAZOO_HOSTS=hosts)
    # kazoo's tests sleep longer and read ZOOKEEPER_VERSION when CI is set; keep runs alike.
    env.pop("CI", None)
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tests.kazoo_plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--timeout",
        str(per_test_timeout),
        f"--junitxml={junit}",
        "--pyargs",
        *(f"kazoo.tests.{m}" for m in modules),
    ]
    return subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def parse_junit(path: Path) -> dict[str, str]:
    outcomes: dict[str, str] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        ident = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
        outcomes[ident] = outcome
    return outcomes


def run_suites(
    hosts: dict[str, str], timeout: float = 900, modules: tuple[str, ...] = MODULES
) -> dict[str, SuiteRun]:
    """Run the suite against several servers at once (the tests mostly wait on the network)."""
    with tempfile.TemporaryDirectory(prefix="zablab-kazoo-") as tmp:
        procs = {}
        try:
            for name, h in hosts.items():
                junit = Path(tmp) / f"{name}.xml"
                procs[name] = (start_suite(h, junit, modules=modules), junit)
            runs = {}
            for name, (proc, junit) in procs.items():
                output, _ = proc.communicate(timeout=timeout)
                outcomes = parse_junit(junit) if junit.exists() else {}
                runs[name] = SuiteRun(outcomes, output)
            return runs
        finally:
            for proc, _ in procs.values():
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


# Against standalone Apache ZooKeeper 3.8 with the deselection list, all 235 selected tests pass;
# fewer means the plugin or the deselection list broke, not that a server regressed.
MIN_PASSED = 230


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])
