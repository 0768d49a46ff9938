"""The FUSE daemon: a passthrough filesystem whose file data reaches the backing directory only
on fsync, so "crash the node and drop what was not synced" loses exactly what a power cut would.

Like Jepsen's lazyfs, only data is cached: creating, renaming and removing files pass through at
once. A file created and not synced since (nor its directory) is removed by a drop, as ext4 loses
a directory entry its journal had not committed; renames and removals stay done. Each file's unsynced state is a `pages.Unsynced`, keyed by the backing file's
(device, inode) so it survives renames and the kernel forgetting the inode. Files are opened
with direct_io and attributes are never cached, so after a drop the kernel cannot serve the
lost bytes from its own page cache.

It runs as its own process on the node (`python -m zablab.harness.faults.lazyfs.fs`), one per
data directory, with a control socket (see control.py) that drops the unsynced data on command.
Everything runs on one trio thread, so a drop is atomic with respect to file operations.
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import signal
import stat as stat_
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pyfuse3
import trio

from zablab.harness.faults.lazyfs.pages import Unsynced

FSTYPE = "zablab-lazyfs"  # the mount shows as fuse.zablab-lazyfs (leak checks look for it)

log = logging.getLogger("zablab.lazyfs")

Key = tuple[int, int]  # (st_dev, st_ino) of the backing file
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def _oserrors(fn: F) -> F:
    """An OSError from the backing filesystem is the caller's errno, not a daemon crash."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except OSError as exc:
            raise pyfuse3.FUSEError(exc.errno or errno.EIO) from None

    wrapper.__name__ = fn.__name__
    return wrapper  # type: ignore[return-value]


