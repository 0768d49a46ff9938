"""The vocabulary of the znode lab, shared by your tree, the tests and the server that runs it.

Your `znode_tree.py` imports these names; do not copy them into your file (the grader uses
this module, so a changed copy would only confuse you).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass

# ---- errors: ZooKeeper's KeeperException codes, by name -----------------------------------------

OK = "Ok"
NO_NODE = "NoNode"
NODE_EXISTS = "NodeExists"
BAD_VERSION = "BadVersion"
NOT_EMPTY = "NotEmpty"
NO_CHILDREN_FOR_EPHEMERALS = "NoChildrenForEphemerals"
BAD_ARGUMENTS = "BadArguments"
RUNTIME_INCONSISTENCY = "RuntimeInconsistency"

ERRORS = (
    OK,
    NO_NODE,
    NODE_EXISTS,
    BAD_VERSION,
    NOT_EMPTY,
    NO_CHILDREN_FOR_EPHEMERALS,
    BAD_ARGUMENTS,
    RUNTIME_INCONSISTENCY,
)


class ZNodeError(Exception):
    """A ZooKeeper error: `code` is one of the names above (NO_NODE, BAD_VERSION, ...)."""

    def __init__(self, code: str, path: str = "") -> None:
        super().__init__(f"{code} {path}".strip())
        self.code = code
        self.path = path


def validate_path(path: str) -> None:
    """ZooKeeper's path rules: absolute, no empty, "." or ".." component, no trailing "/",
    no NUL. Raises ZNodeError(BAD_ARGUMENTS) for a bad path. Given: call it, do not copy it."""
    if not isinstance(path, str) or not path.startswith("/") or "\0" in path:
        raise ZNodeError(BAD_ARGUMENTS, str(path))
    if path == "/":
        return
    for part in path[1:].split("/"):
        if part in ("", ".", ".."):
            raise ZNodeError(BAD_ARGUMENTS, path)


# ---- what a node looks like to a client --------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """ZooKeeper's Stat (without the clock times, which the server adds)."""

    czxid: int  # the zxid of the create
    mzxid: int  # the zxid of the last setData (the create's, if none)
    pzxid: int  # the zxid of the last create or delete of a child (the create's, if none)
    version: int  # how many setData calls changed the data
    cversion: int  # how many children were created or deleted
    aversion: int  # ACL changes: always 0 in this lab
    ephemeral_owner: int  # the session of an ephemeral node, 0 for a persistent one
    data_length: int
    num_children: int


# ---- what the tree sends ------------------------------------------------------------------------

NODE_CREATED = "NodeCreated"
NODE_DELETED = "NodeDeleted"
NODE_DATA_CHANGED = "NodeDataChanged"
NODE_CHILDREN_CHANGED = "NodeChildrenChanged"


@dataclass(frozen=True)
class WatchedEvent:
    """A one-shot watch fired: sent to the watcher that set it."""

    type: str  # NODE_CREATED, NODE_DELETED, NODE_DATA_CHANGED or NODE_CHILDREN_CHANGED
    path: str


@dataclass(frozen=True)
class Reply:
    """The answer to one write, sent to the session that made it. `error` is "" on success;
    on failure it is the error's name and `value` is None."""

    value: object = None
    error: str = ""


# send(destination, message): a WatchedEvent goes to a watcher, a Reply to a session.
Send = Callable[[Hashable, "WatchedEvent | Reply"], None]


# ---- multi ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Create:
    path: str
    data: bytes = b""
    ephemeral: bool = False
    sequential: bool = False


@dataclass(frozen=True)
class Delete:
    path: str
    version: int = -1


@dataclass(frozen=True)
class SetData:
    path: str
    data: bytes
    version: int = -1


@dataclass(frozen=True)
class Check:
    path: str
    version: int


MultiOp = Create | Delete | SetData | Check


@dataclass(frozen=True)
class OpResult:
    """The result of one op of a multi, as ZooKeeper's OpResult.

    op: "create" (path: the created path), "delete", "set_data" (stat: the new Stat),
    "check", or "error" (error: the name; "Ok" for an op that would have worked but was rolled
    back with the rest).
    """

    op: str
    path: str = ""
    stat: Stat | None = None
    error: str = ""
