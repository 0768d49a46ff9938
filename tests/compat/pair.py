"""Apache ZooKeeper and a zablab node side by side, both cleaned up however the test ends."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from zablab.apache import LocalZooKeeper
from zablab.node.launcher import NodeProcess, launch_node


@contextmanager
def zookeeper_and_zablab(
    zk: LocalZooKeeper, zoo_cfg: str = ""
) -> Iterator[tuple[LocalZooKeeper, NodeProcess]]:
    """Start `zk` and a node (fsync off) with the given zoo.cfg lines; stop both after."""
    base = tempfile.mkdtemp(prefix="zablab-pair-")
    node = None
    try:
        zk.start()
        node = launch_node(os.path.join(base, "data"), fsync=False, zoo_cfg=zoo_cfg)
        yield zk, node
    finally:
        zk.close()
        if node is not None:
            node.stop()
        shutil.rmtree(base, ignore_errors=True)
