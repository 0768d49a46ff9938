"""The lab's fenced store, to run by hand: `python -m zablab.labs.election.fenced_store`
prints its address and every write it accepts or refuses, until Ctrl-C.

The service itself lives in `zablab.harness.fenced_store` (the election workload of
`zablab test` uses it too); this module is the student's way to poke at it.
"""

from __future__ import annotations

import time

from zablab.harness.fenced_store import FencedStore, StoreClient

__all__ = ["FencedStore", "StoreClient", "main"]


def main() -> None:
    with FencedStore() as store:
        host, port = store.address
        print(f"fenced store on {host}:{port} (Ctrl-C to stop)", flush=True)
        shown = 0
        try:
            while True:
                time.sleep(0.2)
                for op in store.log[shown:]:
                    verdict = "accepted" if op.type == "ok" else "REFUSED (stale token)"
                    print(
                        f"{op.time / 1e9:8.3f} s  {op.process}: token {op.extra.get('token')}"
                        f" {verdict}",
                        flush=True,
                    )
                shown = len(store.log)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
