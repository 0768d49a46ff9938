"""The availability checker flags runs where ops stopped succeeding long after a heal, or with no
fault at all, and passes runs that recover within the bound."""

from __future__ import annotations

from zablab.checkers.availability import check_availability
from zablab.history.jsonl import Op

S = 1_000_000_000


class H:
    """A history builder: client ops that complete ok at given seconds, nemesis faults."""

    def __init__(self) -> None:
        self.ops: list[Op] = []

    def _add(self, t: float, typ: str, process, f: str, value=None, **extra) -> None:
        self.ops.append(Op(len(self.ops), int(t * S), typ, process, f, value, extra))

    def oks(self, start: float, end: float, step: float = 0.5, process: int = 0) -> H:
        t = start
        while t < end:
            self._add(t, "invoke", process, "write", 1)
            self._add(t + 0.01, "ok", process, "write", 1)
            t += step
        return self

    def fault(
        self, start: float, end: float, f: str = "kill", stop: str = "restart", value=None
    ) -> H:
        self._add(start, "invoke", "nemesis", f)
        self._add(start + 0.01, "info", "nemesis", f, value or ["n1"])
        self._add(end, "invoke", "nemesis", stop)
        self._add(end + 0.01, "info", "nemesis", stop, ["n1"])
        return self

    def failing(self, start: float, end: float, process: int = 1) -> H:
        """Ops that keep timing out: the run goes on, nothing succeeds."""
        t = start
        while t < end:
            self._add(t, "invoke", process, "acquire")
            self._add(t + 3, "info", process, "acquire", error="LockTimeout")
            t += 3.1
        return self

    def history(self) -> list[Op]:
        return sorted(self.ops, key=lambda o: o.time)


def test_a_healthy_run_with_faults_is_available():
    ops = H().oks(0, 16).fault(5, 10).oks(16, 40).history()
    r = check_availability(ops, session_timeout=10)
    assert r.valid is True, r.details
    assert r.details["faults"][0]["recovered-after"] < 1


def test_no_success_long_after_a_heal_is_flagged():
    # the lock wedge: ops stop at the kill, the fault heals at 21 s, nothing succeeds until 45 s
    ops = H().oks(0, 16.4).fault(16.4, 21.4).failing(16.4, 45).oks(45, 46).history()
    r = check_availability(ops, session_timeout=10)
    assert r.valid == "unknown"
    assert "21.4" in r.details["reason"] and "bound 20 s" in r.details["reason"]
    assert r.details["longest-stretch"]["seconds"] > 28


def test_a_stretch_without_any_fault_is_flagged():
    ops = H().oks(0, 5).failing(5, 40).oks(40, 41).history()
    r = check_availability(ops, session_timeout=10)
    assert r.valid == "unknown"
    assert "no client op succeeded for 35" in r.details["reason"]


def test_never_recovering_until_the_end_is_flagged():
    ops = H().oks(0, 10).fault(10, 15).failing(10, 60).history()
    r = check_availability(ops, session_timeout=10)
    assert r.valid == "unknown"
    assert r.details["faults"][0]["recovered-after"] is None


def test_unavailable_during_a_fault_is_allowed():
    # a partition with no majority side: nothing succeeds until it heals, then all is well
    no_quorum = {"shape": "halves", "quorum": False}  # as the nemesis describes it
    h = H().oks(0, 5).fault(5, 30, "start-partition", "stop-partition", no_quorum)
    ops = h.failing(5, 30).oks(31, 40).history()
    r = check_availability(ops, session_timeout=10)
    assert r.valid is True
    assert "no node reached a majority" in r.details["faults"][0]["note"]


def test_max_unavailable_changes_the_bound():
    ops = H().oks(0, 5).failing(5, 12).oks(12, 20).history()
    assert check_availability(ops, session_timeout=10).valid is True
    assert check_availability(ops, bound=5).valid == "unknown"


def test_no_successful_op_is_unknown():
    assert check_availability(H().failing(0, 20).history()).valid == "unknown"
    assert check_availability([]).valid == "unknown"


def test_short_sessions_still_allow_the_cluster_its_own_recovery():
    """With 1.5 s sessions, two session timeouts (3 s) is less than an election and a restarted
    JVM take: the default bound is at least 10 s, and a wedge past it is still flagged."""
    recovers = H().oks(0, 5).fault(5, 6).failing(5, 13).oks(13, 20).history()  # 7 s after heal
    assert check_availability(recovers, session_timeout=1.5).valid is True
    wedged = H().oks(0, 5).fault(5, 6).failing(5, 25).oks(25, 26).history()  # 19 s after heal
    r = check_availability(wedged, session_timeout=1.5)
    assert r.valid == "unknown" and "bound 10 s" in r.details["reason"], r.details
