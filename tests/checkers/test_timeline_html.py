"""The timeline HTML: one lane per process, one box per op, no external resources."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from zablab.checkers.timeline import render_timeline
from zablab.history.builder import HistoryBuilder


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lanes: list[str] = []
        self.ops: list[dict[str, str]] = []
        self.faults = 0
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        cls = a.get("class", "").split()
        if "lane" in cls:
            self.lanes.append(a["data-process"])
        if "op" in cls:
            self.ops.append(a)
        if "fault" in cls and "title" in a:
            self.faults += 1
        for k in ("src", "href"):
            if k in a:
                self.external.append(a[k])
        if tag == "script":
            self.external.append("script")


def test_timeline_lanes_ops_and_faults(tmp_path: Path) -> None:
    b = HistoryBuilder()
    b.op(0, "write", 1, 0, 100)
    b.op(1, "read", None, 50, 150, out=1, zxid=7)
    b.op(2, "write", "<b>&'", 60, None)  # crashed, value needing escapes
    b.op(0, "cas", [1, 2], 200, 250, type="fail")
    b.nemesis("start-partition", 120, 130)
    b.nemesis("stop-partition", 220, 230)
    p = render_timeline(b.ops(), tmp_path / "t" / "timeline.html", title="demo <1>")
    text = p.read_text()
    c = _Collect()
    c.feed(text)
    assert c.lanes == ["0", "1", "2"]
    assert len(c.ops) == 4
    assert c.faults == 1
    assert c.external == []
    kinds = sorted(o["class"] for o in c.ops)
    assert kinds == ["op fail", "op info", "op ok", "op ok"]
    read = next(o for o in c.ops if o["title"].startswith("read"))
    assert "zxid 7" in read["title"] and "result 1" in read["title"]
    assert "demo &lt;1&gt;" in text and "<b>&" not in text
    crashed = next(o for o in c.ops if "info" in o["class"])
    assert "never completed" in crashed["title"]
    assert re.search(r"left:0\.0%", text)
