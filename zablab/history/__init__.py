"""Histories: the Op record, JSON Lines reading and writing, and the foreign formats.

Its own package so that the checkers and the labs can read histories without importing the test
engine that writes them.
"""

from zablab.history.jsonl import OP_TYPES, HistoryWriter, Op, read_jsonl, write_jsonl

__all__ = ["OP_TYPES", "HistoryWriter", "Op", "read_jsonl", "write_jsonl"]
