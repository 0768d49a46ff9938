"""kazoo's own recipes (lock, election, queue, barrier, counter) against the student's tree,
served by a real zablab server over TCP. A failure names what the recipe did not see."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from zablab.labs.engine import Case

from .harness import STUDENT_FILE
from .serve import served

WAIT = 5.0  # seconds a recipe gets for what a correct tree does in milliseconds


@contextmanager
def clients(case: Case, n: int) -> Iterator[list[Any]]:
    """`n` started kazoo clients on the student's tree; stopped (sessions closed) after."""
    from kazoo.client import KazooClient

    for name in ("kazoo", "zablab.labs.znode", "zablab.node"):  # failures are re-raised below
        logging.getLogger(name).setLevel(logging.CRITICAL)
    tree_class = getattr(case.student(STUDENT_FILE), "ZNodeTree", None)
    assert tree_class is not None, f"{STUDENT_FILE} defines no class ZNodeTree"
    with served(tree_class) as (address, core), ExitStack() as stack:
        try:
            out = []
            for _ in range(n):
                zk = KazooClient(hosts=address, timeout=4.0, connection_retry={"max_tries": 3})
                try:
                    zk.start(timeout=WAIT)
                except Exception as exc:  # noqa: BLE001 - kazoo raises its own timeout types
                    raise AssertionError(f"a kazoo client could not start a session: {exc!r}") from exc
                stack.callback(_stop, zk)
                out.append(zk)
            yield out
        except Exception as exc:
            if core.errors:  # the tree's own exception says more than what kazoo saw
                first = core.errors[0]
                if isinstance(first, NotImplementedError):
                    raise first from None
                raise AssertionError(
                    f"your tree raised {type(first).__name__}: {first} while serving kazoo "
                    f"(kazoo then saw {type(exc).__name__}: {exc})"
                ) from first
            raise


def _stop(zk: Any) -> None:
    try:
        zk.stop()
        zk.close()
    except Exception:  # noqa: BLE001 - closing a client of a broken tree may fail; that is fine
        pass


def _until(cond: Callable[[], bool], seconds: float = WAIT) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def _thread(fn: Callable[..., object], *args: object) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def _acquire(lock: Any, done: threading.Event) -> None:
    if lock.acquire(timeout=3 * WAIT):
        done.set()


def kazoo_lock(case: Case) -> None:
    """kazoo's Lock: one holder at a time; a waiter gets the lock when the holder releases
    it, and when the holder's session closes (its ephemeral lock node goes, the waiter's watch
    on it fires)."""
    with clients(case, 3) as (a, b, c):
        la, lb, lc = a.Lock("/lock", "a"), b.Lock("/lock", "b"), c.Lock("/lock", "c")
        assert la.acquire(timeout=WAIT), "client a could not take a free lock"
        got_b = threading.Event()
        _thread(_acquire, lb, got_b)
        assert _until(lambda: len(la.contenders()) == 2), \
            f"b waits for the lock but the contenders are {la.contenders()}"
        assert not got_b.wait(0.3), "b took the lock while a held it"
        la.release()
        assert got_b.wait(WAIT), "a released the lock but b, waiting for it, never got it " \
            "(did deleting a's lock node fire the watch b set on it?)"
        got_c = threading.Event()
        _thread(_acquire, lc, got_c)
        assert _until(lambda: len(lc.contenders()) == 2), \
            f"c waits for the lock but the contenders are {lc.contenders()}"
        b.stop()
        assert got_c.wait(WAIT), "b's session closed but c never got the lock (was b's " \
            "ephemeral lock node deleted, and c's watch on it fired?)"


