"""The node's HTTP endpoints, standard library only: the AdminServer (/commands,
/commands/<name>, JSON) and the Prometheus endpoint (/metrics), each on its own port as in
ZooKeeper (admin.serverPort, default 8080; metricsProvider.httpPort, default 7000).

One request per connection (HTTP/1.1 with Connection: close, which curl, Kubernetes probes and
Prometheus all accept); GET and HEAD only; a request line or headers over 16 KiB, or anything
that is not HTTP, gets 400 and the connection closed, and the node keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from http import HTTPStatus

from zablab.errors import UserError

from . import admin, prometheus
from .monitor import ServerView
from .options import ServerOptions

log = logging.getLogger("zablab.node.http")

MAX_HEAD = 16 * 1024
READ_TIMEOUT = 10.0

Reply = tuple[int, str, bytes]  # status, content type, body
Route = Callable[[str], Reply]


def admin_routes(core: ServerView, base: str = "/commands") -> Route:
    def route(path: str) -> Reply:
        if path.rstrip("/") == base:
            return 200, "text/html", admin.index_html().encode()
        if path.startswith(base + "/"):
            name = path[len(base) + 1 :].strip("/")
            out = admin.run(core, name)
            if out is None:
                body = {"command": name, "error": f"Unknown command: {name}"}
                return 404, "application/json", json.dumps(body).encode()
            return 200, "application/json", json.dumps(out, indent=2).encode()
        return 404, "text/plain", b"Not found: try /commands\n"

    return route


def metrics_routes(core: ServerView) -> Route:
    def route(path: str) -> Reply:
        if path.rstrip("/") == "/metrics":
            return 200, prometheus.CONTENT_TYPE, prometheus.render(core).encode()
        return 404, "text/plain", b"Not found: try /metrics\n"

    return route


async def start_endpoints(core: ServerView, opts: ServerOptions) -> list[asyncio.Server]:
    """The AdminServer and the metrics endpoint, as zoo.cfg turned them on."""
    out = []
    if opts.admin_enabled:
        route = admin_routes(core, opts.admin_command_url)
        out.append(await serve(opts.admin_address, opts.admin_port, route, "AdminServer"))
    if opts.metrics_enabled:
        route = metrics_routes(core)
        out.append(await serve(opts.metrics_host, opts.metrics_port, route, "Prometheus metrics"))
    return out


async def serve(host: str, port: int, route: Route, what: str) -> asyncio.Server:
    """Listen for `route`; a port in use is a one-line UserError naming the key to change."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            status, ctype, body, head_only = _answer(head, route)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, ctype, body, head_only = 400, "text/plain", b"Bad request\n", False
        except ConnectionError:
            writer.close()
            return
        reason = HTTPStatus(status).phrase
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + (b"" if head_only else body)
        )
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    try:
        srv = await asyncio.start_server(handle, host, port, limit=MAX_HEAD, reuse_address=True)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port} for the {what}: {exc.strerror}; "
            "pick another port in zoo.cfg or turn it off."
        ) from None
    bound = srv.sockets[0].getsockname()[1]
    log.info("%s on http://%s:%d", what, host, bound)
    return srv


def _answer(head: bytes, route: Route) -> tuple[int, str, bytes, bool]:
    try:
        line = head.split(b"\r\n", 1)[0].decode("ascii")
        method, target, version = line.split(" ")
    except (UnicodeDecodeError, ValueError):
        return 400, "text/plain", b"Bad request\n", False
    if not version.startswith("HTTP/"):
        return 400, "text/plain", b"Bad request\n", False
    if method not in ("GET", "HEAD"):
        return 405, "text/plain", b"Only GET and HEAD\n", False
    status, ctype, body = route(target.split("?", 1)[0])
    return status, ctype, body, method == "HEAD"
