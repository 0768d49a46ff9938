"""The Paxos server modes the end-to-end runs cover, and how each is switched on.

Every run over a real ensemble (kazoo's suite, `zablab test`) is parametrised over MODES, so a
new mode is one more name in it; `deltas` is the replica's default and needs no setting.
"""

from __future__ import annotations

MODES = ("deltas", "commands")


def zoo_cfg(mode: str) -> str:
    """The zoo.cfg lines of a Paxos ensemble in `mode`."""
    extra = "" if mode == "deltas" else f"zablab.paxos.mode={mode}\n"
    return "zablab.protocol=paxos\n" + extra


def harness_flags(mode: str, via: str = "--protocol") -> list[str]:
    """`zablab test` flags for a Paxos cluster in `mode`, through its own `--protocol` flag or
    through `--db-args`, the flags every `zablab node` gets (both must work). A mode other
    than the default is assumed to be the node flag `--paxos-mode`."""
    node = [] if mode == "deltas" else ["--paxos-mode", mode]
    if via == "--db-args":
        return ["--db-args", " ".join(["--protocol", "paxos", *node])]
    return ["--protocol", "paxos", *node]