def kazoo_election(case: Case) -> None:
    """kazoo's Election: the first candidate leads; when the leader quits or its session
    closes, the next candidate in line leads; never two at once."""
    with clients(case, 3) as zks:
        leading: list[str] = []
        now = {"n": 0, "max": 0}
        gone: set[str] = set()  # candidates whose session was closed while they led
        quit_events = {name: threading.Event() for name in "abc"}
        lock = threading.Lock()

        def lead(name: str) -> None:
            with lock:
                now["n"] += 1
                now["max"] = max(now["max"], now["n"])
                leading.append(name)
            quit_events[name].wait(4 * WAIT)
            with lock:
                if name not in gone:
                    now["n"] -= 1

        elections = [zk.Election("/election", name) for zk, name in zip(zks, "abc", strict=True)]
        _thread(elections[0].run, lead, "a")
        assert _until(lambda: leading == ["a"]), f"the first candidate should lead; leaders: {leading}"
        _thread(elections[1].run, lead, "b")
        assert _until(lambda: len(elections[0].contenders()) == 2), "b never became a candidate"
        _thread(elections[2].run, lead, "c")
        assert _until(lambda: len(elections[0].contenders()) == 3), "c never became a candidate"
        quit_events["a"].set()
        assert _until(lambda: leading == ["a", "b"]), \
            f"a quit, so b (next in line) should lead; leaders so far: {leading}"
        with lock:
            gone.add("b")  # b's func still runs (kazoo cannot stop it) but b no longer leads
            now["n"] -= 1
        zks[1].stop()
        assert _until(lambda: leading == ["a", "b", "c"]), \
            f"b's session closed, so c should lead; leaders so far: {leading}"
        quit_events["c"].set()
        assert now["max"] == 1, f"{now['max']} candidates led at the same time"


def kazoo_queue(case: Case) -> None:
    """kazoo's Queue (sequential nodes, FIFO, priorities) and LockingQueue (which consumes
    an entry with a multi) between two clients."""
    with clients(case, 2) as (a, b):
        qa, qb = a.Queue("/queue"), b.Queue("/queue")
        for item in (b"1", b"2", b"3"):
            qa.put(item)
        got = [qb.get() for _ in range(3)]
        assert got == [b"1", b"2", b"3"], f"Queue gave {got}; expected FIFO [b'1', b'2', b'3']"
        assert qb.get() is None, "the Queue should be empty after three gets"
        qa.put(b"low", priority=200)
        qa.put(b"high", priority=10)
        got = [qb.get(), qb.get()]
        assert got == [b"high", b"low"], f"Queue gave {got}; the lower priority number first"
        la, lb = a.LockingQueue("/lqueue"), b.LockingQueue("/lqueue")
        la.put_all([b"x", b"y"])
        item = lb.get(timeout=WAIT)
        assert item == b"x", f"LockingQueue.get gave {item!r}; expected b'x'"
        assert lb.consume(), "LockingQueue.consume (a multi: delete the entry and its lock) failed"
        assert len(lb) == 1, f"after one consume the LockingQueue holds {len(lb)} entries; expected 1"


def kazoo_barrier(case: Case) -> None:
    """kazoo's Barrier (a waiter's exists watch fires when the barrier node goes) and
    DoubleBarrier (three clients enter together and leave together, with ephemeral nodes)."""
    with clients(case, 3) as zks:
        a = zks[0]
        barrier = a.Barrier("/barrier")
        barrier.create()
        passed = threading.Event()

        def wait_at_barrier() -> None:
            if zks[1].Barrier("/barrier").wait(3 * WAIT):
                passed.set()

        _thread(wait_at_barrier)
        assert not passed.wait(0.3), "a waiter passed the barrier while it was up"
        barrier.remove()
        assert passed.wait(WAIT), "the barrier node was deleted but the waiter never passed " \
            "(did its exists watch fire NodeDeleted?)"
        inside: list[str] = []
        left: list[str] = []

        def member(zk: Any, name: str) -> None:
            db = zk.DoubleBarrier("/double", 3)
            db.enter()
            inside.append(name)
            db.leave()
            left.append(name)

        threads = [_thread(member, zk, n) for zk, n in zip(zks, "abc", strict=True)]
        for t in threads:
            t.join(3 * WAIT)
        assert sorted(inside) == ["a", "b", "c"], f"only {inside} entered the double barrier"
        assert sorted(left) == ["a", "b", "c"], f"only {left} left the double barrier"


def kazoo_counter(case: Case) -> None:
    """kazoo's Counter: three clients add concurrently; set_data with a version makes the
    losers of a race retry, so no increment is lost."""
    with clients(case, 3) as zks:
        errors: list[BaseException] = []

        def bump(zk: Any) -> None:
            try:
                counter = zk.Counter("/counter")
                for _ in range(15):
                    counter += 1
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [_thread(bump, zk) for zk in zks]
        for t in threads:
            t.join(6 * WAIT)
        assert not errors, f"a client's Counter failed: {errors[0]!r}"
        value = zks[0].Counter("/counter").value
        assert value == 45, f"three clients added 15 each but the Counter says {value}; " \
            "a set_data with a stale version must fail with BadVersion"
