"""Deterministic simulator: seeded network, virtual clock, simulated disks, ZAB replicas.

``simulate(seed, SimConfig(nodes=5))`` runs one seed and checks it; ``python -m zablab.sim``
is the command line (a failing seed prints the command that replays it).
"""

from .cluster import SimConfig, SimResult, Simulation, simulate

__all__ = ["SimConfig", "SimResult", "Simulation", "simulate"]
