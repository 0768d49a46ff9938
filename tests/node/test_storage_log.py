"""Transaction log: round trip, group commit, truncation, torn tails and corruption."""

from __future__ import annotations

import logging
import os

import pytest

from zablab.node.storage import CorruptStorage, OsDisk, SimDisk, TxnLog
from zablab.node.storage.records import RECORD_HEADER, SEGMENT_MAGIC, encode_record


@pytest.fixture(params=["os", "sim"])
def disk(request, tmp_path):
    d = OsDisk(tmp_path) if request.param == "os" else SimDisk()
    yield d
    d.close()


def fill(log: TxnLog, zxids, size: int = 10) -> dict[int, bytes]:
    out = {}
    for z in zxids:
        out[z] = f"txn-{z}-".encode() + bytes([z % 251]) * size
        log.append(z, out[z])
    log.sync()
    return out


def test_round_trip_across_reopen(disk):
    log = TxnLog(disk)
    assert log.last_zxid == 0 and log.first_zxid is None
    want = fill(log, range(1, 51))
    assert log.last_zxid == 50 and log.synced_zxid == 50
    again = TxnLog(disk)
    assert list(again.records_after(0)) == sorted(want.items())
    assert [z for z, _ in again.records_after(45)] == [46, 47, 48, 49, 50]
    assert again.last_zxid == 50 and again.first_zxid == 1
    assert again.repairs == []


def test_zxids_must_increase(disk):
    log = TxnLog(disk)
    log.append(5, b"x")
    with pytest.raises(ValueError):
        log.append(5, b"y")
    with pytest.raises(ValueError):
        log.append(4, b"y")


def test_records_after_includes_buffered(disk):
    log = TxnLog(disk)
    fill(log, [1, 2])
    log.append(3, b"pending")
    assert list(log.records_after(1)) == [(2, list(log.records_after(1))[0][1]), (3, b"pending")]
    assert log.last_zxid == 3 and log.synced_zxid == 2


def test_segments_named_by_first_zxid(disk):
    log = TxnLog(disk, segment_bytes=200)
    epoch = 1 << 32
    zxids = [epoch | i for i in range(1, 40)]
    for z in zxids:  # one sync per record: segments roll once over 200 bytes
        log.append(z, b"p" * 30)
        log.sync()
    names = log.segment_names()
    assert len(names) > 3
    assert all(n.startswith("log.") and len(n) == 20 for n in names)
    assert names[0] == f"log.{zxids[0]:016x}"
    assert [z for z, _ in TxnLog(disk, segment_bytes=200).records_after(0)] == zxids
    assert [z for z, _ in TxnLog(disk).records_after(zxids[20])] == zxids[21:]


def test_group_commit_one_fsync_per_batch(tmp_path, monkeypatch):
    calls = []
    real, real_data = os.fsync, os.fdatasync
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    monkeypatch.setattr(os, "fdatasync", lambda fd: (calls.append(fd), real_data(fd))[1])
    log = TxnLog(tmp_path)
    fill(log, range(1, 3))  # creates the segment: file fsync + directory fsync
    calls.clear()
    for z in range(3, 103):
        log.append(z, b"v" * 100)
    assert calls == []  # append never touches the disk
    log.sync()
    assert len(calls) == 1
    log.sync()  # nothing buffered: no write, no fsync
    assert len(calls) == 1
    log.close()


def test_fsync_can_be_turned_off(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "fsync", calls.append)
    monkeypatch.setattr(os, "fdatasync", calls.append)
    log = TxnLog(tmp_path, fsync=False)
    fill(log, range(1, 20))
    log.close()
    assert calls == []
    assert len(list(TxnLog(tmp_path).records_after(0))) == 19


def test_truncate_after_within_and_across_segments(disk):
    log = TxnLog(disk, segment_bytes=150)
    for z in range(1, 31):
        log.append(z, b"q" * 20)
        log.sync()
    log.append(31, b"buffered")
    assert len(log.segment_names()) > 3
    log.truncate_after(12)
    assert log.last_zxid == 12 and log.synced_zxid == 12
    assert [z for z, _ in log.records_after(0)] == list(range(1, 13))
    reopened = TxnLog(disk, segment_bytes=150)
    assert [z for z, _ in reopened.records_after(0)] == list(range(1, 13))
    assert reopened.repairs == []
    reopened.append(13, b"after-trunc")
    reopened.sync()
    assert list(TxnLog(disk).records_after(12)) == [(13, b"after-trunc")]


def test_truncate_after_everything_and_nothing(disk):
    log = TxnLog(disk)
    fill(log, range(5, 10))
    log.truncate_after(100)
    assert log.last_zxid == 9
    log.truncate_after(0)
    assert log.last_zxid == 0 and log.segment_names() == []
    assert list(TxnLog(disk).records_after(0)) == []
    log.append(1, b"fresh")
    log.sync()
    assert list(TxnLog(disk).records_after(0)) == [(1, b"fresh")]


def test_truncate_is_durable_on_crash():
    disk = SimDisk()
    log = TxnLog(disk)
    fill(log, range(1, 11))
    log.truncate_after(4)
    disk.crash()
    assert [z for z, _ in TxnLog(disk).records_after(0)] == [1, 2, 3, 4]


# -- torn tails ------------------------------------------------------------------------


def _write_and_locate(disk, n=6, size=12):
    log = TxnLog(disk)
    want = fill(log, range(1, n + 1), size)
    name = log.segment_names()[-1]
    last_len = len(encode_record(n, want[n]))
    end = disk.size(name)
    log.close()
    return name, end - last_len, end, want


