"""A queue of sequential children: enqueue creates, dequeue deletes the oldest it can win."""

from __future__ import annotations

import random
from typing import Any

from kazoo.exceptions import NoNodeError

from zablab.checkers.result import Result
from zablab.harness.clients.client import Client, Fail
from zablab.harness.workloads.base import ROOT, Workload, dec, enc, ensure
from zablab.history.jsonl import Op


class QueueWorkload(Workload):
    name = "queue"
    checker = "total-queue (no duplicates, nothing lost or invented)"
    reads = frozenset()
    path = f"{ROOT}/queue"

    def setup(self, client: Client) -> None:
        ensure(client, self.path)

    def next_op(self, rng: random.Random, process: int) -> tuple[str, Any]:
        return ("enqueue", self.unique()) if rng.random() < 0.6 else ("dequeue", None)

    def _dequeue(self, client: Client) -> Any:
        zk = client.zk
        children = sorted(client.wait(zk.get_children_async(self.path)))
        for c in children:
            p = f"{self.path}/{c}"
            try:
                data, _ = client.wait(zk.get_async(p))
            except NoNodeError:
                continue
            try:
                client.wait(zk.delete_async(p))
            except NoNodeError:
                continue
            except Exception as exc:
                # the delete may have happened: name the element so the check can tell
                exc.zablab_extra = {"element": dec(data)}  # type: ignore[attr-defined]
                raise
            return dec(data)
        raise Fail("empty")

    def invoke(self, client: Client, f: str, value: Any) -> tuple[Any, dict[str, Any]]:
        if f == "enqueue":
            client.wait(client.zk.create_async(f"{self.path}/q-", enc(value), sequence=True))
            return value, {}
        if f == "dequeue":
            return self._dequeue(client), {}
        if f == "drain":
            out: list[Any] = []
            while True:
                try:
                    out.append(self._dequeue(client))
                except Fail:
                    return out, {}
                except Exception as exc:
                    # what this drain removed for sure before it crashed
                    exc.zablab_extra = {**getattr(exc, "zablab_extra", {}), "elements": out}  # type: ignore[attr-defined]
                    raise
        raise ValueError(f)

    def final_ops(self) -> list[tuple[str, Any]]:
        return [("drain", None)]

    def final_once(self) -> bool:
        return True

    def check(self, ops: list[Op]) -> Result:
        from zablab.checkers.workloads import check_queue

        # _dequeue names the element whenever its delete may have happened
        return check_queue(ops, named=True)
