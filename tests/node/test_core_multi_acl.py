"""multi result codes and ACL checks, as ZooKeeper 3.8 answers them."""

from __future__ import annotations

import pytest

from zablab.node import acl as acls
from zablab.node.jute import Reader, Writer
from zablab.node.protocol import (
    ACL,
    OPEN_ACL_UNSAFE,
    STAT,
    CheckVersionRequest,
    CreateRequest,
    DeleteRequest,
    Err,
    Id,
    OpCode,
    Perm,
    SetDataRequest,
    encode_multi_request,
    read_acls,
)
from zablab.node.testing import Bench

OPEN = list(OPEN_ACL_UNSAFE)


def connected():
    b = Bench()
    c = b.client()
    c.connect()
    return b, c


def multi_results(body: bytes) -> list[tuple[int, int]]:
    """(type, err) per op result."""
    r = Reader(body)
    out = []
    while True:
        typ, done, err = r.int(), r.bool(), r.int()
        if done:
            return out
        if typ == OpCode.ERROR:
            assert r.int() == err
        elif typ == OpCode.CREATE:
            r.ustring()
        elif typ == OpCode.CREATE2:
            r.ustring()
            r.pos += STAT.size
        elif typ == OpCode.SET_DATA:
            r.pos += STAT.size
        out.append((typ, err))


def test_multi_success_returns_one_result_per_op_with_one_zxid():
    b, c = connected()
    ops = [
        (OpCode.CREATE, CreateRequest("/m", b"", OPEN, 0)),
        (OpCode.SET_DATA, SetDataRequest("/m", b"x", 0)),
        (OpCode.CHECK, CheckVersionRequest("/m", 1)),
        (OpCode.CREATE2, CreateRequest("/m/c", b"", OPEN, 0)),
        (OpCode.DELETE, DeleteRequest("/m/c", -1)),
    ]
    r = c.call(OpCode.MULTI, encode_multi_request(ops))
    assert r.err == 0
    assert multi_results(r.body) == [
        (OpCode.CREATE, 0),
        (OpCode.SET_DATA, 0),
        (OpCode.CHECK, 0),
        (OpCode.CREATE2, 0),
        (OpCode.DELETE, 0),
    ]
    st = c.exists("/m").stat()
    assert st[0] == st[1] == r.zxid  # one zxid for the whole multi


def test_multi_failure_codes_before_at_and_after_the_failing_op():
    b, c = connected()
    ops = [
        (OpCode.CREATE, CreateRequest("/m1", b"", OPEN, 0)),
        (OpCode.CHECK, CheckVersionRequest("/", 42)),
        (OpCode.CREATE, CreateRequest("/m2", b"", OPEN, 0)),
        (OpCode.DELETE, DeleteRequest("/nope", -1)),
    ]
    r = c.call(OpCode.MULTI, encode_multi_request(ops))
    assert r.err == 0  # the reply header is OK; the results carry the errors
    assert multi_results(r.body) == [
        (OpCode.ERROR, Err.OK),
        (OpCode.ERROR, Err.BADVERSION),
        (OpCode.ERROR, Err.RUNTIMEINCONSISTENCY),
        (OpCode.ERROR, Err.RUNTIMEINCONSISTENCY),
    ]
    assert c.exists("/m1").err == Err.NONODE  # atomic: nothing applied


def test_failed_multi_rolls_back_pending_changes_for_later_requests():
    b, c = connected()
    b.auto_commit = False  # keep txns pending so prep sees its own overlay
    ops = [
        (OpCode.CREATE, CreateRequest("/r", b"", OPEN, 0)),
        (OpCode.CREATE, CreateRequest("/r", b"", OPEN, 0)),
    ]
    c.request(OpCode.MULTI, encode_multi_request(ops))
    c.request(OpCode.CREATE2, Writer().ustring("/r").buffer(b"").vector(OPEN, _w).int(0).bytes())
    b.commit()
    replies = c.read()
    assert multi_results(replies[0].body) == [(OpCode.ERROR, 0), (OpCode.ERROR, Err.NODEEXISTS)]
    assert replies[1].err == 0  # /r did not exist: the failed multi left no pending create


