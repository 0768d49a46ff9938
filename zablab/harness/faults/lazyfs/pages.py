"""What a crash may lose, kept apart from FUSE: the unsynced state of one file, sans-IO.

A file's durable bytes live in the backing file; everything written since its last fsync lives
here, as dirty pages over that durable view, plus the size the writer sees. A crash is "forget
this object". `floor` is the lowest size the file had since its last sync: backing bytes past
it were cut by a truncate that is not durable yet, so they read as zeros, not as stale data.

The owner passes in `durable(off, n)`, a read of the backing file, so this module does no I/O
and the page arithmetic is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

PAGE = 4096

Read = Callable[[int, int], bytes]  # pread of the backing file: (offset, length) -> bytes


class Unsynced:
    """Dirty pages and size of one file since its last fsync."""

    def __init__(self, durable_size: int, since: float = 0.0):
        self.since = since  # when the oldest unsynced change was made (the owner's clock)
        self.durable = durable_size
        self.size = durable_size
        self.floor = durable_size  # backing bytes at or past this are cut (read as zeros)
        self.pages: dict[int, bytearray] = {}
        self.written = 0

    @property
    def dirty(self) -> bool:
        return bool(self.pages) or self.size != self.durable or self.floor != self.durable

    def dirty_bytes(self) -> int:
        """Bytes written since the last sync (a crash now loses them), overwrites counted."""
        return self.written

    def _durable_view(self, durable: Read, off: int, n: int) -> bytes:
        """The bytes [off, off+n) as they are after the last sync and later truncates."""
        valid = max(0, min(n, self.floor - off))
        got = durable(off, valid) if valid else b""
        return got + bytes(n - len(got))

    def read(self, durable: Read, off: int, n: int) -> bytes:
        n = max(0, min(n, self.size - off))
        if n == 0:
            return b""
        out = bytearray(self._durable_view(durable, off, n))
        for i in range(off // PAGE, (off + n - 1) // PAGE + 1):
            page = self.pages.get(i)
            if page is None:
                continue
            lo, hi = max(off, i * PAGE), min(off + n, (i + 1) * PAGE)
            out[lo - off : hi - off] = page[lo - i * PAGE : hi - i * PAGE]
        return bytes(out)

    def write(self, durable: Read, off: int, data: bytes) -> int:
        end = off + len(data)
        pos = off
        while pos < end:
            i = pos // PAGE
            page = self.pages.get(i)
            if page is None:
                page = self.pages[i] = bytearray(self._durable_view(durable, i * PAGE, PAGE))
            lo, hi = pos - i * PAGE, min(PAGE, end - i * PAGE)
            page[lo:hi] = data[pos - off : pos - off + hi - lo]
            pos = i * PAGE + hi
        self.size = max(self.size, end)
        self.written += len(data)
        return len(data)

    def truncate(self, size: int) -> None:
        if size < self.size:
            for i in [i for i in self.pages if i * PAGE >= size]:
                del self.pages[i]
            last = self.pages.get(size // PAGE)
            if last is not None:  # bytes past the new end read as zeros if it grows again
                cut = size - (size // PAGE) * PAGE
                last[cut:] = bytes(PAGE - cut)
            self.floor = min(self.floor, size)
        self.size = size

    def flush_plan(self) -> tuple[int, Iterator[tuple[int, bytes]], int]:
        """How to make this durable: cut the backing file to the first value, write the pages
        (offset, bytes), set its size to the last value; then fsync it and drop this object."""
        size = self.size

        def pages() -> Iterator[tuple[int, bytes]]:
            for i in sorted(self.pages):
                n = min(PAGE, size - i * PAGE)
                if n > 0:
                    yield i * PAGE, bytes(self.pages[i][:n])

        return self.floor, pages(), size
