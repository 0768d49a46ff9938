"""History import/export: Jepsen EDN, Jepsen log lines (etcd corpus), porcupine kv logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from zablab.checkers.linearizable import check_linearizable
from zablab.checkers.models import CasRegister
from zablab.errors import UserError
from zablab.history.formats import (
    detect_format,
    load_history,
    read_edn,
    read_etcd_log,
    read_kv_log,
    write_edn,
)
from zablab.history.jsonl import Op, write_jsonl

ETCD = """\
INFO  jepsen.core - starting
INFO  jepsen.util - 0\t:invoke\t:read\tnil
INFO  jepsen.util - 1   :invoke :cas    [1 2]
INFO  jepsen.util - :nemesis\t:info\t:start\tnil
INFO  jepsen.util - 0\t:ok\t:read\t3
INFO  jepsen.util - 1\t:info\t:cas\t:timed-out
"""


def test_etcd_log_lines(tmp_path: Path) -> None:
    p = tmp_path / "h.log"
    p.write_text(ETCD)
    ops = read_etcd_log(p)
    assert [(o.process, o.type, o.f, o.value) for o in ops] == [
        (0, "invoke", "read", None),
        (1, "invoke", "cas", [1, 2]),
        ("nemesis", "info", "start", None),
        (0, "ok", "read", 3),
        (1, "info", "cas", None),
    ]
    assert ops[-1].extra == {"error": "timed-out"}
    assert [o.time for o in ops] == [2, 3, 4, 5, 6]  # line numbers keep real-time order
    assert detect_format(p) == "etcd-log"


def test_etcd_log_bad_line_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "h.log"
    p.write_text(ETCD + "INFO  jepsen.util - 0\t:bogus\t:read\tnil\n")
    with pytest.raises(UserError, match=r"h\.log:7: not a Jepsen op line"):
        read_etcd_log(p)
    p.write_text(ETCD + "INFO  jepsen.util - 0\t:ok\t:read\t[1 2\n")
    with pytest.raises(UserError, match=r"h\.log:7: cannot parse value"):
        read_etcd_log(p)
    # a nemesis value that is not EDN is kept as text
    p.write_text(ETCD + "INFO  jepsen.util - :nemesis\t:info\t:stop\t{:healed [n1\n")
    assert read_etcd_log(p)[-1].value == "{:healed [n1"


def test_kv_log_fast_path_and_edn_fallback(tmp_path: Path) -> None:
    p = tmp_path / "kv.txt"
    p.write_text(
        '{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}\n'
        '{:process 0, :type :ok, :f :append, :key "4", :value "x 0 1 y"}\n'
        '{:type :invoke, :process 1, :f :get, :key "4", :value nil}\n'
        '{:process 1, :type :ok, :f :get, :key "4", :value "x \\"q\\" y"}\n'
    )
    ops = read_kv_log(p)
    assert [(o.process, o.type, o.f, o.extra["key"], o.value) for o in ops] == [
        (0, "invoke", "append", "4", "x 0 1 y"),
        (0, "ok", "append", "4", "x 0 1 y"),
        (1, "invoke", "get", "4", None),
        (1, "ok", "get", "4", 'x "q" y'),
    ]
    p.write_text('{:process 0, :type :invoke, :f :get, :key "4", :value nil}\n{:process 0 :type\n')
    with pytest.raises(UserError, match=r"kv\.txt:2"):
        read_kv_log(p)


def test_edn_vector_and_stream(tmp_path: Path) -> None:
    vec = tmp_path / "h.edn"
    vec.write_text(
        "[{:type :invoke, :f :write, :value 1, :process 0, :time 10, :index 0}\n"
        " {:type :ok, :f :write, :value 1, :process 0, :time 20, :index 1}\n"
        " {:type :info, :f :start, :value nil, :process :nemesis, :time 25, :index 2}]\n"
    )
    ops = read_edn(vec)
    assert [(o.type, o.f, o.value, o.process, o.time) for o in ops] == [
        ("invoke", "write", 1, 0, 10),
        ("ok", "write", 1, 0, 20),
        ("info", "start", None, "nemesis", 25),
    ]
    stream = tmp_path / "s.edn"
    stream.write_text(
        "{:type :invoke, :f :cas, :value [1 2], :process 3}\n"
        "{:type :fail,\n :f :cas, :value [1 2], :process 3, :error :mismatch}\n"
    )
    ops = read_edn(stream)
    assert [(o.type, o.value, o.time, o.index) for o in ops] == [
        ("invoke", [1, 2], 0, 0),
        ("fail", [1, 2], 1, 1),
    ]
    assert ops[1].extra == {"error": "mismatch"}


def test_edn_errors_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.edn"
    p.write_text(
        "{:type :invoke, :f :read, :process 0}\n{:type :ok :f :read :process 0 :value [1}\n"
    )
    with pytest.raises(UserError, match=r"bad\.edn:2"):
        read_edn(p)
    p.write_text("{:type :whatever, :f :read, :process 0}\n")
    with pytest.raises(UserError, match=r"bad\.edn:1: type must be one of"):
        read_edn(p)


def test_edn_export_round_trips(tmp_path: Path) -> None:
    ops = [
        Op(0, 5, "invoke", 0, "cas", [1, 2]),
        Op(1, 9, "fail", 0, "cas", [1, 2], {"error": "mismatch", "node": "n1"}),
        Op(2, 12, "info", "nemesis", "start-partition", {"isolated": ["n1", "n2"]}),
    ]
    out = tmp_path / "out.edn"
    write_edn(ops, out)
    assert ":type :invoke" in out.read_text()
    back = read_edn(out)
    assert [o.to_dict() for o in back] == [o.to_dict() for o in ops]


def test_load_history_dispatch(tmp_path: Path) -> None:
    ops = [Op(0, 0, "invoke", 0, "write", 1), Op(1, 1, "ok", 0, "write", 1)]
    write_jsonl(ops, tmp_path / "h.jsonl")
    assert [o.to_dict() for o in load_history(tmp_path / "h.jsonl")] == [o.to_dict() for o in ops]
    (tmp_path / "h.txt").write_text("{}\n")
    with pytest.raises(UserError, match="--format"):
        load_history(tmp_path / "h.txt")
    with pytest.raises(UserError, match="no such file"):
        load_history(tmp_path / "missing.jsonl")
    with pytest.raises(UserError, match="unknown history format"):
        load_history(tmp_path / "h.jsonl", "xml")


def test_imported_etcd_history_checks(tmp_path: Path) -> None:
    p = tmp_path / "h.log"
    p.write_text(
        "INFO  jepsen.util - 0\t:invoke\t:write\t1\n"
        "INFO  jepsen.util - 0\t:ok\t:write\t1\n"
        "INFO  jepsen.util - 1\t:invoke\t:cas\t[1 2]\n"
        "INFO  jepsen.util - 1\t:fail\t:cas\t[1 2]\n"
    )
    r = check_linearizable(read_etcd_log(p), CasRegister())
    assert r.valid is False
    assert r.details["op"]["describe"] == "cas([1 2]) failed"


def test_edn_subset_reader_and_fallback(tmp_path: Path) -> None:
    p = tmp_path / "h.edn"
    # newer Jepsen writes ops as tagged records; comments, sets and floats appear too
    p.write_text(
        "; a comment\n"
        "[#jepsen.history.Op{:index 0, :time 1, :type :invoke, :process 0, :f :add, :value 1.5}\n"
        " #jepsen.history.Op{:index 1, :time 2, :type :ok, :process 0, :f :read, :value #{1 2}}]\n"
    )
    ops = read_edn(p)
    assert [(o.f, o.value) for o in ops] == [("add", 1.5), ("read", [1, 2])]
    # outside the subset (a character literal, a vector as a map key): edn_format reads it
    p.write_text(
        "{:type :invoke, :f :write, :value \\a, :process 0}\n"
        "{:type :info, :f :start, :value {[:n1 :n2] :isolated}, :process :nemesis}\n"
    )
    ops = read_edn(p)
    assert ops[0].value == "a"
    assert ops[1].value == {("n1", "n2"): "isolated"}
