"""validate_path's one-regex shortcut for plain paths must agree with ZooKeeper's full rules."""

from __future__ import annotations

import random
import re

import pytest

from zablab.node import prep
from zablab.node.acl import KeeperError


def _verdict(path: str) -> bool:
    try:
        prep.validate_path(path)
    except KeeperError:
        return False
    return True


def test_the_shortcut_agrees_with_the_character_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    alphabet = ["/", "/", ".", ".", "a", "Z", "0", "_", "-", "\x00", "\x1f", "\x7f", "é", " "]
    paths = ["/", "", "a", "/a", "/a/", "//a", "/.", "/..", "/a/.", "/a/..", "/.a", "/a..b"]
    paths += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(4000)]
    fast = [_verdict(p) for p in paths]
    monkeypatch.setattr(prep, "_PLAIN_PATH", re.compile(r"(?!)"))  # never matches: the loop only
    slow = [_verdict(p) for p in paths]
    assert fast == slow
    assert any(fast) and not all(fast)
