"""Durable storage of a node: transaction log, snapshots, small state files; real or simulated.

File formats and the torn-tail rule are documented in records.py. Typical use by a server::

    storage = Storage(data_dir)              # checks everything, repairs a torn log tail
    rec = storage.recover()                  # (snapshot_zxid, snapshot bytes | None, records)
    storage.log.append(zxid, txn_bytes)      # buffer ...
    storage.log.sync()                       # ... one write + fsync for the batch, then ack
    storage.snapshot(zxid, tree_bytes)       # now and then; prunes old snapshots and logs
    storage.state("acceptedEpoch").write(3)

The simulator passes a SimDisk instead of a path and calls ``disk.crash(rng)`` to lose
unsynced data.
"""

from .disk import Disk, OsDisk
from .errors import CorruptStorage
from .recovery import Recovered, Storage, recover
from .simdisk import SimDisk
from .snapshots import SnapshotStore
from .statefile import StateFile
from .txnlog import TxnLog

__all__ = [
    "CorruptStorage",
    "Disk",
    "OsDisk",
    "Recovered",
    "SimDisk",
    "SnapshotStore",
    "StateFile",
    "Storage",
    "TxnLog",
    "recover",
]
