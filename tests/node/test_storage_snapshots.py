"""Snapshots, state files, pruning and recovery of a whole data directory."""

from __future__ import annotations

import logging
import os

import pytest

from zablab.node.storage import (
    CorruptStorage,
    OsDisk,
    SimDisk,
    SnapshotStore,
    StateFile,
    Storage,
    recover,
)


@pytest.fixture(params=["os", "sim"])
def disk(request, tmp_path):
    d = OsDisk(tmp_path) if request.param == "os" else SimDisk()
    yield d
    d.close()


def test_snapshot_round_trip_and_latest(disk):
    store = SnapshotStore(disk)
    assert store.latest() is None
    store.save(0x100000005, b"tree at 5")
    store.save(0x100000009, b"tree at 9")
    assert store.latest() == (0x100000009, b"tree at 9")
    assert store.load(0x100000005) == b"tree at 5"
    assert "snapshot.0000000100000009" in disk.list()


def test_snapshot_write_is_atomic(tmp_path, monkeypatch):
    store = SnapshotStore(tmp_path)
    store.save(5, b"old")

    def crash_before_rename(src, dst):
        raise OSError("power cut")

    monkeypatch.setattr(os, "replace", crash_before_rename)
    with pytest.raises(OSError):
        store.save(9, b"new")
    monkeypatch.undo()
    leftovers = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert leftovers == ["snapshot.0000000000000009.tmp"]
    storage = Storage(tmp_path)  # removes the half-written temp file
    assert storage.snapshots.latest() == (5, b"old")
    assert not any(n.endswith(".tmp") for n in os.listdir(tmp_path))
    storage.close()


def test_snapshot_write_is_durable_on_sim_crash():
    disk = SimDisk()
    SnapshotStore(disk).save(7, b"s")
    StateFile(disk, "acceptedEpoch").write(3)
    disk.crash()
    assert SnapshotStore(disk).latest() == (7, b"s")
    assert StateFile(disk, "acceptedEpoch").read() == 3


@pytest.mark.parametrize("damage", ["flip", "cut", "magic"])
def test_damaged_snapshot_names_the_file(disk, damage):
    store = SnapshotStore(disk)
    store.save(5, b"payload of the snapshot")
    name = "snapshot.0000000000000005"
    data = bytearray(disk.read(name))
    if damage == "flip":
        data[-3] ^= 1
    elif damage == "cut":
        del data[-4:]
    else:
        data[0] ^= 1
    disk.write_atomic(name, bytes(data))
    with pytest.raises(CorruptStorage) as err:
        store.latest()
    assert name in str(err.value) and err.value.file == disk.describe(name)


def test_pruning_keeps_three_snapshots_and_the_logs_they_need(disk):
    storage = Storage(disk, segment_bytes=1 << 20)
    z = 0
    for _ in range(6):
        for _ in range(5):
            z += 1
            storage.log.append(z, b"txn %d" % z)
        storage.log.sync()
        storage.snapshot(z, b"tree %d" % z)
    assert storage.snapshots.zxids() == [30, 25, 20]
    # each snapshot rolled the log: one segment per batch of five
    segs = storage.log.segment_names()
    assert segs[0] == "log.0000000000000010"  # reaches back to the oldest kept snapshot
    assert len(segs) == 3
    rec = storage.recover()
    assert rec.snapshot_zxid == 30 and rec.snapshot == b"tree 30" and rec.records == []
    storage.log.append(31, b"txn 31")
    storage.log.sync()
    assert Storage(disk).recover() == (30, b"tree 30", [(31, b"txn 31")])


def _run_with_snapshots(disk):
    storage = Storage(disk)
    for z in range(1, 21):
        storage.log.append(z, b"t%d" % z)
        storage.log.sync()
        if z % 5 == 0:
            storage.snapshot(z, b"tree %d" % z)
    storage.log.append(21, b"t21")
    storage.log.sync()
    storage.close()


def test_damaged_newest_snapshot_falls_back_when_the_log_covers_it(disk, caplog):
    _run_with_snapshots(disk)
    newest = "snapshot.0000000000000014"
    disk.write_atomic(newest, disk.read(newest)[:-1] + b"X")
    with caplog.at_level(logging.WARNING, logger="zablab.node.storage"):
        rec = recover(disk)
    assert rec.snapshot_zxid == 15 and rec.snapshot == b"tree 15"
    assert [z for z, _ in rec.records] == [16, 17, 18, 19, 20, 21]
    assert newest in caplog.text


def test_damaged_newest_snapshot_without_log_cover_is_an_error(disk):
    _run_with_snapshots(disk)
    storage = Storage(disk)
    storage.log.prune_before(20)  # drop the log the fallback would need
    storage.close()
    newest = "snapshot.0000000000000014"
    disk.write_atomic(newest, disk.read(newest)[:-1] + b"X")
    with pytest.raises(CorruptStorage) as err:
        recover(disk)
    assert newest in str(err.value)


def test_recover_empty_and_log_only(disk):
    assert recover(disk) == (0, None, [])
    storage = Storage(disk)
    storage.log.append(1, b"a")
    storage.log.append(2, b"b")
    storage.log.sync()
    rec = recover(disk)
    assert rec == (0, None, [(1, b"a"), (2, b"b")]) and rec.last_zxid == 2


def test_storage_truncate_drops_newer_snapshots(disk):
    storage = Storage(disk)
    for z in range(1, 11):
        storage.log.append(z, b"x")
    storage.log.sync()
    storage.snapshot(4, b"s4")
    storage.snapshot(8, b"s8")
    storage.truncate_after(6)
    assert storage.last_zxid == 6
    assert Storage(disk).recover() == (4, b"s4", [(5, b"x"), (6, b"x")])


def test_state_file(disk):
    state = StateFile(disk, "currentEpoch")
    assert state.read() is None and state.read(0) == 0
    state.write(7)
    state.write(8)
    assert StateFile(disk, "currentEpoch").read() == 8
    disk.write_atomic("currentEpoch", b"\x00\x01junk")
    with pytest.raises(CorruptStorage, match="currentEpoch"):
        state.read()


def test_no_fallback_over_a_hole_in_the_log(disk):
    """After a SNAP sync the log jumps; an older snapshot plus that log would miss txns."""
    storage = Storage(disk)
    for z in range(1, 6):
        storage.log.append(z, b"t%d" % z)
    storage.log.sync()
    storage.snapshot(3, b"tree 3")
    storage.snapshot(100, b"tree 100 from the leader")  # txns 6..100 arrive inside it
    storage.log.append(101, b"t101")
    storage.log.sync()
    storage.close()
    newest = "snapshot.0000000000000064"
    disk.write_atomic(newest, disk.read(newest)[:-1] + b"X")
    with pytest.raises(CorruptStorage) as err:
        recover(disk)
    assert newest in str(err.value)


def test_fallback_across_an_epoch_change(disk):
    storage = Storage(disk)
    zxids = [1, 2, 3, (1 << 32) | 1, (1 << 32) | 2, (2 << 32) | 1, (2 << 32) | 2]
    for z in zxids:
        storage.log.append(z, b"t")
        storage.log.sync()
        if z in (2, (2 << 32) | 1):
            storage.snapshot(z, b"tree %d" % z)
    storage.close()
    newest = f"snapshot.{(2 << 32) | 1:016x}"
    disk.write_atomic(newest, disk.read(newest)[:-1] + b"X")
    assert recover(disk).snapshot_zxid == 2
    assert [z for z, _ in recover(disk).records] == zxids[2:]
