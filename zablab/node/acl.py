"""ACL schemes and checks as ZooKeeper's providers do them: world, ip, digest, auth."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from collections.abc import Iterable, Sequence

from .protocol import ACL, Err, Id


class KeeperError(Exception):
    """A request failed with a ZooKeeper error code (becomes an error txn or error reply)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def digest(user_password: str) -> str:
    """`user:password` -> `user:base64(sha1(user:password))`, the digest scheme's id."""
    user = user_password.split(":", 1)[0]
    h = hashlib.sha1(user_password.encode("utf-8")).digest()
    return f"{user}:{base64.b64encode(h).decode('ascii')}"


def _ip_matches(client: str, pattern: str) -> bool:
    try:
        if "/" in pattern:
            net = ipaddress.ip_network(pattern, strict=False)
            return ipaddress.ip_address(client) in net
        return ipaddress.ip_address(client) == ipaddress.ip_address(pattern)
    except ValueError:
        return False


def _ip_valid(pattern: str) -> bool:
    try:
        ipaddress.ip_network(pattern, strict=False)
        return True
    except ValueError:
        return False


def _digest_valid(ident: str) -> bool:
    # Java's String.split(":") drops trailing empty strings
    parts = ident.split(":")
    while parts and parts[-1] == "":
        parts.pop()
    return len(parts) == 2


def check(acl: Sequence[ACL], perm: int, auth: Iterable[Id]) -> None:
    """Raise NOAUTH unless one ACL entry grants `perm` to one of the connection's ids."""
    if not acl:
        return
    auth = list(auth)
    for a in acl:
        if a.perms & perm:
            s = a.id.scheme
            if s == "world" and a.id.id == "anyone":
                return
            for ident in auth:
                if ident.scheme != s:
                    continue
                if s == "ip":
                    if _ip_matches(ident.id, a.id.id):
                        return
                elif s == "digest" and ident.id == a.id.id:
                    return
    raise KeeperError(Err.NOAUTH)


def allowed(acl: Sequence[ACL], perm: int, auth: Iterable[Id]) -> bool:
    try:
        check(acl, perm, auth)
    except KeeperError:
        return False
    return True


def fixup(acl: Sequence[ACL], auth: Iterable[Id]) -> list[ACL]:
    """Validate a client's ACL list and expand the `auth` scheme, as ZooKeeper's fixupACL."""
    uniq: list[ACL] = []
    for a in acl:
        if a not in uniq:
            uniq.append(a)
    if not uniq:
        raise KeeperError(Err.INVALIDACL)
    out: list[ACL] = []
    for a in uniq:
        s = a.id.scheme
        if s == "world" and a.id.id == "anyone":
            out.append(a)
        elif s == "auth":
            ids = [i for i in auth if i.scheme == "digest"]
            if not ids:
                raise KeeperError(Err.INVALIDACL)
            out.extend(ACL(a.perms, i) for i in ids)
        elif s == "digest" and _digest_valid(a.id.id):
            out.append(a)
        elif s == "ip" and _ip_valid(a.id.id):
            out.append(a)
        else:
            raise KeeperError(Err.INVALIDACL)
    return out