class LazyOps(pyfuse3.Operations):
    """The file operations; see the module docstring for what is cached and what passes."""

    enable_writeback_cache = False

    def __init__(self, backing: str, fsync_delay: float = 0.0, writeback: float = 0.0):
        super().__init__()
        self.backing = os.path.realpath(backing)
        self.fsync_delay = fsync_delay
        self.writeback = writeback  # write back data unsynced this long (0: never), as a kernel
        self.written_back = 0
        # files created and not yet synced (nor their directory): a crash removes them, as on
        # ext4 when the journal had not committed their directory entry; key -> creation time
        self.created: dict[Key, float] = {}
        self._path: dict[int, str] = {pyfuse3.ROOT_INODE: self.backing}
        self._ino: dict[Key, int] = {}
        self._next = pyfuse3.ROOT_INODE + 1
        self.unsynced: dict[Key, Unsynced] = {}
        self._fds: dict[int, tuple[int, Key]] = {}  # fh -> (backing fd, key)
        self.syncs = 0
        root = os.lstat(self.backing)
        self._ino[(root.st_dev, root.st_ino)] = pyfuse3.ROOT_INODE

    # -- bookkeeping -------------------------------------------------------------------------

    def _inode(self, path: str, st: os.stat_result) -> int:
        key = (st.st_dev, st.st_ino)
        ino = self._ino.get(key)
        if ino is None:
            ino = self._ino[key] = self._next
            self._next += 1
        self._path[ino] = path
        return ino

    def _p(self, ino: int) -> str:
        try:
            return self._path[ino]
        except KeyError:
            raise pyfuse3.FUSEError(errno.ENOENT) from None

    def _child(self, parent: int, name: bytes) -> str:
        return os.path.join(self._p(parent), os.fsdecode(name))

    def _attrs(self, path: str, st: os.stat_result | None = None) -> pyfuse3.EntryAttributes:
        st = st or os.lstat(path)
        a = pyfuse3.EntryAttributes()
        a.st_ino = self._inode(path, st)
        a.st_mode, a.st_nlink = st.st_mode, st.st_nlink
        a.st_uid, a.st_gid, a.st_rdev = st.st_uid, st.st_gid, st.st_rdev
        u = self.unsynced.get((st.st_dev, st.st_ino))
        a.st_size = u.size if u is not None else st.st_size
        a.st_blksize = 4096
        a.st_blocks = (a.st_size + 511) // 512
        a.st_atime_ns, a.st_mtime_ns, a.st_ctime_ns = st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns
        a.attr_timeout = a.entry_timeout = 0  # a drop changes sizes behind the kernel's back
        return a

    def _state(self, key: Key, fd: int) -> Unsynced:
        u = self.unsynced.get(key)
        if u is None:
            u = self.unsynced[key] = Unsynced(os.fstat(fd).st_size, time.monotonic())
        return u

    def _apply(self, fd: int, key: Key) -> None:
        """Make `key`'s unsynced state the backing file's content."""
        u = self.unsynced.get(key)
        if u is None:
            return
        floor, pages, size = u.flush_plan()
        if os.fstat(fd).st_size > floor:
            os.ftruncate(fd, floor)
        for off, data in pages:
            os.pwrite(fd, data, off)
        if os.fstat(fd).st_size != size:
            os.ftruncate(fd, size)
        if self.unsynced.get(key) is u:
            del self.unsynced[key]

    def write_back(self, older_than: float = 0.0) -> int:
        """What the kernel's flusher does: write back data dirty for `older_than` seconds or
        more (0: all of it, as sync(1)), so a later crash keeps it. Returns files written."""
        now, n = time.monotonic(), 0
        for key, t in list(self.created.items()):  # the journal commits the entries too
            if now - t >= older_than:
                del self.created[key]
        for key, u in list(self.unsynced.items()):
            if now - u.since < older_than:
                continue
            path = self._path_of(key)
            if path is None:
                continue
            try:
                fd = os.open(path, os.O_RDWR)
            except OSError:
                continue
            try:
                if os.fstat(fd).st_ino == key[1]:
                    self._apply(fd, key)
                    n += 1
            finally:
                os.close(fd)
        self.written_back += n
        return n

    def _forget_file(self, path: str) -> None:
        """`path` is about to lose its last name: its unsynced data goes with it."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat_.S_ISDIR(st.st_mode) and st.st_nlink <= 1:
            self.unsynced.pop((st.st_dev, st.st_ino), None)
            self.created.pop((st.st_dev, st.st_ino), None)

    def _moved(self, old: str, new: str) -> None:
        for ino, p in list(self._path.items()):
            if p == old or p.startswith(old + os.sep):
                self._path[ino] = new + p[len(old) :]

    # -- control -----------------------------------------------------------------------------

    def _path_of(self, key: Key) -> str | None:
        ino = self._ino.get(key)
        return self._path.get(ino) if ino is not None else None

    def drop(self) -> dict[str, int]:
        """Forget every unsynced write, and every file created since its last sync: the
        crash's effect on the disk."""
        files = sum(1 for u in self.unsynced.values() if u.dirty)
        lost = sum(u.dirty_bytes() for u in self.unsynced.values())
        self.unsynced.clear()
        removed = 0
        for key in list(self.created):
            path = self._path_of(key)
            try:
                if path is not None and os.lstat(path).st_ino == key[1]:
                    os.unlink(path)
                    removed += 1
            except OSError:
                pass
        self.created.clear()
        return {"files": files, "bytes": lost, "created": removed}

    def stats(self) -> dict[str, int]:
        return {
            "files": sum(1 for u in self.unsynced.values() if u.dirty),
            "bytes": sum(u.dirty_bytes() for u in self.unsynced.values()),
            "created": len(self.created),
            "syncs": self.syncs,
            "written_back": self.written_back,
        }

    # -- metadata: passes through ------------------------------------------------------------

    @_oserrors
    async def lookup(self, parent_inode: int, name: bytes, ctx: Any = None) -> Any:
        if name == b"..":
            path = os.path.dirname(self._p(parent_inode))
        elif name == b".":
            path = self._p(parent_inode)
        else:
            path = self._child(parent_inode, name)
        return self._attrs(path)

    async def forget(self, inode_list: Any) -> None:
        # inode numbers stay assigned for the daemon's life: the map is small and a stable
        # number keeps the kernel's view consistent across renames
        return None

    @_oserrors
    async def getattr(self, inode: int, ctx: Any = None) -> Any:
        return self._attrs(self._p(inode))

    @_oserrors
    async def setattr(self, inode: int, attr: Any, fields: Any, fh: Any, ctx: Any) -> Any:
        path = self._p(inode)
        if fields.update_size:
            st = os.lstat(path)
            key = (st.st_dev, st.st_ino)
            u = self.unsynced.get(key)
            if u is None:
                u = self.unsynced[key] = Unsynced(st.st_size, time.monotonic())
            u.truncate(attr.st_size)
        if fields.update_mode:
            os.chmod(path, stat_.S_IMODE(attr.st_mode))
        if fields.update_uid or fields.update_gid:
            os.chown(
                path,
                attr.st_uid if fields.update_uid else -1,
                attr.st_gid if fields.update_gid else -1,
            )
        if fields.update_atime or fields.update_mtime:
            st = os.lstat(path)
            os.utime(
                path,
                ns=(
                    attr.st_atime_ns if fields.update_atime else st.st_atime_ns,
                    attr.st_mtime_ns if fields.update_mtime else st.st_mtime_ns,
                ),
            )
        return self._attrs(path)

    @_oserrors
    async def mkdir(self, parent_inode: int, name: bytes, mode: int, ctx: Any) -> Any:
        path = self._child(parent_inode, name)
        os.mkdir(path, mode)
        return self._attrs(path)

    @_oserrors
    async def rmdir(self, parent_inode: int, name: bytes, ctx: Any) -> None:
        os.rmdir(self._child(parent_inode, name))

    @_oserrors
    async def unlink(self, parent_inode: int, name: bytes, ctx: Any) -> None:
        path = self._child(parent_inode, name)
        self._forget_file(path)
        os.unlink(path)

    @_oserrors
    async def rename(
        self,
        parent_old: int,
        name_old: bytes,
        parent_new: int,
        name_new: bytes,
        flags: int,
        ctx: Any,
    ) -> None:
        old, new = self._child(parent_old, name_old), self._child(parent_new, name_new)
        if flags & pyfuse3.RENAME_EXCHANGE:
            raise pyfuse3.FUSEError(errno.EINVAL)
        if os.path.lexists(new):
            if flags & pyfuse3.RENAME_NOREPLACE:
                raise pyfuse3.FUSEError(errno.EEXIST)
            if os.lstat(new) != os.lstat(old):
                self._forget_file(new)
        os.rename(old, new)
        self._moved(old, new)

    @_oserrors
    async def opendir(self, inode: int, ctx: Any) -> int:
        self._p(inode)
        return inode

    @_oserrors
    async def readdir(self, fh: int, start_id: int, token: Any) -> None:
        path = self._p(fh)
        entries = sorted(os.listdir(path))
        for i, name in enumerate(entries[start_id:], start_id):
            try:
                attrs = self._attrs(os.path.join(path, name))
            except FileNotFoundError:
                continue
            if not pyfuse3.readdir_reply(token, os.fsencode(name), attrs, i + 1):
                break

    async def releasedir(self, fh: int) -> None:
        return None

    async def fsyncdir(self, fh: int, datasync: bool) -> None:
        """The directory's entries are durable: files created in it stay after a crash."""
        d = self._path.get(fh)
        for key in list(self.created):
            path = self._path_of(key)
            if path is not None and os.path.dirname(path) == d:
                del self.created[key]

    @_oserrors
    async def statfs(self, ctx: Any) -> Any:
        v = os.statvfs(self.backing)
        s = pyfuse3.StatvfsData()
        for f in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail"):
            setattr(s, f, getattr(v, f))
        s.f_files, s.f_ffree, s.f_favail = v.f_files, v.f_ffree, v.f_favail
        s.f_namemax = v.f_namemax
        return s

    # -- data: cached until fsync ------------------------------------------------------------

    def _handle(self, path: str, fd: int) -> pyfuse3.FileInfo:
        st = os.fstat(fd)
        self._fds[fd] = (fd, (st.st_dev, st.st_ino))
        return pyfuse3.FileInfo(fh=fd, direct_io=True, keep_cache=False)

    @_oserrors
    async def open(self, inode: int, flags: int, ctx: Any) -> Any:
        path = self._p(inode)
        # O_RDWR whatever the caller asked: the durable view is read through this fd, and
        # O_APPEND is left out so that a sync's pwrite lands where it is told
        return self._handle(path, os.open(path, os.O_RDWR))

    @_oserrors
    async def create(self, parent_inode: int, name: bytes, mode: int, flags: int, ctx: Any) -> Any:
        path = self._child(parent_inode, name)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | (flags & os.O_EXCL), mode)
        info, attrs = self._handle(path, fd), self._attrs(path)
        st = os.fstat(fd)
        self.created.setdefault((st.st_dev, st.st_ino), time.monotonic())
        return info, attrs

    def _fd(self, fh: int) -> tuple[int, Key]:
        try:
            return self._fds[fh]
        except KeyError:
            raise pyfuse3.FUSEError(errno.EBADF) from None

    @_oserrors
    async def read(self, fh: int, off: int, size: int) -> bytes:
        fd, key = self._fd(fh)
        u = self.unsynced.get(key)
        if u is None:
            return os.pread(fd, size, off)
        return u.read(lambda o, n: os.pread(fd, n, o), off, size)

    @_oserrors
    async def write(self, fh: int, off: int, buf: bytes) -> int:
        fd, key = self._fd(fh)
        return self._state(key, fd).write(lambda o, n: os.pread(fd, n, o), off, bytes(buf))

    async def flush(self, fh: int) -> None:
        return None  # close(2) makes nothing durable

    async def release(self, fh: int) -> None:
        fd, _ = self._fds.pop(fh, (None, None))
        if fd is not None:
            os.close(fd)

    @_oserrors
    async def fsync(self, fh: int, datasync: bool) -> None:
        fd, key = self._fd(fh)
        if self.fsync_delay:
            await trio.sleep(self.fsync_delay)  # a slow disk: other requests go on meanwhile
        self._apply(fd, key)
        self.created.pop(key, None)  # as ext4: an fsync commits the file's directory entry
        os.fsync(fd)
        self.syncs += 1


