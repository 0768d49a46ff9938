"""Ports for servers a test starts on this machine.

Ports the kernel hands out for `bind(0)` come from the ephemeral range, the same range it uses
for the source ports of outgoing connections — so a port found free can be taken by some
client's connection before the server binds it. Ports are therefore drawn below that range,
checked free by binding, and never handed out twice by one process.
"""

from __future__ import annotations

import random
import socket
import threading

LOW = 20000
_given: set[int] = set()
_lock = threading.Lock()
_rng = random.SystemRandom()


def ephemeral_range() -> tuple[int, int]:
    """The kernel's range for bind(0) and outgoing connections (Linux's default elsewhere)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as fh:
            low, high = fh.read().split()[:2]
            return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """n distinct ports that were free a moment ago and lie outside the ephemeral range."""
    high = ephemeral_range()[0]
    below = high - LOW >= 1000  # else an unusual range setting: take the kernel's choice
    out: list[int] = []
    with _lock:
        for _ in range(200 * n):
            if len(out) == n:
                break
            with socket.socket() as s:
                try:
                    s.bind((host, _rng.randrange(LOW, high) if below else 0))
                except OSError:
                    continue
                port = s.getsockname()[1]
            if port not in _given:
                _given.add(port)
                out.append(port)
    if len(out) < n:
        raise OSError(f"no {n} free ports on {host}")
    return out


def free_port(host: str = "127.0.0.1") -> int:
    return free_ports(1, host)[0]
