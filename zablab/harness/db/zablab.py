"""The zablab server itself: `python -m zablab node --config zoo.cfg`, plus its ZAB trace."""

from __future__ import annotations

import secrets
import shlex
import sys
from typing import Any

from zablab.harness.backends.base import Node
from zablab.harness.db.base import DB
from zablab.node.secret import SECRET_ENV


class ZablabDB(DB):
    """Every cluster gets its own ensemble secret (fresh unless given), so no node of another
    cluster, or anyone else who reaches its quorum ports, can join it on the built-in one."""

    name = "zablab"
    log_name = "zablab-node.log"

    def __init__(self, *args: Any, secret: str | None = None, protocol: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.secret = secret or secrets.token_hex(32)
        self.protocol = protocol  # zoo.cfg zablab.protocol; "": the node's default (zab)
        node_env = self.env
        self.env = lambda n: {**node_env(n), SECRET_ENV: self.secret}

    def extra_config(self, node: Node) -> dict[str, str]:
        return {"zablab.protocol": self.protocol} if self.protocol else {}

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
