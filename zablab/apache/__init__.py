"""Running real Apache ZooKeeper (Debian package) next to zablab, for comparison.

`classpath` and `config` are pure functions so the harness can render the same command line and
zoo.cfg for remote nodes; `local` runs one server on this machine for tests and benchmarks.
"""

from zablab.apache.classpath import cli_command, find_java, server_classpath, server_command
from zablab.apache.config import Member, ensemble, myid_text, zoo_cfg
from zablab.apache.fourletter import four_letter
from zablab.apache.local import LocalZooKeeper

__all__ = [
    "LocalZooKeeper",
    "Member",
    "cli_command",
    "ensemble",
    "find_java",
    "four_letter",
    "myid_text",
    "server_classpath",
    "server_command",
    "zoo_cfg",
]
