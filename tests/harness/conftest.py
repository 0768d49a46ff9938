"""Fixtures for the harness tests: an isolated store and runtime dir, and a leak check."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

JAVA_OK = shutil.which("java") is not None and os.path.exists("/usr/share/java/zookeeper.jar")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def runtime_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """State files of this test only, so the leak check sees just what the test made."""
    d = tmp_path / "runtime"
    d.mkdir()
    monkeypatch.setenv("ZABLAB_RUNTIME_DIR", str(d))
    return d


def descendants() -> set[int]:
    try:
        return {
            p.pid
            for p in psutil.Process().children(recursive=True)
            if p.status() != psutil.STATUS_ZOMBIE
        }
    except psutil.NoSuchProcess:
        return set()


def procs_under(path: str) -> list[psutil.Process]:
    """Processes whose command line or working directory names `path`."""
    out = []
    for p in psutil.process_iter(["pid", "cmdline", "cwd"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if path in cmd or (p.info["cwd"] or "").startswith(path):
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def lazy_mounts() -> set[tuple[str, str]]:
    """The lose-unfsynced nemesis' FUSE mounts, in every mount namespace on the machine, that
    this process may have made: those whose daemon is one of its descendants or has died (a
    mount another test run on the machine is using is none of this test's business)."""
    from zablab.harness.faults.lazyfs.control import mounts

    mine = descendants()
    found = set()
    for ns, path in mounts():
        daemons = {p.pid for p in procs_under(path)}
        if not daemons or daemons & mine:
            found.add((ns, path))
    return found


@pytest.fixture
def no_leaks(runtime_dir: Path) -> Iterator[Path]:
    """Fails the test if it leaves child processes, FUSE mounts or state files behind; kills
    and detaches them anyway."""
    before = descendants()
    mounted = lazy_mounts()
    yield runtime_dir
    left_mounts = lazy_mounts() - mounted
    left = descendants() - before
    # kazoo closes sessions in background threads; give stray children a moment
    for pid in left:
        try:
            psutil.Process(pid).wait(5)
        except (psutil.NoSuchProcess, psutil.TimeoutExpired):
            pass
    left = {p for p in descendants() - before}
    states = list(runtime_dir.glob("*.json"))
    for pid in left:
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            pass
    if left_mounts:
        from zablab.harness.faults.lazyfs.control import detach

        for _, path in left_mounts:
            detach(path)
    assert not left, f"processes left behind: {left}"
    assert not left_mounts, f"FUSE mounts left behind: {left_mounts}"
    assert not states, f"state files left behind: {states}"


needs_zookeeper = pytest.mark.skipif(
    not JAVA_OK, reason="Apache ZooKeeper (Debian package) not installed"
)


def assert_valid(results: dict) -> None:
    """Every checker in a results.json tree is valid."""
    import json

    bad = []

    def walk(r: dict) -> None:
        if r.get("children"):
            for c in r["children"]:
                walk(c)
        elif r.get("valid") is not True:
            bad.append(r)

    walk(results)
    assert not bad, json.dumps(bad)[:3000]
