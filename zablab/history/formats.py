"""Foreign history formats: Jepsen EDN (import and export), Jepsen log lines as in porcupine's
etcd corpus, and porcupine's kv logs. Every reader returns `Op`s and names the file and line
of anything it cannot parse (UserError).

Logs without timestamps get the line number as time, which keeps their real-time order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from zablab.errors import UserError
from zablab.history.jsonl import OP_TYPES, Op, read_jsonl
from zablab.history.textfile import read_bytes, read_text, text_lines

FORMATS = ("jsonl", "edn", "etcd-log", "kv-log")


def detect_format(path: str | Path) -> str:
    name = str(path).lower()
    if name.endswith((".jsonl", ".json")):
        return "jsonl"
    if name.endswith(".edn"):
        return "edn"
    if name.endswith(".log"):
        return "etcd-log"
    raise UserError(
        f"{path}: cannot tell the history format from its name; pass --format ({'|'.join(FORMATS)})"
    )


def load_history(path: str | Path, fmt: str | None = None) -> list[Op]:
    """Read a history in any supported format (detected from the file name when not given)."""
    if not Path(path).is_file():
        read_bytes(path)  # raises the one-line error that fits (missing, directory, ...)
    fmt = fmt or detect_format(path)
    readers = {
        "jsonl": read_jsonl,
        "edn": read_edn,
        "etcd-log": read_etcd_log,
        "kv-log": read_kv_log,
    }
    try:
        reader = readers[fmt]
    except KeyError:
        raise UserError(
            f"unknown history format {fmt!r}; choose one of: {', '.join(FORMATS)}"
        ) from None
    return reader(path)


# --- EDN ----------------------------------------------------------------------------------


def _from_edn(v: Any) -> Any:
    """edn_format's values as plain Python: keywords and symbols become their names."""
    t = type(v)
    if v is None or t is str or t is int or t is float or t is bool:
        return v
    if t is dict:
        return {_frozen(_from_edn(k)): _from_edn(x) for k, x in v.items()}
    if t is list:
        return [_from_edn(x) for x in v]
    import edn_format

    if isinstance(v, edn_format.Keyword | edn_format.Symbol):
        return v.name
    if isinstance(v, str):
        return str(v)
    if isinstance(v, Mapping):
        return {_frozen(_from_edn(k)): _from_edn(x) for k, x in v.items()}
    if isinstance(v, Sequence | AbstractSet):
        return [_from_edn(x) for x in v]
    if isinstance(v, edn_format.TaggedElement):
        return str(v)
    return v


def _frozen(v: Any) -> Any:
    """A map key that was a vector stays usable as a dict key."""
    return tuple(_frozen(x) for x in v) if isinstance(v, list) else v


def _op_from_map(d: Any, where: str, index: int) -> Op:
    if not isinstance(d, Mapping):
        raise UserError(f"{where}: expected a map per op, got {type(d).__name__}")
    d = _from_edn(d)
    if "time" not in d:
        d["time"] = index
    op = Op.from_dict(d, where)
    if op.index < 0:
        op.index = index
    return op


_EDN_TOKEN = re.compile(
    r"""[\s,]+|;[^\n]*
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<open>\#\{|[\[({])
    |(?P<close>[\])}])
    |(?P<num>[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?=[\s,\[\](){}";]|$)
    |(?P<tag>\#[A-Za-z][^\s,\[\](){}"]*)
    |(?P<word>[^\s,\[\](){}";\#\\]+)""",
    re.X,
)
_WORDS: dict[str, Any] = {"nil": None, "true": True, "false": False}
_CLOSER = {"[": "]", "(": ")", "{": "}", "#{": "}"}


class _Unsupported(Exception):
    """EDN outside the subset the fast reader handles; edn_format takes over."""


