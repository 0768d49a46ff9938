"""Four-letter-word client (ruok, srvr, envi, ...) used to probe either server."""

from __future__ import annotations

import socket


def four_letter(host: str, port: int, word: str, *, timeout: float = 2.0) -> str:
    """Send one four-letter word and return everything the server writes before closing."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(word.encode("ascii"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def is_serving(host: str, port: int, *, timeout: float = 1.0) -> bool:
    """True once `srvr` reports a mode: `ruok` says imok before ZooKeeper serves requests."""
    try:
        return "Mode: " in four_letter(host, port, "srvr", timeout=timeout)
    except OSError:
        return False