# -- the daemon ----------------------------------------------------------------------------------


async def _control(ops: LazyOps, sock_path: str) -> None:
    """Serve the control socket: one JSON line in, one JSON line out per connection."""
    listener = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    here = os.getcwd()
    os.chdir(os.path.dirname(sock_path) or ".")  # relative bind: no 108-byte path limit
    try:
        name = os.path.basename(sock_path)
        if os.path.exists(name):
            os.unlink(name)
        await listener.bind(name)
    finally:
        os.chdir(here)
    listener.listen(8)
    while True:
        conn, _ = await listener.accept()
        with conn:
            try:
                cmd = await _serve_one(ops, conn)
            except OSError as exc:  # a client that went away must not take the daemon down
                log.warning("control connection: %s", exc)
                continue
        if cmd == "stop":
            pyfuse3.terminate()
            return


async def _serve_one(ops: LazyOps, conn: Any) -> str:
    data = b""
    while not data.endswith(b"\n"):
        chunk = await conn.recv(4096)
        if not chunk:
            break
        data += chunk
    cmd = data.decode(errors="replace").strip()
    if cmd == "drop":
        reply: dict[str, Any] = ops.drop()
    elif cmd == "sync":
        reply = {"written_back": ops.write_back()}
    elif cmd in ("ping", "stats"):
        reply = ops.stats()
    elif cmd == "stop":
        reply = {"stopping": True}
    else:
        reply = {"error": f"unknown command {cmd!r}"}
    out = (json.dumps(reply) + "\n").encode()
    while out:
        out = out[await conn.send(out) :]
    return cmd


