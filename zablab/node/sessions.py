"""Session table of the primary: expiry in tick-sized buckets, as ZooKeeper's ExpiryQueue.

Time is passed in (milliseconds), so the simulator and tests drive expiry with a virtual clock.
A session expires at the first bucket boundary after `now + timeout`; touching it moves it to a
later bucket. Expired sessions are turned into closeSession txns by the server.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

# A fixed secret, as ZooKeeper's superSecret: any replica can check any session's password.
_SECRET = b"zablab-session-secret"


def password_for(session_id: int) -> bytes:
    return hashlib.sha256(_SECRET + struct.pack(">q", session_id)).digest()[:16]


@dataclass(slots=True)
class Session:
    id: int
    timeout: int
    expires: int = 0
    closing: bool = False


class SessionTracker:
    def __init__(self, tick_ms: int, server_id: int = 0, now_ms: int = 0) -> None:
        self.tick = max(1, tick_ms)
        self.sessions: dict[int, Session] = {}
        self.buckets: dict[int, set[int]] = {}
        # ZooKeeper's layout: server id in the top byte, a time-derived counter below
        base = ((now_ms << 24) & ((1 << 64) - 1)) >> 8
        self._next = (base | ((server_id & 0xFF) << 56)) & ((1 << 64) - 1)
        if self._next >= 1 << 63:
            self._next -= 1 << 64
        if self._next == 0:
            self._next = 1

    def _bucket(self, t: int) -> int:
        return (t // self.tick + 1) * self.tick

    def next_id(self) -> int:
        sid = self._next
        self._next += 1
        return sid

    def add(self, sid: int, timeout: int, now: int) -> Session:
        s = self.sessions.get(sid)
        if s is None:
            s = self.sessions[sid] = Session(sid, timeout)
        else:
            s.timeout = timeout
        self.touch(sid, now)
        return s

    def touch(self, sid: int, now: int, timeout: int | None = None) -> bool:
        """Push expiry out; False if the session is unknown or already closing."""
        s = self.sessions.get(sid)
        if s is None or s.closing:
            return False
        t = self._bucket(now + (s.timeout if timeout is None else timeout))
        if t != s.expires:
            if s.expires:
                b = self.buckets.get(s.expires)
                if b is not None:
                    b.discard(sid)
                    if not b:
                        del self.buckets[s.expires]
            s.expires = t
            self.buckets.setdefault(t, set()).add(sid)
        return True

    def set_closing(self, sid: int) -> None:
        s = self.sessions.get(sid)
        if s is not None:
            s.closing = True

    def remove(self, sid: int) -> None:
        s = self.sessions.pop(sid, None)
        if s is not None and s.expires:
            b = self.buckets.get(s.expires)
            if b is not None:
                b.discard(sid)
                if not b:
                    del self.buckets[s.expires]

    def expired(self, now: int) -> list[int]:
        """Sessions whose bucket has passed; they are marked closing and not returned twice."""
        out: list[int] = []
        for t in sorted(b for b in self.buckets if b <= now):
            for sid in sorted(self.buckets.pop(t)):
                s = self.sessions.get(sid)
                if s is not None and not s.closing:
                    s.closing = True
                    s.expires = 0
                    out.append(sid)
        return out

    def next_deadline(self) -> int | None:
        return min(self.buckets) if self.buckets else None

    def check(self, sid: int) -> bool:
        s = self.sessions.get(sid)
        return s is not None and not s.closing
