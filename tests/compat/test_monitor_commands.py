"""The four-letter words and mntr against Apache ZooKeeper in the same state: the same lines and
fields for every word, the same text where nothing varies, and mntr's key set with what zablab
leaves out named (each with its reason, in docs/compat.md).

Both servers get the same client history from kazoo: a digest-authenticated session, a node
with a child ephemeral, a data watch and a child watch on it, an exists watch on a missing path.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient
from pair import zookeeper_and_zablab

from zablab.apache import LocalZooKeeper

pytestmark = pytest.mark.zookeeper

WORDS = "ruok srvr stat mntr envi isro conf cons dump wchs wchc wchp dirs hash crst srst".split()

# mntr keys of ZooKeeper 3.8.0 standalone that zablab does not report, by the reason
LEFT_OUT = {
    "no JVM (garbage-collector pauses)": r"jvm_pause_time_ms",
    "no Netty transport": r"netty_queued_buffer_capacity",
    "no TLS, so no mTLS bookkeeping": (
        r"outstanding_tls_handshake|tls_handshake_exceeded|unsuccessful_handshake"
        r"|non_mtls_(remote|local)_conn_count|insecure_admin_count"
    ),
    "no request throttling or connection-drop policy": (
        r"throttled_ops|request_throttle_\w+|connection_drop_\w+|connection_rejected"
        r"|connection_request_count|connection_token_deficit|connection_revalidate_count"
        r"|revalidate_count|large_requests_rejected|stale_\w+|sessionless_connections_expired"
        r"|cnxn_closed_without_zk_server_running"
    ),
    "ZooKeeper's request-processor threads and their queues (zablab runs one event loop)": (
        r"\w*commit_proc\w*|\w*commitproc\w*|\w*commit_processor\w*|\w*session_queue\w*"
        r"|session_queues_drained|request_commit_queued|prep_process\w*|prep_processor\w*"
        r"|close_session_prep_time|sync_process\w*|sync_processor\w*|commit_process_time"
        r"|read_final_proc_time_ms|write_final_proc_time_ms"
        r"|requests_not_forwarded_to_commit_processor|skip_learner_request_to_next_processor_count"
        r"|learner_request_processor_queue_size|server_write_committed_time_ms"
        r"|local_write_committed_time_ms"
    ),
    "no response cache": r"response_packet\w*cache\w*",
    "watches go with their connection at once: no dead-watcher cleaner": (
        r"dead_watchers_\w+|add_dead_watcher_stall_time|watch_bytes"
    ),
    "no tree digest in ZooKeeper's algorithm (hash reports zablab's own)": (
        r"digest_mismatches_count"
    ),
    "per-namespace request accounting is not kept": r"\w+_(read|write)_per_namespace",
    "ensemble internals zablab's replica does not measure yet": (
        r"proposal_count|\w*proposal\w*latency|proposal_process_time|\w*propagation_latency"
        r"|quorum_ack_latency|election_time|looking_count|diff_count|snap_count|commit_count"
        r"|follower_sync_time|observer_sync_time|learner_\w+_received_count|inflight_\w+_count"
        r"|leader_unavailable_time|unavailable_time|quit_leading_due_to_disloyal_voter"
        r"|ensemble_auth_\w+|om_\w+|unrecoverable_error_count"
    ),
    "start-up loading times are not measured yet": (
        r"dbinittime|startup_snap_load_time|startup_txns_load\w+|startup_txns_loaded"
    ),
    "socket close timing is not measured": r"socket_closing_time",
}
SUMMARY = re.compile(r"^(avg|min|max|cnt|sum|p50|p95|p99|p999)_(.+)$")


def reason_for(key: str) -> str | None:
    base = key[3:]
    m = SUMMARY.match(base)
    names = [base] + ([m.group(2)] if m else [])
    for reason, pattern in LEFT_OUT.items():
        if any(re.fullmatch(pattern, n) for n in names):
            return reason
    return None


def four(port: int, word: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(word.encode())
        out = b""
        while chunk := s.recv(65536):
            out += chunk
    return out.decode()


def make_state(zk: KazooClient) -> None:
    """The client history both servers get before they are asked."""
    zk.add_auth("digest", "alice:secret")
    zk.create("/a", b"hello")
    zk.create("/a/e", b"x", ephemeral=True)
    zk.get("/a", watch=lambda e: None)
    zk.get_children("/a", watch=lambda e: None)
    zk.exists("/nope", watch=lambda e: None)


def in_the_state(hosts: str, port: int) -> dict[str, str]:
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(timeout=20)
    try:
        make_state(zk)
        return {w: four(port, w) for w in WORDS}
    finally:
        zk.stop()
        zk.close()


@pytest.fixture(scope="module")
def answers(zookeeper_installed: None) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    with zookeeper_and_zablab(LocalZooKeeper(force_sync=False)) as (zk, node):
        yield in_the_state(node.address, node.port), in_the_state(zk.hosts, zk.port)


def labels(text: str) -> list[str]:
    """The label of each line: what comes before ': ', '=' or a tab."""
    return [re.split(r": |=|\t", line, maxsplit=1)[0] for line in text.splitlines()]


def masked(text: str) -> str:
    """Ids, counts, ports, times, sizes and the version out; the layout stays."""
    text = re.sub(r"(?m)^Zookeeper version: .*$", "Zookeeper version: V", text)
    text = re.sub(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \w+ \d{4}", "DATE", text)
    text = re.sub(r"0x[0-9a-f]+", "0xN", text)
    return re.sub(r"\d+(\.\d+)?", "N", text)


def cons_fields(text: str) -> list[list[str]]:
    return [re.findall(r"[(,](\w+)=", line) for line in text.splitlines() if line.strip()]


def test_plain_answers_are_identical(answers):
    ours, theirs = answers
    for w in ("ruok", "isro", "crst", "srst"):
        assert ours[w] == theirs[w], w


def layout(word: str, text: str) -> list[str]:
    """dump groups sessions under one line per expiry tick, and whether two sessions opened a
    moment apart share a tick is timing, on either server: the tick lines are compared apart."""
    lines = masked(text).splitlines()
    if word == "dump":
        lines = [line for line in lines if line != "N expire at DATE:"]
    return sorted(lines)


def expiry_ticks(text: str) -> int:
    return sum(1 for line in masked(text).splitlines() if line == "N expire at DATE:")


def test_line_layouts_match(answers):
    ours, theirs = answers
    for w in ("srvr", "stat", "dump", "wchs", "wchc", "wchp", "dirs"):
        assert layout(w, ours[w]) == layout(w, theirs[w]), w
    assert expiry_ticks(ours["dump"]) >= 1 and expiry_ticks(theirs["dump"]) >= 1
    assert labels(ours["conf"]) == labels(theirs["conf"])
    # connections come in no defined order (ZooKeeper's is a hash set's)
    assert sorted(cons_fields(ours["cons"])) == sorted(cons_fields(theirs["cons"]))
    assert sorted(masked(ours["cons"]).splitlines()) == sorted(masked(theirs["cons"]).splitlines())


def test_wchs_counts_as_zookeeper(answers):
    """Data watches only (ZooKeeper's DataTree.getWatchesSummary): the exists watch and the
    data watch count, the child watch does not."""
    ours, theirs = answers
    assert ours["wchs"] == theirs["wchs"] == "1 connections watching 2 paths\nTotal watches:2\n"


def test_envi_keys_match_but_for_the_jvm(answers):
    ours, theirs = answers
    java_only = {k for k in labels(theirs["envi"]) if k.startswith(("java.", "os.memory."))}
    python_only = {k for k in labels(ours["envi"]) if k.startswith("python.")}
    assert set(labels(ours["envi"])) - python_only == set(labels(theirs["envi"])) - java_only


def test_hash_lines_have_zookeepers_shape(answers):
    ours, theirs = answers
    for line in (ours["hash"] + theirs["hash"]).splitlines():
        assert re.fullmatch(r"[0-9a-f]+: \d+", line), line


def test_mntr_keys_match_but_for_those_left_out_with_a_reason(answers):
    ours, theirs = answers
    our_keys = set(labels(ours["mntr"]))
    their_keys = set(labels(theirs["mntr"]))
    assert our_keys - their_keys == set(), "zablab reports keys ZooKeeper 3.8 does not"
    unexplained = sorted(k for k in their_keys - our_keys if reason_for(k) is None)
    assert unexplained == [], "left out without a reason"
    explained_but_present = sorted(k for k in our_keys if reason_for(k) is not None)
    assert explained_but_present == [], "a reason listed for a key zablab reports"
    for key in (
        "zk_version zk_server_state zk_uptime zk_avg_latency zk_min_latency zk_max_latency "
        "zk_packets_received zk_packets_sent zk_num_alive_connections zk_outstanding_requests "
        "zk_znode_count zk_watch_count zk_ephemerals_count zk_approximate_data_size "
        "zk_open_file_descriptor_count zk_max_file_descriptor_count zk_avg_fsynctime "
        "zk_p99_readlatency zk_p99_updatelatency"
    ).split():
        assert key in our_keys, key
    ours_mntr = dict(line.split("\t", 1) for line in ours["mntr"].splitlines())
    theirs_mntr = dict(line.split("\t", 1) for line in theirs["mntr"].splitlines())
    for key in ("zk_znode_count", "zk_ephemerals_count", "zk_watch_count", "zk_global_sessions"):
        assert ours_mntr[key] == theirs_mntr[key], key
    assert ours_mntr["zk_approximate_data_size"] == theirs_mntr["zk_approximate_data_size"]


def test_a_word_off_the_whitelist_is_refused_as_zookeeper_refuses_it(zookeeper_installed):
    listed = "4lw.commands.whitelist=srvr, mntr"
    zk = LocalZooKeeper(extra={"4lw.commands.whitelist": "srvr, mntr"}, force_sync=False)
    with zookeeper_and_zablab(zk, listed) as (zk, node):
        for word in ("ruok", "cons", "envi"):
            refusal = f"{word} is not executed because it is not in the whitelist.\n"
            assert four(zk.port, word) == refusal
            assert four(node.port, word) == refusal
        assert four(node.port, "srvr").startswith("Zookeeper version:")
