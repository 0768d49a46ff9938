"""A data directory belongs to one node: a second one on it exits 255 naming the holder."""

from __future__ import annotations

import subprocess
import sys

from zablab.node.launcher import launch_node


def test_second_node_on_a_data_dir_refuses_with_one_line(tmp_path):
    data = str(tmp_path / "data")
    first = launch_node(data, fsync=False)
    try:
        second = subprocess.run(
            [sys.executable, "-m", "zablab", "node", "--data-dir", data, "--port", "0"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 255
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert data in lines[0] and f"pid {first.proc.pid}" in lines[0]
        assert first.alive()
    finally:
        first.stop()
    # the lock dies with its holder: the directory is free again
    again = launch_node(data, fsync=False)
    again.stop()