async def _signals() -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as sigs:
        async for _ in sigs:
            pyfuse3.terminate()
            return


async def _flusher(ops: LazyOps) -> None:
    while True:
        await trio.sleep(max(0.1, ops.writeback / 5))
        ops.write_back(ops.writeback)


async def _serve(ops: LazyOps, sock_path: str) -> None:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_control, ops, sock_path)
        if ops.writeback:
            nursery.start_soon(_flusher, ops)
        nursery.start_soon(_signals)
        await pyfuse3.main()
        nursery.cancel_scope.cancel()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zablab.harness.faults.lazyfs.fs")
    ap.add_argument("backing", help="directory holding the durable bytes")
    ap.add_argument("mountpoint", help="where the node sees its data directory")
    ap.add_argument("--control", required=True, help="path of the control socket")
    ap.add_argument("--fsync-delay-ms", type=float, default=0.0)
    ap.add_argument(
        "--writeback-s", type=float, default=0.0, help="write back data unsynced this long"
    )
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s lazyfs %(message)s")
    ops = LazyOps(a.backing, a.fsync_delay_ms / 1000.0, a.writeback_s)
    options = set(pyfuse3.default_options)
    options |= {f"fsname={FSTYPE}", f"subtype={FSTYPE}"}
    pyfuse3.init(ops, a.mountpoint, options)
    try:
        trio.run(_serve, ops, a.control)
    finally:
        pyfuse3.close(unmount=True)
        if os.path.exists(a.control):
            os.unlink(a.control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
