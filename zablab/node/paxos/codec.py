"""Multi-Paxos's wire codec: the replica codec (zablab/node/replica/codec.py) over its table."""

from __future__ import annotations

from zablab.node.replica.codec import Codec

from .messages import TYPES

VERSION = 1
CODEC = Codec("Paxos", VERSION, TYPES)