def _fast_edn(text: str) -> list[Any]:
    """Jepsen histories use a small EDN subset; reading it directly is ~30x faster than
    edn_format. Keywords become their names, maps dicts, vectors/lists/sets lists; a tag such
    as #jepsen.history.Op is dropped (the map it tags is kept)."""
    out: list[Any] = []
    stack: list[tuple[str, list[Any]]] = []
    items = out
    pos, n = 0, len(text)
    match = _EDN_TOKEN.match
    while pos < n:
        m = match(text, pos)
        if m is None:
            raise _Unsupported
        pos = m.end()
        kind = m.lastgroup
        if kind is None:
            continue  # whitespace or comment
        tok = m.group()
        if kind == "open":
            stack.append((tok, items))
            items = []
            continue
        if kind == "close":
            if not stack or _CLOSER[stack[-1][0]] != tok:
                raise _Unsupported
            opener, parent = stack.pop()
            if opener == "{":
                if len(items) % 2:
                    raise _Unsupported
                try:
                    value: Any = dict(zip(items[::2], items[1::2], strict=True))
                except TypeError:  # an unhashable key
                    raise _Unsupported from None
            else:
                value = items
            items = parent
        elif kind == "str":
            try:
                value = json.loads(tok)
            except ValueError:
                raise _Unsupported from None
        elif kind == "num":
            value = float(tok) if "." in tok or "e" in tok or "E" in tok else int(tok)
        elif kind == "tag":
            continue
        else:
            if tok in _WORDS:
                value = _WORDS[tok]
            elif tok[0] == ":":
                value = tok[1:]
            else:
                value = tok  # a symbol: its name
        items.append(value)
    if stack:
        raise _Unsupported
    return out


def _parse_edn(text: str, where: str) -> list[Any]:
    try:
        return _fast_edn(text)
    except _Unsupported:
        pass
    import edn_format

    try:
        return [_from_edn(x) for x in edn_format.loads_all(text)]
    except Exception as exc:  # edn_format raises several exception types
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{where}: not valid EDN ({msg})") from None


def read_edn(path: str | Path) -> list[Op]:
    """A Jepsen EDN history: a vector or list of op maps, or a stream of maps (often one a line)."""
    text = read_text(path)
    lead = re.match(r"(?:[\s,]|;[^\n]*)*", text)
    if text[lead.end() if lead else 0 :].startswith(("[", "(")):
        forms = _parse_edn(text, str(path))
        if len(forms) != 1:
            raise UserError(
                f"{path}: expected one vector of ops, found {len(forms)} top-level forms"
            )
        return [_op_from_map(d, f"{path}: op {i}", i) for i, d in enumerate(forms[0])]
    ops: list[Op] = []
    pending = ""
    start = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        if not pending and not line.strip():
            continue
        if not pending:
            start = lineno
        pending += line + "\n"
        if pending.count("{") > pending.count("}"):
            continue  # a map spread over several lines
        for d in _parse_edn(pending, f"{path}:{start}"):
            ops.append(_op_from_map(d, f"{path}:{start}", len(ops)))
        pending = ""
    if pending:
        raise UserError(f"{path}:{start}: unterminated map")
    return ops


def _to_edn(v: Any) -> Any:
    import edn_format

    if isinstance(v, dict):
        return {
            edn_format.Keyword(str(k)) if isinstance(k, str) else k: _to_edn(x)
            for k, x in v.items()
        }
    if isinstance(v, list | tuple):
        return [_to_edn(x) for x in v]
    return v


_KEYWORD_FIELDS = ("type", "f")


def op_to_edn(op: Op) -> str:
    import edn_format

    d = op.to_dict()
    out: dict[Any, Any] = {}
    for k, v in d.items():
        if k in _KEYWORD_FIELDS and isinstance(v, str):
            v = edn_format.Keyword(v)
        elif k == "process" and v == "nemesis":
            v = edn_format.Keyword("nemesis")
        else:
            v = _to_edn(v)
        out[edn_format.Keyword(k)] = v
    return edn_format.dumps(out)


