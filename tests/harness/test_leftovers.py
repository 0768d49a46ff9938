"""A crashed run's processes and dirs are cleaned up by the next run; live runs are left alone."""

from __future__ import annotations

import subprocess
import sys

import psutil

from zablab.harness import leftovers


def test_cleanup_kills_processes_of_a_dead_owner(runtime_dir, tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "pass"])
    owner.wait()
    victim = subprocess.Popen(["sleep", "600"], start_new_session=True)
    workdir = tmp_path / "work"
    workdir.mkdir()
    try:
        st = leftovers.RunState.create("test", "local")
        st.owner_pid, st.owner_start = owner.pid, 1.0  # a run whose harness died
        st.add_proc("n1", victim.pid)
        st.add_dir(str(workdir))
        notes = leftovers.cleanup(("test",))
        assert notes and "1 processes" in notes[0]
        assert victim.wait(5) is not None
        assert not workdir.exists()
        assert not list(runtime_dir.glob("*.json"))
    finally:
        victim.kill()
        victim.wait()


def test_cleanup_leaves_a_live_run_alone(runtime_dir):
    victim = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        st = leftovers.RunState.create("test", "local")
        st.owner_pid = psutil.Process().ppid()  # alive, and not us
        st.owner_start = psutil.Process(st.owner_pid).create_time()
        st.add_proc("n1", victim.pid)
        assert leftovers.cleanup(("test",)) == []
        assert victim.poll() is None
        assert leftovers.cleanup(("test",), include_live=True)
        assert victim.wait(5) is not None
    finally:
        victim.kill()
        victim.wait()


def test_a_recycled_pid_is_not_killed(runtime_dir):
    victim = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        st = leftovers.RunState.create("test", "local")
        st.owner_pid, st.owner_start = 1, 0.0
        st.procs = [{"node": "n1", "pid": victim.pid, "start": 12345.0}]  # another process's start
        st.save()
        leftovers.cleanup(("test",))
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()
