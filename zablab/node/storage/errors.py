"""The one error storage raises for damaged data: the server must refuse to start on it."""

from __future__ import annotations

from zablab.errors import UserError


class CorruptStorage(UserError):
    """Damage that is not a torn tail: silently skipping it could lose acknowledged writes."""

    def __init__(self, file: str, offset: int, reason: str) -> None:
        self.file = file
        self.offset = offset
        self.reason = reason
        super().__init__(
            f"corrupt storage in {file} at byte offset {offset}: {reason}; "
            "restore the data directory from a replica or a backup "
            "(or move that file away to start without it, losing what it held)"
        )
