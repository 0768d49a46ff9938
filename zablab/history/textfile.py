"""A history file as numbered text lines, with one clear error for each way it can be unreadable.

Every reader goes through here so that a binary file, a wrong encoding, a directory, a missing
or unreadable file all end as one UserError naming the file (and the line) and what to do,
never as a traceback or a verdict.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from zablab.errors import UserError

_SNIFF = 8192


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes; a missing file, a directory or a permission problem is a UserError."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{p}: no such file; check the path") from None
    except IsADirectoryError:
        raise UserError(
            f"{p}: a directory, where a history file is expected; name a file in it"
        ) from None
    except PermissionError:
        raise UserError(f"{p}: permission denied; make it readable or copy it") from None
    except OSError as exc:
        raise UserError(f"{p}: cannot read ({exc.strerror})") from None


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.start + 1].hex()
        raise UserError(
            f"{where}: not UTF-8 text (byte 0x{bad} at column {exc.start + 1}); "
            "histories are UTF-8: convert the file (iconv -t utf-8) or check it is a history"
        ) from None


def text_lines(path: str | Path) -> Iterator[tuple[int, str, bool]]:
    """(line number, text without the newline, whether the line ended with a newline).

    The last flag lets readers tell a line cut short by a writer that stopped mid-line.
    """
    data = read_bytes(path)
    if b"\0" in data[:_SNIFF]:
        raise UserError(
            f"{path}: a binary file, not a history; give a JSONL, EDN or Jepsen log history"
        )
    for lineno, raw in enumerate(data.splitlines(keepends=True), 1):
        ended = raw.endswith((b"\n", b"\r"))
        yield lineno, _decode(raw, f"{path}:{lineno}").rstrip("\r\n"), ended


def read_text(path: str | Path) -> str:
    """The whole file as text, with the same errors as `text_lines`."""
    return "\n".join(line for _, line, _ in text_lines(path))
