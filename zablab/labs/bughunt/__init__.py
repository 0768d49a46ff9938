"""Lab bughunt: find, by search, schedules that break ZAB with hidden bugs switched on."""

from .lab import LAB

__all__ = ["LAB"]
