"""The simulated disk: crashes lose exactly what was not synced, and recovery copes."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from zablab.node.storage import SimDisk, Storage, TxnLog
from zablab.node.storage.records import encode_record


def test_crash_loses_unsynced_appends_only():
    disk = SimDisk()
    log = TxnLog(disk)
    for z in range(1, 6):
        log.append(z, b"synced")
    log.sync()
    for z in range(6, 9):
        log.append(z, b"lost")  # buffered only: never reaches the disk
    disk.append(log.segment_names()[-1], b"written but not fsynced")
    assert disk.unsynced_bytes() > 0
    disk.crash()
    assert disk.unsynced_bytes() == 0
    again = TxnLog(disk)
    assert [z for z, _ in again.records_after(0)] == [1, 2, 3, 4, 5]
    assert again.repairs == []


def test_file_created_without_dir_sync_vanishes():
    disk = SimDisk()
    disk.append("f", b"x")
    disk.fsync("f")
    disk.crash()
    assert not disk.exists("f")
    disk.append("g", b"y")
    disk.fsync_dir()
    disk.crash()
    assert disk.read("g") == b""  # entry durable, content was never fsynced


def test_unsynced_removal_comes_back():
    disk = SimDisk()
    disk.append("f", b"x")
    disk.fsync("f")
    disk.fsync_dir()
    disk.remove("f")
    disk.crash()
    assert disk.read("f") == b"x"


def test_torn_crash_is_repaired_by_recovery():
    seen_torn = False
    for seed in range(40):
        disk = SimDisk()
        log = TxnLog(disk)
        for z in range(1, 4):
            log.append(z, b"durable")
        log.sync()
        name = log.segment_names()[-1]
        for z in range(4, 7):  # written by the OS but never fsynced
            disk.append(name, encode_record(z, b"maybe"))
        disk.crash(random.Random(seed))
        again = TxnLog(disk)
        zxids = [z for z, _ in again.records_after(0)]
        assert zxids[:3] == [1, 2, 3] and zxids == list(range(1, len(zxids) + 1))
        seen_torn |= bool(again.repairs)
    assert seen_torn


@settings(max_examples=60, deadline=None)
@given(
    ops=st.lists(
        st.sampled_from(["append", "append", "append", "sync", "crash", "snap", "trunc"]),
        max_size=40,
    ),
    seed=st.integers(0, 2**32),
)
def test_recovered_state_is_a_prefix_containing_every_synced_record(ops, seed):
    rng = random.Random(seed)
    disk = SimDisk()
    storage = Storage(disk, segment_bytes=120)
    history: list[int] = []  # zxids appended, in order, after truncations
    durable = 0  # every zxid <= durable must survive
    z = 0
    for op in ops:
        if op == "append":
            z += 1
            storage.log.append(z, b"%d" % z)
            history.append(z)
        elif op == "sync":
            durable = storage.log.sync()
        elif op == "snap" and storage.log.synced_zxid:
            storage.snapshot(storage.log.synced_zxid, b"upto %d" % storage.log.synced_zxid)
        elif op == "trunc" and history:
            cut = rng.choice(history)
            storage.truncate_after(cut)
            history = [h for h in history if h <= cut]
            durable = min(durable, cut)
        elif op == "crash":
            disk.crash(rng)
            storage = Storage(disk, segment_bytes=120)
            rec = storage.recover()
            got = [zz for zz, _ in rec.records]
            top = rec.last_zxid
            assert top >= durable
            assert all(zz in history for zz in got)
            history = [h for h in history if h <= top]
            assert got == [h for h in history if h > rec.snapshot_zxid]
            durable = top
            z = max(z, top)
