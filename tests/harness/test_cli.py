"""User errors end in one sentence and exit 255; `cluster up|status|down` and `analyze`."""

from __future__ import annotations

import pytest

from tests.harness.conftest import needs_zookeeper
from zablab.cli import main


@pytest.mark.parametrize(
    "args, message",
    [
        (["--nemesis", "partition,bogus"], "unknown --nemesis bogus"),
        (["--concurrency", "lots"], "--concurrency must be a number"),
        (["--workload", "nope"], "unknown --workload 'nope'"),
        (["--db", "etcd"], "unknown --db 'etcd'"),
        (["--backend", "cloud"], "unknown --backend 'cloud'"),
        (["--test-count", "0"], "--test-count must be at least 1"),
    ],
)
def test_bad_options_are_one_line_errors(args, message, tmp_path, runtime_dir, capsys):
    assert main(["test", "--store", str(tmp_path), "-q", *args]) == 255
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_analyze_without_runs_says_what_to_do(tmp_path, capsys):
    assert main(["analyze", "--store", str(tmp_path)]) == 255
    assert "run `zablab test` first" in capsys.readouterr().err


@pytest.mark.zookeeper
@needs_zookeeper
def test_cluster_up_status_down(runtime_dir, capsys):
    try:
        assert main(["cluster", "up", "--db", "zookeeper", "--nodes", "1"]) == 0
        out = capsys.readouterr().out
        assert "connect: 127.0.0.1:" in out and "zkCli:" in out
        connect = out.split("connect: ")[1].split()[0]
        from kazoo.client import KazooClient

        zk = KazooClient(hosts=connect)
        zk.start(timeout=10)
        zk.ensure_path("/hello")
        zk.stop()
        zk.close()
        assert main(["cluster", "status"]) == 0
        assert "standalone" in capsys.readouterr().out
    finally:
        assert main(["cluster", "down"]) == 0
    assert "cleaned cluster run" in capsys.readouterr().out
    assert not list(runtime_dir.glob("*.json"))
    main(["cluster", "status"])
    assert "no local cluster is running" in capsys.readouterr().out


def test_serve_browses_the_store_on_localhost(tmp_path):
    import subprocess
    import sys
    import urllib.request

    (tmp_path / "latest").write_text("t/1\n")
    p = subprocess.Popen(
        [sys.executable, "-m", "zablab", "serve", "--store", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = p.stdout.readline() if p.stdout else ""
        url = line.split(" at ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "latest", timeout=10) as r:
            assert r.read() == b"t/1\n"
    finally:
        p.terminate()
        p.wait(10)
