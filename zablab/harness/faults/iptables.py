"""Network faults by iptables on each node (its namespace, container or VM), driven over its Remote.

All rules live in one chain, ZABLAB, hooked first into INPUT, so healing is "flush the chain" and
nothing else on the host is touched. Faults drop *incoming* packets, as Jepsen's partitions do: a
grudge {a: {b}} means a no longer hears b. Packets from the harness's own control address are
exempt (the chain's first rule returns them), so faults never cut the harness off from a node. Packet loss uses the statistic match because tc netem
is not available everywhere (it is not on the machines this project is tested on).
"""

from __future__ import annotations

from collections.abc import Mapping

from zablab.errors import UserError
from zablab.harness.backends.base import Grudge
from zablab.harness.control.remote import Remote

CHAIN = "ZABLAB"


def partition_rules(grudge: Grudge, addresses: Mapping[str, str]) -> dict[str, list[str]]:
    """iptables rule specs (without the -A CHAIN part) per node for a grudge."""
    rules: dict[str, list[str]] = {}
    for node, enemies in grudge.items():
        rules[node] = [f"-s {addresses[e]} -j DROP" for e in sorted(enemies) if e != node]
    return rules


def loss_rule(probability: float) -> str:
    if not 0.0 < probability <= 1.0:
        raise UserError(f"packet loss probability must be in (0, 1], not {probability}")
    return f"-m statistic --mode random --probability {probability:.4f} -j DROP"


class IptablesNet:
    """Net implementation over Remotes that run as root inside each node's network stack."""

    def __init__(
        self,
        remotes: Mapping[str, Remote],
        addresses: Mapping[str, str],
        exempt: tuple[str, ...] = (),
    ):
        self.remotes = dict(remotes)
        self.addresses = dict(addresses)
        self.exempt = exempt

    def _ensure_chain(self, node: str) -> None:
        r = self.remotes[node]
        exempt = "".join(f" && iptables -w -A {CHAIN} -s {a} -j RETURN" for a in self.exempt)
        r.exec(
            f"iptables -w -C INPUT -j {CHAIN} 2>/dev/null || "
            f"(iptables -w -N {CHAIN}{exempt} && iptables -w -I INPUT 1 -j {CHAIN})"
        )

    def _append(self, node: str, specs: list[str]) -> None:
        if not specs:
            return
        self._ensure_chain(node)
        cmd = " && ".join(f"iptables -w -A {CHAIN} {s}" for s in specs)
        self.remotes[node].exec(cmd)

    def partition(self, grudge: Grudge) -> None:
        unknown = {
            n for n, es in grudge.items() for n2 in ({n} | set(es)) if n2 not in self.addresses
        }
        if unknown:
            raise UserError(f"partition names unknown nodes: {', '.join(sorted(unknown))}")
        for node, specs in partition_rules(grudge, self.addresses).items():
            self._append(node, specs)

    def loss(self, nodes: list[str], probability: float) -> None:
        spec = loss_rule(probability)
        for node in nodes:
            self._append(node, [spec])

    def delay(self, nodes: list[str], ms: int) -> None:
        raise UserError(
            "added latency needs tc netem, which this backend cannot use; "
            "use --backend local (its userspace proxy adds latency)"
        )

    def heal(self) -> None:
        for node in self.remotes:
            self.heal_node(node)

    def heal_node(self, node: str) -> None:
        self.remotes[node].exec(
            f"iptables -w -D INPUT -j {CHAIN} 2>/dev/null; "
            f"iptables -w -F {CHAIN} 2>/dev/null; iptables -w -X {CHAIN} 2>/dev/null; true"
        )

    def rules(self, node: str) -> list[str]:
        res = self.remotes[node].exec(f"iptables -w -S {CHAIN}", check=False)
        if res.rc != 0:
            return []
        return [
            line
            for line in res.out.splitlines()
            if line.startswith(f"-A {CHAIN}") and not line.endswith("-j RETURN")
        ]
