"""zablab: a Jepsen-style verification and teaching lab for ZooKeeper's ZAB protocol."""

__version__ = "0.1.0"