def test_torn_tail_of_every_length(tmp_path, caplog):
    probe = OsDisk(tmp_path / "probe")
    name, start, end, want = _write_and_locate(probe)
    full = probe.read(name)
    probe.close()
    for cut in range(start, end):  # 0 .. len-1 bytes of the last record survive
        d = OsDisk(tmp_path / f"cut{cut}")
        d.append(name, full[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="zablab.node.storage"):
            log = TxnLog(d)
        assert [z for z, _ in log.records_after(0)] == [1, 2, 3, 4, 5]
        assert d.size(name) == start
        if cut > start:
            assert len(log.repairs) == 1 and "torn tail" in caplog.text and name in caplog.text
        log.close()


@pytest.mark.parametrize("where", ["header", "payload", "crc"])
def test_crc_failing_last_record_is_a_torn_tail(disk, where):
    name, start, end, _ = _write_and_locate(disk)
    data = bytearray(disk.read(name))
    pos = {"header": start + 5, "crc": start + 9, "payload": end - 1}[where]
    data[pos] ^= 0x40
    disk.truncate(name, 0)
    disk.append(name, bytes(data))
    log = TxnLog(disk)
    assert log.last_zxid == 5 and len(log.repairs) == 1
    assert disk.size(name) == start


@pytest.mark.parametrize(
    "tail",
    [b"\0" * 4096, b"garbage at the end of the log", encode_record(7, b"half of it")[:-3]],
    ids=["prealloc-zeros", "garbage", "half-record"],
)
def test_junk_after_last_record_is_cut(disk, tail):
    name, _, end, _ = _write_and_locate(disk)
    disk.append(name, tail)
    log = TxnLog(disk)
    assert log.last_zxid == 6 and disk.size(name) == end
    log.append(7, b"next")
    log.sync()
    assert list(TxnLog(disk).records_after(6)) == [(7, b"next")]


def test_segment_with_torn_header_is_removed(disk):
    log = TxnLog(disk)
    fill(log, [1, 2])
    log.close()
    disk.append("log.0000000000000003", SEGMENT_MAGIC[:5])
    log = TxnLog(disk)
    assert log.segment_names() == ["log.0000000000000001"]
    assert not disk.exists("log.0000000000000003")
    assert log.last_zxid == 2


# -- corruption ------------------------------------------------------------------------


def test_every_byte_of_a_middle_record_is_checked(tmp_path):
    probe = OsDisk(tmp_path / "probe")
    log = TxnLog(probe)
    fill(log, [1, 2, 3], size=3)
    name = log.segment_names()[0]
    full = probe.read(name)
    probe.close()
    start = len(SEGMENT_MAGIC) + len(encode_record(1, b"txn-1-" + b"\1" * 3))
    length = len(encode_record(2, b"txn-2-" + b"\2" * 3))
    for pos in range(start, start + length):
        d = OsDisk(tmp_path / f"flip{pos}")
        data = bytearray(full)
        data[pos] ^= 0x01
        d.append(name, bytes(data))
        with pytest.raises(CorruptStorage) as err:
            TxnLog(d)
        assert err.value.offset == start, pos
        assert err.value.file == str(tmp_path / f"flip{pos}" / name)
        msg = str(err.value)
        assert name in msg and f"offset {start}" in msg and "restore" in msg
        d.close()


def test_torn_tail_in_an_older_segment_is_corruption(disk):
    log = TxnLog(disk)
    fill(log, [1, 2, 3])
    log.roll()
    fill(log, [4, 5])
    old = log.segment_names()[0]
    log.close()
    disk.truncate(old, disk.size(old) - 2)
    with pytest.raises(CorruptStorage, match="newer log segment exists") as err:
        TxnLog(disk)
    assert old in err.value.file


def test_segment_name_must_match_first_record(disk):
    disk.append("log.0000000000000009", SEGMENT_MAGIC + encode_record(3, b"x"))
    with pytest.raises(CorruptStorage, match="file name says"):
        TxnLog(disk)


def test_overlapping_segments_are_corruption(disk):
    disk.append(
        "log.0000000000000001", SEGMENT_MAGIC + encode_record(1, b"a") + encode_record(5, b"b")
    )
    disk.append("log.0000000000000004", SEGMENT_MAGIC + encode_record(4, b"c"))
    with pytest.raises(CorruptStorage, match="does not follow"):
        TxnLog(disk)


def test_out_of_order_record_is_corruption(disk):
    body = (
        encode_record(1, b"a")
        + encode_record(3, b"b")
        + encode_record(2, b"c")
        + encode_record(4, b"d")
    )
    disk.append("log.0000000000000001", SEGMENT_MAGIC + body)
    with pytest.raises(CorruptStorage) as err:
        TxnLog(disk)
    assert err.value.offset == len(SEGMENT_MAGIC) + 2 * (RECORD_HEADER + 1)


def test_appends_and_syncs_from_two_threads(tmp_path):
    """The runtime appends on the event loop while a disk thread syncs (group commit)."""
    import threading

    log = TxnLog(tmp_path, segment_bytes=4096)
    done = threading.Event()
    durable: list[int] = []

    def syncer() -> None:
        while not done.is_set():
            durable.append(log.sync())
        durable.append(log.sync())

    t = threading.Thread(target=syncer)
    t.start()
    for z in range(1, 2001):
        log.append(z, b"%d" % z)
    done.set()
    t.join(30)
    assert durable == sorted(durable) and durable[-1] == 2000
    assert [z for z, _ in TxnLog(tmp_path).records_after(0)] == list(range(1, 2001))
    log.close()