def write_edn(ops: Iterable[Op], path: str | Path) -> None:
    """Export as a Jepsen EDN history: a vector of op maps, one a line."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("[")
        for i, op in enumerate(ops):
            fh.write(("\n " if i else "") + op_to_edn(op))
        fh.write("]\n")


# --- Jepsen log lines (porcupine's etcd corpus) ---------------------------------------------

_LOG_LINE = re.compile(r"jepsen\.util\s+-\s+:?(\S+)\s+:(\w+)\s+:(\S+)\s*(.*?)\s*$")
_SCALAR = re.compile(r"-?\d+")


def _log_value(text: str, where: str) -> Any:
    text = text.strip()
    if text in ("", "nil"):
        return None
    if _SCALAR.fullmatch(text):
        return int(text)
    if text.startswith(":"):
        return text[1:]
    if text.startswith(("[", "{", "(", '"', "#")):
        try:
            forms = _parse_edn(text, where)
        except UserError:
            forms = []
        if len(forms) != 1:
            raise UserError(f"{where}: cannot parse value {text!r}")
        return forms[0]
    return text


def read_etcd_log(path: str | Path) -> list[Op]:
    """Jepsen's `jepsen.util - <process> :<type> :<f> <value>` log lines; other lines are skipped.

    An `:info` line's value is the error (e.g. :timed-out); it goes to the `error` field and the
    op keeps the invoke's value.
    """
    ops: list[Op] = []
    lines = 0
    for lineno, line, _ in text_lines(path):
        lines += bool(line.strip())
        if "jepsen.util" not in line:
            continue
        where = f"{path}:{lineno}"
        m = _LOG_LINE.search(line)
        if m is None or m.group(2) not in OP_TYPES:
            raise UserError(f"{where}: not a Jepsen op line (process :type :f value)")
        proc_s, typ, f, raw = m.groups()
        process: Any = int(proc_s) if _SCALAR.fullmatch(proc_s) else proc_s
        try:
            value = _log_value(raw, where)
        except UserError:
            if process != "nemesis":
                raise
            value = raw  # a nemesis value is only shown, never checked
        extra: dict[str, Any] = {}
        if typ == "info" and isinstance(value, str) and process != "nemesis":
            extra["error"] = value
            value = None
        ops.append(Op(len(ops), lineno, typ, process, f, value, extra))
    if not ops and lines:
        raise UserError(
            f"{path}: no Jepsen op lines (jepsen.util - process :type :f value); is --format right?"
        )
    return ops


# --- porcupine kv logs ---------------------------------------------------------------------

_KV_LINE = re.compile(
    r'\{:process (\d+), :type :(\w+), :f :(\w+), :key "((?:[^"\\]|\\.)*)", :value (nil|"(?:[^"\\]|\\.)*")\}\s*'
)


def read_kv_log(path: str | Path) -> list[Op]:
    """porcupine's kv logs: one EDN map a line with :process :type :f :key :value.

    The common flat line shape is matched by a regular expression (edn_format is slow on
    thousands of lines); anything else goes through the EDN parser.
    """
    ops: list[Op] = []
    for lineno, line, _ in text_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        m = _KV_LINE.fullmatch(line)
        if m is not None and "\\" not in line:
            proc, typ, f, key, raw = m.groups()
            value = None if raw == "nil" else raw[1:-1]
            if typ not in OP_TYPES:
                raise UserError(f"{where}: type must be one of {', '.join(OP_TYPES)}, not {typ!r}")
            ops.append(Op(len(ops), lineno, typ, int(proc), f, value, {"key": key}))
            continue
        forms = _parse_edn(line, where)
        if len(forms) != 1:
            raise UserError(f"{where}: expected one map {{:process :type :f :key :value}}")
        op = _op_from_map(forms[0], where, len(ops))
        op.time = lineno
        op.index = len(ops)
        if "key" not in op.extra:
            raise UserError(f"{where}: kv op has no :key")
        ops.append(op)
    return ops
