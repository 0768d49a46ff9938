"""Four-letter words on the client port, as ZooKeeper 3.8 answers them (text renderings of
monitor.py's data).

`4lw.commands.whitelist` is honoured when set: a word off the list gets ZooKeeper's refusal
line. Unset, every word is served (ZooKeeper's default serves srvr only): a deliberate
difference so that labs and scripts work without configuration.

The version line claims ZooKeeper 3.8 compatibility because kazoo parses `zookeeper.version`
from `envi` to decide which features the server has.
"""

from __future__ import annotations

from . import monitor
from .monitor import VERSION, ServerView

__all__ = ["FOUR_LETTER_WORDS", "VERSION", "allowed", "four_letter"]

WORDS = (
    "ruok",
    "srvr",
    "stat",
    "mntr",
    "envi",
    "isro",
    "conf",
    "cons",
    "dump",
    "wchs",
    "srst",
    "crst",
    "dirs",
    "wchc",
    "wchp",
    "gtmk",
    "stmk",
    "hash",
    "wevs",
)
FOUR_LETTER_WORDS = frozenset(w.encode() for w in WORDS)


def allowed(core: ServerView, word: str) -> bool:
    whitelist = core.options.four_letter_whitelist
    return whitelist is None or "*" in whitelist or word in whitelist


def four_letter(core: ServerView, word: str, asking: int | None = None) -> str:
    """The answer to `word`; `asking` is the connection that sent it (cons and stat list it,
    as ZooKeeper does)."""
    if not allowed(core, word):
        return f"{word} is not executed because it is not in the whitelist.\n"
    if word == "ruok":
        return "imok"
    if word == "srvr":
        return monitor.srvr_text(core, clients=False)
    if word == "stat":
        return monitor.srvr_text(core, clients=True, asking=asking)
    if word == "mntr":
        return monitor.mntr_text(core)
    if word == "envi":
        env = monitor.environment(core)
        return "Environment:\n" + "".join(f"{k}={v}\n" for k, v in env.items())
    if word == "isro":
        return "rw"
    if word == "conf":
        return monitor.conf_text(core)
    if word == "cons":
        lines = [monitor.connection_line(c, False, asking) for c in core.conns.values()]
        return "".join(f"{line}\n" for line in lines) + "\n"
    if word == "dump":
        return monitor.dump_text(core)
    if word == "wchs":
        return monitor.wchs_text(core)
    if word == "wchc":
        return monitor.wchc_text(core)
    if word == "wchp":
        return monitor.wchp_text(core)
    if word == "hash":
        return monitor.hash_text(core)
    if word == "dirs":
        d = monitor.dirs(core)
        return f"datadir_size: {d['datadir_size']}\nlogdir_size: {d['logdir_size']}\n"
    if word == "wevs":  # zablab's own: watch events delivered per session since start
        return "".join(
            f"0x{sid & 0xFFFFFFFFFFFFFFFF:x}\t{n}\n"
            for sid, n in sorted(core.stats.wakeups.items())
        )
    if word == "srst":
        core.stats.reset()
        return "Server stats reset.\n"
    if word == "crst":
        for c in core.conns.values():
            c.reset_stats()
        return "Connection stats reset.\n"
    # gtmk/stmk: ZooKeeper's request-trace mask; zablab has no request trace log
    return f"{word} is not supported by zablab.\n"
