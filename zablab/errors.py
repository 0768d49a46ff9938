"""Errors a user can cause; the CLI prints them as one line instead of a traceback."""


class UserError(Exception):
    """Bad option, malformed input, unreachable host: the message names cause and fix."""

    exit_code = 255
