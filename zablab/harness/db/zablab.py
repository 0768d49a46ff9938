"""The zablab server itself: `python -m zablab node --config zoo.cfg`, plus its ZAB trace."""

from __future__ import annotations

import shlex
import sys

from zablab.harness.backends.base import Node
from zablab.harness.db.base import DB


class ZablabDB(DB):
    name = "zablab"
    log_name = "zablab-node.log"

    def trace_path(self, node: Node) -> str:
        return f"{node.workdir}/trace.jsonl"

    def command(self, node: Node) -> str:
        python = str(node.meta.get("python") or sys.executable)
        cmd = (
            f"{shlex.quote(python)} -m zablab node --config {shlex.quote(self.config_path(node))}"
            f" --trace {shlex.quote(self.trace_path(node))}"
        )
        if self.args:
            cmd += f" {self.args}"
        return cmd

    def fetch_paths(self, node: Node) -> list[str]:
        return [self.log_path(node), self.config_path(node), self.trace_path(node)]
