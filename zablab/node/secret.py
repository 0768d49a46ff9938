"""The ensemble's shared secret, which peers prove they know before they may join (handshake.py).

From the environment (ZABLAB_ENSEMBLE_SECRET) first, else from the file zoo.cfg names in
`zablab.secretFile`, else a built-in default that anyone who has read this file knows: fine on
a laptop lab, not on machines others can reach, so a node on it says so once at start.
"""

from __future__ import annotations

import logging
import os

from zablab.errors import UserError

DEFAULT_SECRET = b"zablab-ensemble"
SECRET_ENV = "ZABLAB_ENSEMBLE_SECRET"

log = logging.getLogger("zablab.node")


def ensemble_secret(secret_file: str = "") -> bytes:
    env = os.environ.get(SECRET_ENV, "")
    if env:
        return env.encode()
    if secret_file:
        try:
            with open(secret_file, "rb") as f:
                text = f.read().strip()
        except OSError as exc:
            raise UserError(
                f"cannot read zablab.secretFile {secret_file}: {exc.strerror}; fix the path."
            ) from None
        if not text:
            raise UserError(f"zablab.secretFile {secret_file} is empty; write a secret into it.")
        return text
    log.warning(
        "this ensemble runs on the built-in default secret, so anyone who can reach its "
        "quorum ports can join it; set %s (the same on every member) or zablab.secretFile "
        "in zoo.cfg",
        SECRET_ENV,
    )
    return DEFAULT_SECRET