def _w(w, a):
    w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id)


def test_pending_overlay_validates_in_flight_writes():
    b, c = connected()
    b.auto_commit = False
    c.request(OpCode.CREATE2, Writer().ustring("/o").buffer(b"").vector(OPEN, _w).int(0).bytes())
    c.request(OpCode.CREATE2, Writer().ustring("/o").buffer(b"").vector(OPEN, _w).int(0).bytes())
    c.request(OpCode.SET_DATA, Writer().ustring("/o").buffer(b"x").int(0).bytes())
    c.request(OpCode.SET_DATA, Writer().ustring("/o").buffer(b"y").int(1).bytes())
    assert c.read() == []  # nothing answered before the log is synced
    b.commit()
    errs = [r.err for r in c.read()]
    assert errs == [0, Err.NODEEXISTS, 0, 0]


def test_digest_matches_zookeeper():
    # ZooKeeper: DigestAuthenticationProvider.generateDigest("u:p")
    assert acls.digest("u:p") == "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="


def auth(c, scheme: str, cred: bytes):
    c.request(OpCode.AUTH, Writer().int(0).ustring(scheme).buffer(cred).bytes(), xid=-4)
    return c.read()[-1]


def test_digest_acl_and_auth_scheme():
    b, c = connected()
    other = b.client()
    other.connect()
    assert auth(c, "digest", b"u:p").err == 0
    r = c.create("/s", b"secret", acl=(ACL(Perm.ALL, Id("auth", "")),))
    assert r.err == 0
    acl = read_acls(Reader(c.call(OpCode.GET_ACL, Writer().ustring("/s").bytes()).body))
    assert acl == [ACL(Perm.ALL, Id("digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="))]
    assert other.get("/s").err == Err.NOAUTH
    assert other.set("/s", b"x").err == Err.NOAUTH
    assert other.exists("/s").err == 0  # exists needs no permission
    assert other.call(OpCode.GET_ACL, Writer().ustring("/s").bytes()).err == Err.NOAUTH
    assert c.get("/s").err == 0


def test_auth_scheme_without_credentials_is_invalid_acl():
    b, c = connected()
    assert c.create("/s", acl=(ACL(Perm.ALL, Id("auth", "")),)).err == Err.INVALIDACL
    assert c.create("/s", acl=(ACL(Perm.ALL, Id("world", "nobody")),)).err == Err.INVALIDACL
    assert c.create("/s", acl=(ACL(Perm.ALL, Id("digest", "nocolon")),)).err == Err.INVALIDACL
    assert c.create("/s", acl=(ACL(Perm.ALL, Id("ip", "300.1.1.1")),)).err == Err.INVALIDACL
    assert c.create("/s", acl=()).err == Err.INVALIDACL


@pytest.mark.parametrize(
    "perms,op,err",
    [
        (Perm.READ, "set", Err.NOAUTH),
        (Perm.READ, "child", Err.NOAUTH),
        (Perm.READ, "get", 0),
        (Perm.WRITE, "get", Err.NOAUTH),
        (Perm.WRITE, "set", 0),
        (Perm.CREATE, "child", 0),
        (Perm.DELETE, "delchild", 0),
        (Perm.READ, "delchild", Err.NOAUTH),
        (Perm.READ, "setacl", Err.NOAUTH),
        (Perm.ADMIN, "setacl", 0),
    ],
)
def test_each_permission_bit(perms, op, err):
    b, c = connected()
    c.create("/n", acl=(ACL(Perm.ALL, Id("world", "anyone")),))
    c.create("/n/kid")
    c.call(OpCode.SET_ACL, _setacl("/n", [ACL(perms, Id("world", "anyone"))], -1))
    if op == "set":
        r = c.set("/n", b"x")
    elif op == "get":
        r = c.get("/n")
    elif op == "child":
        r = c.create("/n/c")
    elif op == "delchild":
        r = c.delete("/n/kid")
    else:
        r = c.call(OpCode.SET_ACL, _setacl("/n", OPEN, -1))
    assert r.err == err


