"""Database adapters: how to install, start, break and inspect one system under test."""

from __future__ import annotations

from zablab.errors import UserError
from zablab.harness.db.base import DB

DBS = ("zablab", "zookeeper")


def get_db(name: str, **options: object) -> DB:
    if name == "zookeeper":
        from zablab.harness.db.zookeeper import ZooKeeperDB

        return ZooKeeperDB(**options)  # type: ignore[arg-type]
    if name == "zablab":
        from zablab.harness.db.zablab import ZablabDB

        return ZablabDB(**options)  # type: ignore[arg-type]
    raise UserError(f"unknown --db {name!r}; choose one of: {', '.join(DBS)}.")
