"""The znode tree: ZooKeeper's data model in one class. This is the file you edit.

Read README.md first. Every method below says what it must do; replace each
`raise NotImplementedError` with your code. You may add helper methods and classes.
Run `zablab lab test znode --dir .` to see how far you are.
"""

from __future__ import annotations

from collections.abc import Hashable

from zablab.labs.znode.api import (  # noqa: F401 - the names you will need
    BAD_ARGUMENTS,
    BAD_VERSION,
    NO_CHILDREN_FOR_EPHEMERALS,
    NO_NODE,
    NODE_CHILDREN_CHANGED,
    NODE_CREATED,
    NODE_DATA_CHANGED,
    NODE_DELETED,
    NODE_EXISTS,
    NOT_EMPTY,
    OK,
    RUNTIME_INCONSISTENCY,
    Check,
    Create,
    Delete,
    MultiOp,
    OpResult,
    Reply,
    Send,
    SetData,
    Stat,
    WatchedEvent,
    ZNodeError,
    validate_path,
)


class ZNodeTree:
    """The tree of znodes. Only "/" exists at the start (data b"", a Stat of zeros).

    The server calls one method per client request, one at a time. Reads return their result
    (or raise ZNodeError). Writes return nothing: they send their result with
    `self.send(session, Reply(value))` or `self.send(session, Reply(None, error_name))`, and
    send each fired watch with `self.send(watcher, WatchedEvent(type, path))`.
    """

    def __init__(self, send: Send) -> None:
        self.send = send
        # Your data structures: the nodes (with their Stat fields), which session owns which
        # ephemeral nodes, and the data and child watches (path -> watchers).

    # ---- reads ------------------------------------------------------------------------------

    def get_data(self, path: str, watcher: Hashable | None = None) -> tuple[bytes, Stat]:
        """The node's data and Stat. Raises ZNodeError(NO_NODE) if there is no such node.

        With a watcher (and an existing node), set a one-shot data watch: the watcher hears
        NodeDataChanged or NodeDeleted for this path, once.
        """
        raise NotImplementedError

    def exists(self, path: str, watcher: Hashable | None = None) -> Stat | None:
        """The node's Stat, or None if there is no such node.

        With a watcher, set a one-shot data watch even if the node does not exist: then the
        watcher hears NodeCreated when it is created.
        """
        raise NotImplementedError

    def get_children(self, path: str, watcher: Hashable | None = None) -> tuple[list[str], Stat]:
        """The names (not paths) of the node's children, sorted, and its Stat. Raises
        ZNodeError(NO_NODE) if there is no such node.

        With a watcher, set a one-shot child watch: NodeChildrenChanged when a child is
        created or deleted, NodeDeleted when the node itself is deleted.
        """
        raise NotImplementedError

    # ---- writes (each one is one transaction, numbered `zxid` by the server) ----------------

    def create(self, session: int, zxid: int, path: str, data: bytes = b"",
               ephemeral: bool = False, sequential: bool = False) -> None:
        """Create a node; reply with the path it got.

        Errors, checked in this order: BAD_ARGUMENTS (bad path), NO_NODE (no parent),
        NODE_EXISTS, NO_CHILDREN_FOR_EPHEMERALS (the parent is ephemeral).
        sequential: append the parent's sequence number as 10 digits ("%010d"): the number
        of children ever created under that parent. ephemeral: owned by `session`.
        The new node's czxid, mzxid and pzxid are `zxid`; the parent's cversion grows by one
        and its pzxid becomes `zxid`. Fires NodeCreated (data watches of the path), then
        NodeChildrenChanged (child watches of the parent).
        """
        raise NotImplementedError

    def delete(self, session: int, zxid: int, path: str, version: int = -1) -> None:
        """Delete a node; reply with None.

        Errors: BAD_ARGUMENTS (bad path, or "/"), NO_NODE, BAD_VERSION (version is not -1 and
        not the node's version), NOT_EMPTY. The parent's cversion grows by one and its pzxid
        becomes `zxid`. Fires NodeDeleted (data watches of the path, then child watches of the
        path, each watcher told once), then NodeChildrenChanged (child watches of the parent).
        """
        raise NotImplementedError

    def set_data(self, session: int, zxid: int, path: str, data: bytes,
                 version: int = -1) -> None:
        """Replace the data; reply with the new Stat (version + 1, mzxid = zxid).

        Errors: BAD_ARGUMENTS, NO_NODE, BAD_VERSION. Fires NodeDataChanged (data watches).
        """
        raise NotImplementedError

    def close_session(self, session: int, zxid: int) -> None:
        """The session ended: delete its ephemeral nodes (in sorted path order, each as a
        delete numbered `zxid`, with its watches), then reply with None."""
        raise NotImplementedError

    def multi(self, session: int, zxid: int, ops: list[MultiOp]) -> None:
        """Apply all of `ops` (Create, Delete, SetData, Check) or none; reply with one
        OpResult per op.

        Each op sees the effects of the ops before it. If op i fails, undo everything (the
        nodes, and the watches: none fires) and reply with OpResult("error", error=OK) for the
        ops before i, OpResult("error", error=<its error>) for op i and
        OpResult("error", error=RUNTIME_INCONSISTENCY) for the ops after it.
        On success, fire the watches of all ops, in op order, then reply.
        """
        raise NotImplementedError
