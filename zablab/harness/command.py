"""`zablab test`, `zablab analyze`, `zablab serve`, `zablab cluster up|down|status`.

Heavy imports (kazoo, matplotlib) stay inside the functions so `zablab --help` starts fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

TEST_EPILOG = """Examples:

  zablab test                                     # 5 zablab nodes, register, partitions and kills, 60 s

  zablab test --db zookeeper --nodes 3 --time-limit 30

  zablab test --workload set --nemesis partition-majorities-ring,pause --concurrency 4n

  zablab test --seed 42 --test-count 5            # repeat with seeds 42..46

  zablab test --nodes 3 --protocol paxos          # the same server replicated by Multi-Paxos

Nemeses: partition (a random shape each time), partition-one, partition-minority,
partition-halves, partition-majorities-ring, partition-bridge, partition-leader, loss, delay,
kill, pause, clock; combine with commas, or none.

Exit status: 0 valid, 1 invalid, 2 unknown (nothing checked, the run did
not finish, or no op succeeded for longer than --max-unavailable),
130 interrupted (Ctrl-C; the partial run is kept, marked interrupted),
255 harness error (bad option, cluster down)."""


# ssh-backend options, shared by `zablab test` and `zablab cluster up`
SSH_USER = typer.Option("", "--ssh-user", help="ssh backend: login (default root).")
SSH_PORT = typer.Option(
    None, "--ssh-port", show_default=False, help="ssh backend: port (default 22)."
)
SSH_KEY = typer.Option("", "--ssh-key", help="ssh backend: private key file.")
KNOWN_HOSTS = typer.Option(
    "", "--known-hosts", help="ssh backend: known_hosts file (default ~/.ssh/known_hosts)."
)
SSH_CONFIG = typer.Option(
    "", "--ssh-config", help="ssh backend: OpenSSH config (user, port, key per host)."
)
NO_STRICT_HOST_KEYS = typer.Option(
    False, "--no-strict-host-keys", help="ssh backend: accept unknown host keys."
)


def test(
    backend: str = typer.Option("local", "--backend", help="local | netns | docker | ssh."),
    db: str = typer.Option("zablab", "--db", help="zablab | zookeeper."),
    nodes: int | None = typer.Option(
        None, "--nodes", "-n", help="Cluster size (default 5, or every host of --nodes-file)."
    ),
    nodes_file: str | None = typer.Option(
        None, "--nodes-file", help="Hosts for the ssh backend, one a line."
    ),
    workload: str = typer.Option(
        "register",
        "--workload",
        "-w",
        help="register | kv | set | counter | queue | lock | unique-ids | session | election.",
    ),
    nemesis: str = typer.Option(
        "partition,kill", "--nemesis", help="Comma-separated faults, or none."
    ),
    nemesis_interval: float = typer.Option(
        5.0, "--nemesis-interval", help="Seconds between fault changes."
    ),
    time_limit: float = typer.Option(60.0, "--time-limit", "-t", help="Seconds of workload."),
    concurrency: str = typer.Option(
        "2n", "--concurrency", "-c", help="Workers: a number, or Nn per node."
    ),
    rate: float = typer.Option(
        0.0, "--rate", help="Total ops/s across workers (0: as fast as possible)."
    ),
    client_procs: int = typer.Option(
        0,
        "--client-procs",
        help="Processes the workers run in (kazoo is bound to one core per process); "
        "0: two per core.",
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Random seed (default: random, saved in test.json)."
    ),
    test_count: int = typer.Option(
        1, "--test-count", help="Run the test this many times (seed, seed+1, ...)."
    ),
    shard: str | None = typer.Option(
        None, "--shard", metavar="I/K", help="Run only shard I of K of the --test-count seeds."
    ),
    until_invalid: bool = typer.Option(
        False,
        "--until-invalid",
        help="With --test-count: stop at the first invalid run (hunting a bug, not sampling).",
    ),
    ready_timeout: float = typer.Option(
        90.0,
        "--ready-timeout",
        help="Seconds the cluster gets to come up, at the start and again before the final "
        "reads (past it the final reads go to the nodes that serve).",
    ),
    store_dir: str = typer.Option("store", "--store", help="Where runs are kept."),
    name: str | None = typer.Option(None, "--name", help="Test name (default: <db>-<workload>)."),
    op_timeout: float = typer.Option(
        3.0, "--op-timeout", help="Seconds before an op counts as unknown (info)."
    ),
    max_unavailable: float | None = typer.Option(
        None,
        "--max-unavailable",
        show_default=False,
        help="Seconds ops may go without success after a fault heals before the verdict is "
        "unknown (default: two session timeouts, at least 10 s).",
    ),
    client_bug: str = typer.Option(
        "none", "--client-bug", hidden=True, help="none | lost-write | stale-read | no-fencing."
    ),
    session_timeout: float = typer.Option(10.0, "--session-timeout", help="Client sessions, s."),
    db_args: str = typer.Option(
        "", "--db-args", help="Extra flags for every zablab node (e.g. a seeded bug)."
    ),
    protocol: str = typer.Option(
        "",
        "--protocol",
        help="zablab's replication protocol: zab (default) or paxos (zoo.cfg zablab.protocol).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    ssh_user: str = SSH_USER,
    ssh_port: int | None = SSH_PORT,
    ssh_key: str = SSH_KEY,
    known_hosts: str = KNOWN_HOSTS,
    ssh_config: str = SSH_CONFIG,
    no_strict_host_keys: bool = NO_STRICT_HOST_KEYS,
) -> None:
    """Run a Jepsen-style test: cluster up, workload + faults, heal, check, report."""
    import random

    from zablab.errors import UserError
    from zablab.harness.progress import run_with_progress
    from zablab.harness.runner import Runner, TestOptions

    if test_count < 1:
        raise UserError("--test-count must be at least 1.")
    if time_limit <= 0:
        raise UserError("--time-limit must be positive.")
    backend, nodes, ssh = _target(
        backend,
        nodes,
        nodes_file,
        5,
        (ssh_user, ssh_port, ssh_key, known_hosts, ssh_config, no_strict_host_keys),
    )
    base_seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    seeds = [base_seed + i for i in range(test_count)]
    if shard:
        from zablab.shards import shard as shard_of

        if seed is None:
            raise UserError("--shard needs --seed, so that every shard splits the same seeds.")
        seeds = shard_of(seeds, shard)
    worst = 0
    for run_seed in seeds:
        opts = TestOptions(
            backend=backend,
            db=db,
            nodes=nodes,
            nodes_file=nodes_file,
            workload=workload,
            nemesis=nemesis,
            nemesis_interval=nemesis_interval,
            time_limit=time_limit,
            ready_timeout=ready_timeout,
            concurrency=concurrency,
            rate=rate,
            client_procs=client_procs,
            seed=run_seed,
            store=store_dir,
            name=name,
            op_timeout=op_timeout,
            max_unavailable=max_unavailable,
            session_timeout=session_timeout,
            client_bug=client_bug,
            db_args=db_args,
            protocol=protocol,
            extra={"ssh": ssh} if ssh else {},
        )
        if max_unavailable is not None and max_unavailable <= 0:
            raise UserError("--max-unavailable must be positive (seconds).")
        runner = Runner(opts)
        try:
            outcome = run_with_progress(runner, quiet)
        except KeyboardInterrupt:
            raise
        except UserError:
            if runner.run_dir is not None:
                _print_errors(runner.errors, runner.run_dir)
            raise
        except Exception as exc:  # a harness bug: exit 255 (not 1, which means "invalid")
            import sys

            if runner.run_dir is not None:
                _print_errors(runner.errors, runner.run_dir)
            print(
                f"zablab: harness error: {type(exc).__name__}: {exc} (traceback in the run's "
                "zablab.log)",
                file=sys.stderr,
            )
            raise SystemExit(255) from None
        _print_errors(outcome.errors, outcome.run_dir)
        if outcome.interrupted:
            _print_interrupted(outcome)
            raise SystemExit(outcome.exit_code)
        print(
            f"{outcome.run_dir}: {_verdict_line(outcome.result)} ({outcome.ops:,} ops, "
            f"{outcome.seconds:.0f} s, seed {opts.seed})"
        )
        for c in outcome.result.children:
            _print_result(c, "  ")
        print(f"  report: {outcome.run_dir / 'report.html'}")
        worst = _worse(worst, outcome.exit_code)
        if until_invalid and outcome.exit_code == 1:
            break
    raise SystemExit(
        worst
    )  # click returns typer.Exit codes in non-standalone mode; main() drops them


def _target(
    backend: str,
    nodes: int | None,
    nodes_file: str | None,
    default_nodes: int,
    ssh_flags: tuple[str, int | None, str, str, str, bool],
) -> tuple[str, int, dict[str, object]]:
    """(backend, node count, ssh options) from the flags: a nodes file means ssh and, unless
    --nodes says otherwise, every host in it; ssh flags are checked and refused elsewhere."""
    from zablab.errors import UserError
    from zablab.harness import backends

    if nodes_file and backend == "local":
        backend = "ssh"
    user, port, key, known_hosts, ssh_config, no_strict = ssh_flags
    ssh = backends.ssh_options(
        user=user or None,
        port=port,
        key_file=key or None,
        known_hosts=known_hosts or None,
        ssh_config=ssh_config or None,
        strict_host_keys=not no_strict,
    )
    if ssh and backend != "ssh":
        raise UserError(
            f"--ssh-* / --known-hosts options are for --backend ssh, not {backend}; drop them."
        )
    if nodes is None:
        nodes = default_nodes
        if nodes_file:
            from zablab.harness.backends.ssh import read_nodes_file

            nodes = len(read_nodes_file(nodes_file))
    return backend, nodes, ssh


def _worse(a: int, b: int) -> int:
    rank = {0: 0, 2: 1, 1: 2, 255: 3}
    return a if rank.get(a, 3) >= rank.get(b, 3) else b


VERDICTS = {True: "valid", False: "INVALID", "unknown": "unknown"}


def _verdict_line(result: Any) -> str:
    """`valid`, `INVALID`, or `unknown: <the first reason>` in one line."""
    from zablab.harness.runner import unknown_reason

    why = unknown_reason(result)
    return f"unknown: {why}" if why else VERDICTS[result.valid]


def _print_result(r, indent: str) -> None:  # type: ignore[no-untyped-def]
    line = f"{indent}{r.checker}: {VERDICTS[r.valid]}"
    if r.summary:
        line += f" — {r.summary}"
    elif r.valid == "unknown" and r.details.get("reason"):
        line += f" ({r.details['reason']})"
    print(line)
    for c in r.children:
        _print_result(c, indent + "  ")


def _print_errors(errors: list[str], run_dir: Path, most: int = 10) -> None:
    import sys

    if not errors:
        return
    print(
        f"warnings and errors during the run, by kind (the first of each in "
        f"{run_dir / 'zablab.log'}):",
        file=sys.stderr,
    )
    for line in errors[:most]:
        print(f"  {line}", file=sys.stderr)
    if len(errors) > most:
        print(f"  ... and {len(errors) - most} kinds more", file=sys.stderr)


def _print_interrupted(outcome: Any) -> None:
    import sys

    print("zablab: interrupted; cleaned up:", file=sys.stderr)
    for note in outcome.cleaned or ["nothing had started yet"]:
        print(f"  {note}", file=sys.stderr)
    print(
        f"partial run ({outcome.ops:,} ops): {outcome.run_dir}, marked interrupted "
        f"(`zablab analyze {outcome.run_dir}` re-checks what it recorded; the verdict stays "
        "unknown)",
        file=sys.stderr,
    )


def analyze(
    run: str | None = typer.Argument(None, help="Run directory, test name, or latest (default)."),
    store_dir: str = typer.Option("store", "--store", help="Where runs are kept."),
) -> None:
    """Re-check a stored run from its history and rewrite results.json and report.html."""
    from zablab.harness import store
    from zablab.harness.report import write_report
    from zablab.harness.runner import analyze as analyze_run

    d = store.resolve_run(store_dir, run)
    result = analyze_run(d)
    write_report(d)
    print(f"{d}: {_verdict_line(result)}")
    for c in result.children:
        _print_result(c, "  ")
    print(f"  report: {d / 'report.html'}")
    raise SystemExit(result.exit_code)


def serve(
    store_dir: str = typer.Option("store", "--store", help="Directory to serve."),
    port: int = typer.Option(8080, "--port", help="Port to listen on (0: any free port)."),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind (0.0.0.0 shows the store to the network)."
    ),
) -> None:
    """Browse the runs in a browser (http://127.0.0.1:PORT/): a table of runs, latest first,
    with their verdicts, linking to each report; until Ctrl-C."""
    from zablab.harness.serve import serve_forever

    serve_forever(Path(store_dir), host, port)


DOCKER_CLUSTER = "docker-cluster"  # state-file kind of a `cluster up --backend docker`

cluster_app = typer.Typer(
    help="A cluster to play with by hand (local processes).", no_args_is_help=True
)


@cluster_app.command("up")
def cluster_up(
    db: str = typer.Option("zablab", "--db", help="zablab | zookeeper."),
    nodes: int | None = typer.Option(
        None, "--nodes", "-n", help="Cluster size (default 3, or every host of --nodes-file)."
    ),
    backend: str = typer.Option("local", "--backend", help="local | docker | ssh."),
    nodes_file: str | None = typer.Option(
        None, "--nodes-file", help="Hosts for the ssh backend, one a line."
    ),
    ssh_user: str = SSH_USER,
    ssh_port: int | None = SSH_PORT,
    ssh_key: str = SSH_KEY,
    known_hosts: str = KNOWN_HOSTS,
    ssh_config: str = SSH_CONFIG,
    no_strict_host_keys: bool = NO_STRICT_HOST_KEYS,
) -> None:
    """Start a cluster and print its connection string (stop it with `zablab cluster down`)."""
    from zablab.errors import UserError

    backend, nodes, ssh = _target(
        backend,
        nodes,
        nodes_file,
        3,
        (ssh_user, ssh_port, ssh_key, known_hosts, ssh_config, no_strict_host_keys),
    )
    if backend == "local":
        from zablab.harness.cluster import up

        info = up(db, nodes)
    elif backend in ("docker", "ssh"):
        info = _remote_cluster_up(backend, db, nodes, nodes_file, ssh)
    else:
        raise UserError(f"unknown --backend {backend!r} for a cluster; use local, docker or ssh.")
    print(f"{db} cluster of {nodes} up; leader {info['leader']}")
    print(f"connect: {info['connect']}")
    print(f"kazoo:   KazooClient(hosts={info['connect']!r})")
    print(f"zkCli:   {info['zkcli']}")
    if db == "zablab" and info.get("state"):
        print(
            f'secret:  this ensemble\'s secret is in {info["state"]} ("secret"); a node you add '
            "needs it in ZABLAB_ENSEMBLE_SECRET"
        )


@cluster_app.command("down")
def cluster_down() -> None:
    """Stop every local cluster, and clean up what crashed test runs left behind."""
    from zablab.harness.cluster import down

    docker_notes = _docker_cluster_down()
    notes = down()
    if docker_notes and notes == ["nothing to clean up."]:
        notes = []
    for note in notes + docker_notes:
        print(note)


def _remote_cluster_up(
    backend_name: str, db_name: str, count: int, nodes_file: str | None, ssh: dict[str, object]
) -> dict[str, str]:
    """A cluster on Docker containers (kept until `cluster down`) or on the ssh hosts."""
    from zablab.apache.classpath import cli_command
    from zablab.harness.backends import get_backend
    from zablab.harness.db import get_db

    if count < 1:
        from zablab.errors import UserError

        raise UserError("--nodes must be at least 1.")
    backend = get_backend(
        backend_name,
        {"db": db_name, "nodes_file": nodes_file, "ssh": ssh, "persistent": True},
    )
    ok = False
    state = ""
    try:
        nodes = backend.setup(count)
        db = get_db(db_name)
        db.setup(nodes)
        for n in nodes:
            db.start(n)
        db.await_ready(nodes, 90.0)
        if backend_name == "docker":  # for `cluster down`; ssh hosts are left as they are
            from zablab.harness import leftovers

            st = leftovers.RunState.create(DOCKER_CLUSTER, "docker")
            st.info = {"run": backend.run_id, "db": db_name}
            secret = getattr(db, "secret", None)
            if secret:
                st.info["secret"] = secret
            st.save()
            state = st.path
        ok = True
        return {
            "connect": db.connection_string(nodes),
            "leader": ", ".join(db.primaries(nodes)),
            "zkcli": " ".join(cli_command(nodes[0].client_address)),
            "state": state,
        }
    finally:
        if not ok:
            backend.teardown()


def _docker_cluster_down() -> list[str]:
    """Remove `cluster up --backend docker` containers, when Docker is here at all."""
    from zablab.harness import leftovers

    states = [st for st in leftovers.load_all() if st.kind == DOCKER_CLUSTER]
    if not states:  # Docker is left alone unless this user's `cluster up` used it
        return []
    try:
        from zablab.harness.backends.docker import DockerBackend, remove_run

        backend = DockerBackend(persistent=True)
        for st in states:
            remove_run(backend.client, str(st.info.get("run", "")))
            st.remove()
        backend.cleanup_leftovers(include_persistent=True)
    except Exception as exc:
        return [f"docker clean-up failed: {exc}; is the Docker daemon running?"]
    return [f"removed docker cluster {st.info.get('run')}." for st in states]


@cluster_app.command("status")
def cluster_status() -> None:
    """Show running local clusters: nodes, their mode, the connection string."""
    from zablab.harness.cluster import status

    rows = status()
    if not rows:
        print("no local cluster is running (start one with `zablab cluster up`).")
    for r in rows:
        print(f"{r['db']} cluster ({r['state']}): {r['connect']}")
        for n in r["nodes"]:
            print(f"  {n['name']} {n['address']} pid {n['pid']}: {n['mode'] or 'not serving'}")


def register(app: typer.Typer) -> None:
    app.command("test", epilog=TEST_EPILOG)(test)
    app.command("analyze")(analyze)
    app.command("serve")(serve)
    app.add_typer(cluster_app, name="cluster")
