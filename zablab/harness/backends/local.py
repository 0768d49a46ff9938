"""The `local` backend: nodes are processes on 127.0.0.1, peer traffic goes through FaultProxy.

Each node gets its own view of the cluster (`node.meta["peers"]`): its own entry at its real
ports, every other member at the proxy listener for this directed pair. DB adapters write that
view into the node's zoo.cfg, so faults need neither root nor namespaces.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from zablab.harness import leftovers
from zablab.harness.backends.base import Grudge, Node
from zablab.harness.control.local import LocalRemote
from zablab.harness.faults.clock import FaketimeClock
from zablab.harness.faults.proxy import FaultProxy
from zablab.ports import free_port

HOST = "127.0.0.1"


class ProxyNet:
    """Net over the fault proxy. Grudge {a: {b}}: a no longer hears b, i.e. bytes b→a are cut."""

    def __init__(self, proxy: FaultProxy, names: list[str]):
        self.proxy = proxy
        self.names = names
        self._loss: dict[tuple[str, str], float] = {}
        self._delay: dict[tuple[str, str], float] = {}

    def partition(self, grudge: Grudge) -> None:
        from zablab.errors import UserError

        unknown = {x for a, bs in grudge.items() for x in {a, *bs} if x not in self.names}
        if unknown:
            raise UserError(f"partition names unknown nodes: {', '.join(sorted(unknown))}")
        cut = self.proxy.blocked() | {(b, a) for a, bs in grudge.items() for b in bs if a != b}
        self.proxy.set_blocked(cut)

    def heal(self) -> None:
        self._loss.clear()
        self._delay.clear()
        self.proxy.heal()

    def loss(self, nodes: list[str], probability: float) -> None:
        for a in nodes:
            for b in self.names:
                if a != b:
                    self._loss[(b, a)] = probability
        self.proxy.set_loss(self._loss)

    def delay(self, nodes: list[str], ms: int) -> None:
        for a in nodes:
            for b in self.names:
                if a != b:
                    self._delay[(b, a)] = ms / 1000.0
        self.proxy.set_delay(self._delay)

    def rules(self, node: str) -> list[str]:
        out = [f"drop from {a}" for (a, b) in sorted(self.proxy.blocked()) if b == node]
        out += [
            f"loss {p:g} from {a}" for (a, b), p in sorted(self.proxy.loss().items()) if b == node
        ]
        out += [
            f"delay {d * 1000:g}ms from {a}"
            for (a, b), d in sorted(self.proxy.delay().items())
            if b == node
        ]
        return out


class LocalBackend:
    """Processes on this machine; `proxy=False` wires peers directly (for `zablab cluster up`)."""

    name = "local"

    def __init__(self, base_dir: str | None = None, proxy: bool = True, seed: int | None = None):
        self._base_arg = base_dir
        self.base_dir = ""
        self.use_proxy = proxy
        self.seed = seed
        self.proxy: FaultProxy | None = None
        self.nodes: list[Node] = []
        self._net: ProxyNet | None = None
        self._clock: FaketimeClock | None = None

    def setup(self, count: int) -> list[Node]:
        self.base_dir = self._base_arg or tempfile.mkdtemp(prefix="zablab-local-")
        os.makedirs(self.base_dir, exist_ok=True)
        names = [f"n{i}" for i in range(1, count + 1)]
        remote = LocalRemote(HOST)
        self.nodes = [
            Node(
                name=name,
                id=i,
                host=HOST,
                remote=remote,
                client_port=free_port(),
                peer_ports=(free_port(), free_port()),
                workdir=os.path.join(self.base_dir, name),
            )
            for i, name in enumerate(names, 1)
        ]
        for n in self.nodes:
            os.makedirs(n.workdir, exist_ok=True)
        if self.use_proxy:
            self.proxy = FaultProxy(HOST, seed=self.seed)
            for a in self.nodes:
                for b in self.nodes:
                    if a is b:
                        continue
                    for kind, port in zip(("quorum", "election"), b.peer_ports, strict=True):
                        self.proxy.add_link(a.name, b.name, (HOST, port), kind)
            for a in self.nodes:
                for b in self.nodes:
                    if a is not b:
                        back = self.proxy.port(b.name, a.name, "election")
                        self.proxy.set_advertise(a.name, b.name, "election", f"{HOST}:{back}")
            self._net = ProxyNet(self.proxy, names)
        for a in self.nodes:
            peers: dict[str, tuple[str, int, int]] = {}
            for b in self.nodes:
                if a is b or self.proxy is None:
                    peers[b.name] = (HOST, *b.peer_ports)
                else:
                    peers[b.name] = (
                        HOST,
                        self.proxy.port(a.name, b.name, "quorum"),
                        self.proxy.port(a.name, b.name, "election"),
                    )
            a.meta["peers"] = peers
        return self.nodes

    def net(self) -> ProxyNet:
        if self._net is None:
            from zablab.errors import UserError

            raise UserError(
                "this local cluster runs without the fault proxy; network faults need `zablab test`."
            )
        return self._net

    def clock(self) -> FaketimeClock:
        if self._clock is None:
            self._clock = FaketimeClock(
                {n.name: n.remote for n in self.nodes}, {n.name: n.workdir for n in self.nodes}
            )
        return self._clock

    def teardown(self) -> None:
        if self.proxy is not None:
            self.proxy.close()
            self.proxy = None
        if self._clock is not None:
            with contextlib.suppress(Exception):
                self._clock.reset()
        if self.base_dir and not self._base_arg:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def cleanup_leftovers(self) -> None:
        leftovers.cleanup(("test",))