def _setacl(path, acl, version):
    return Writer().ustring(path).vector(acl, _w).int(version).bytes()


def test_ip_acl_and_get_acl_redaction():
    b, c = connected()
    remote = b.client(ip="10.1.2.3")
    remote.connect()
    c.create("/ip", acl=(ACL(Perm.ALL, Id("ip", "127.0.0.0/8")),))
    assert c.get("/ip").err == 0
    assert remote.get("/ip").err == Err.NOAUTH
    auth(c, "digest", b"u:p")
    c.create(
        "/d", acl=(ACL(Perm.READ, Id("digest", acls.digest("u:p"))), ACL(1, Id("world", "anyone")))
    )
    acl = read_acls(Reader(remote.call(OpCode.GET_ACL, Writer().ustring("/d").bytes()).body))
    assert acl[0].id == Id("digest", "u:x")  # READ without ADMIN sees no digests


def test_set_acl_bumps_aversion_and_checks_it():
    b, c = connected()
    c.create("/v")
    r = c.call(OpCode.SET_ACL, _setacl("/v", OPEN, 0))
    assert r.err == 0 and r.stat()[6] == 1
    assert c.call(OpCode.SET_ACL, _setacl("/v", OPEN, 0)).err == Err.BADVERSION


def test_unknown_auth_scheme_fails_and_closes():
    b, c = connected()
    r = auth(c, "kerberos", b"x")
    assert r.err == Err.AUTHFAILED
    assert c.closed


def test_multi_read_answers_each_op_independently():
    b, c = connected()
    c.create("/mr", b"d")
    c.create("/mr/k")
    body = (
        Writer()
        .int(OpCode.GET_DATA).bool(False).int(-1).ustring("/mr")
        .int(OpCode.GET_CHILDREN).bool(False).int(-1).ustring("/mr")
        .int(OpCode.GET_DATA).bool(False).int(-1).ustring("/none")
        .int(-1).bool(True).int(-1)
        .bytes()
    )  # fmt: skip
    r = c.call(OpCode.MULTI_READ, body)
    assert r.err == 0
    rd = r.reader()
    assert (rd.int(), rd.bool(), rd.int()) == (OpCode.GET_DATA, False, 0)
    assert rd.buffer() == b"d"
    rd.pos += STAT.size
    assert (rd.int(), rd.bool(), rd.int()) == (OpCode.GET_CHILDREN, False, 0)
    assert rd.strings() == ["k"]
    assert (rd.int(), rd.bool(), rd.int(), rd.int()) == (OpCode.ERROR, False, Err.NONODE, Err.NONODE)
    assert (rd.int(), rd.bool(), rd.int()) == (-1, True, -1)


def test_small_reads_ephemerals_children_number_whoami():
    b, c = connected()
    c.create("/p")
    c.create("/p/a")
    c.create("/p/a/b")
    c.create("/p/e", flags=1)
    assert c.call(OpCode.GET_ALL_CHILDREN_NUMBER, Writer().ustring("/p").bytes()).reader().int() == 3
    eph = c.call(OpCode.GET_EPHEMERALS, Writer().ustring("/p").bytes()).reader().strings()
    assert eph == ["/p/e"]
    who = c.call(OpCode.WHO_AM_I).reader()
    assert who.int() == 1 and (who.ustring(), who.ustring()) == ("ip", "127.0.0.1")


def test_whoami_names_the_digest_user_not_its_hash():
    """As ZooKeeper's DigestAuthenticationProvider.getUserName: the user, never user:hash."""
    b, c = connected()
    auth = Writer().int(0).ustring("digest").buffer(b"alice:secret").bytes()
    c.request(OpCode.AUTH, auth, xid=-4)
    c.read()
    who = c.call(OpCode.WHO_AM_I).reader()
    assert who.int() == 2
    ids = [(who.ustring(), who.ustring()), (who.ustring(), who.ustring())]
    assert ids == [("ip", "127.0.0.1"), ("digest", "alice")]
