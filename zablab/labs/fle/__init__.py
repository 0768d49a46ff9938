"""Lab `fle` ("the judge vote"): the student writes Fast Leader Election's vote logic, and
it elects the leaders of zablab's ZAB replica in the simulator."""

from .lab import LAB

__all__ = ["LAB"]
