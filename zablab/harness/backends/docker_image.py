"""The node image for the docker backend, built without a registry.

No registry is reachable on many CI machines and lab networks, so the image is made from a
Debian rootfs that debootstrap fetches from the host's apt mirror and `docker import` turns into
an image. The tag is a hash of the recipe: a changed recipe builds a new image, an unchanged one
is reused. Where a registry is reachable (Docker Desktop on a laptop), the same recipe rendered
as a Dockerfile (docker/Dockerfile) builds the same image from `debian:bookworm-slim`.

Two flavors: `base` (python3, sshd, iptables, iproute2, libfaketime, procps: enough for the
zablab node) and `zookeeper` (base plus a JRE and the Debian zookeeper package, much larger).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zablab.errors import UserError

SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
REPOSITORY = "zablab-node"
FLAVORS = ("base", "zookeeper")
BASE_PACKAGES = (
    "openssh-server",
    "python3",
    "iptables",
    "iproute2",
    "faketime",
    "procps",
    "netbase",
)
ZOOKEEPER_PACKAGES = ("default-jre-headless", "zookeeper")
BUILDER_VERSION = "1"  # bump when the build steps change in a way the recipe does not show

# PID 1 is docker's init (tini, `init: true`), which reaps the daemons the harness spawns with
# setsid; this script only prepares sshd. Host keys are made per container, at first start, so
# no two containers share a key and the backend can pin each one (ed25519 only: RSA key
# generation would cost a second per container).
ENTRYPOINT_SCRIPT = """\
#!/bin/sh
# zablab node entrypoint: per-container host keys, the harness's key, then sshd.
set -e
[ -f /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
if [ -n "$ZABLAB_AUTHORIZED_KEY" ]; then
  printf '%s\\n' "$ZABLAB_AUTHORIZED_KEY" > /root/.ssh/authorized_keys
  chmod 600 /root/.ssh/authorized_keys
fi
touch /run/zablab-ready
exec /usr/sbin/sshd -D -e
"""

SSHD_CONFIG = """\
# zablab: key-only root login for the harness; many parallel sessions for nemesis + clients.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxStartups 100:30:200
MaxSessions 100
"""

IMAGE_CHANGES = (
    'CMD ["/usr/local/sbin/zablab-init"]',
    "ENV LANG=C.UTF-8",
    "EXPOSE 22",
)


def recipe_hash() -> str:
    """Hash of everything that decides the image content (shared by both flavors' tags)."""
    h = hashlib.sha256()
    for part in (
        BUILDER_VERSION,
        SUITE,
        " ".join(BASE_PACKAGES),
        " ".join(ZOOKEEPER_PACKAGES),
        ENTRYPOINT_SCRIPT,
        SSHD_CONFIG,
        "\n".join(IMAGE_CHANGES),
    ):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:12]


def image_tag(flavor: str = "base") -> str:
    if flavor not in FLAVORS:
        raise UserError(f"unknown image flavor {flavor!r}; use one of {', '.join(FLAVORS)}.")
    return f"{REPOSITORY}:{flavor}-{recipe_hash()}"


def flavor_for_db(db: str) -> str:
    """The zookeeper DB needs Java and the Debian package; zablab needs only python3."""
    return "zookeeper" if db == "zookeeper" else "base"


# docker/ holds the Dockerfile's build context; these files are written from the strings above
CONTEXT_FILES = {"zablab-init": ENTRYPOINT_SCRIPT, "sshd-zablab.conf": SSHD_CONFIG}


def render_dockerfile() -> str:
    """The recipe as a Dockerfile, for machines that can pull `debian:bookworm-slim`."""
    return f"""\
# zablab node image. Generated from zablab/harness/backends/docker_image.py (write_build_context);
# a test keeps the two equal. Build: docker build -t zablab-node:base docker/
# With Apache ZooKeeper: docker build --build-arg WITH_ZOOKEEPER=1 -t zablab-node:zookeeper docker/
ARG BASE=debian:{SUITE}-slim
FROM ${{BASE}}
ARG WITH_ZOOKEEPER=0
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
    {" ".join(BASE_PACKAGES)} \\
 && if [ "$WITH_ZOOKEEPER" = 1 ]; then \\
      mkdir -p /usr/share/man/man1 \\
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
         {" ".join(ZOOKEEPER_PACKAGES)}; \\
    fi \\
 && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*
COPY zablab-init /usr/local/sbin/zablab-init
COPY sshd-zablab.conf /etc/ssh/sshd_config.d/zablab.conf
RUN chmod 755 /usr/local/sbin/zablab-init
ENV LANG=C.UTF-8
EXPOSE 22
CMD ["/usr/local/sbin/zablab-init"]
"""


def write_build_context(directory: str | Path) -> None:
    """Write the Dockerfile and the files it copies (docker/ in the repository is this output)."""
    d = Path(directory)
    (d / "Dockerfile").write_text(render_dockerfile())
    for name, text in CONTEXT_FILES.items():
        (d / name).write_text(text)
    (d / "zablab-init").chmod(0o755)


def debian_mirror() -> str:
    """The host's own Debian mirror (it is reachable when apt works), else deb.debian.org."""
    env = os.environ.get("ZABLAB_DEBIAN_MIRROR")
    if env:
        return env
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in path.read_text(errors="replace").split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and SUITE in suites.group(1).split():
                return uris.group(1)
    lst = Path("/etc/apt/sources.list")
    if lst.exists():
        for line in lst.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "deb" and parts[2] == SUITE:
                return parts[1] if not parts[1].startswith("[") else parts[2]
    return DEFAULT_MIRROR


def docker_client() -> Any:
    """A docker SDK client, or one clear sentence on why there is none."""
    try:
        import docker
    except ImportError as e:  # pragma: no cover - depends on the install
        raise UserError(
            "the docker backend needs the docker SDK; install it with `pip install docker`."
        ) from e
    try:
        client = docker.from_env()  # type: ignore[attr-defined,unused-ignore]
        client.ping()
    except Exception as e:
        raise UserError(
            f"Docker is not reachable ({type(e).__name__}); start the Docker daemon "
            "or set DOCKER_HOST."
        ) from e
    return client


def reachable_docker_client() -> Any | None:
    """A docker client if the SDK is installed and the daemon answers, else None (for skips)."""
    try:
        return docker_client()
    except UserError:
        return None


def image_exists(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


@contextlib.contextmanager
def _build_lock(tag: str) -> Iterator[None]:
    """One build per tag at a time, across processes (parallel test runs share the cache)."""
    path = Path(tempfile.gettempdir()) / f"zablab-image-{tag.replace(':', '-')}.lock"
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def ensure_image(
    flavor: str = "base",
    *,
    client: Any = None,
    method: str = "auto",
    log: Any = print,
) -> str:
    """Return the tag of the node image, building it first if this recipe was never built."""
    tag = image_tag(flavor)
    client = client or docker_client()
    if image_exists(client, tag):
        return tag
    with _build_lock(tag):
        if image_exists(client, tag):
            return tag
        if method == "auto":
            method = "debootstrap" if _can_debootstrap() else "dockerfile"
        log(f"building the node image {tag} once ({method}; a few minutes)")
        if method == "debootstrap":
            _build_debootstrap(client, flavor, log)
        elif method == "dockerfile":
            _build_dockerfile(client, flavor, log)
        else:
            raise UserError(
                f"unknown image build method {method!r}; use auto, debootstrap or dockerfile."
            )
    return tag


def _can_debootstrap() -> bool:
    return os.geteuid() == 0 and shutil.which("debootstrap") is not None


def _run(cmd: list[str], log: Any) -> None:
    log("image build: " + " ".join(cmd[:6]) + (" ..." if len(cmd) > 6 else ""))
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise UserError(
            f"building the node image failed at `{' '.join(cmd[:3])}`: {' | '.join(tail)}; "
            "check that the Debian mirror is reachable (set ZABLAB_DEBIAN_MIRROR to use another)."
        )


def _cache_dir() -> Path:
    d = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "zablab" / "debootstrap"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _configure_rootfs(root: Path) -> None:
    init = root / "usr/local/sbin/zablab-init"
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text(ENTRYPOINT_SCRIPT)
    init.chmod(0o755)
    conf = root / "etc/ssh/sshd_config.d/zablab.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(SSHD_CONFIG)
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()


def _slim_rootfs(root: Path) -> None:
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        d = root / sub
        if d.is_dir():
            for child in d.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                elif child.name != "lock":
                    child.unlink(missing_ok=True)


def _import(client: Any, root: Path, tag: str, work: Path, log: Any) -> None:
    tarball = work / "rootfs.tar"
    _run(["tar", "-C", str(root), "--numeric-owner", "-cf", str(tarball), "."], log)
    repo, _, version = tag.partition(":")
    log(f"image build: docker import as {tag}")
    client.api.import_image_from_file(
        str(tarball), repository=repo, tag=version, changes=list(IMAGE_CHANGES)
    )
    tarball.unlink()


@contextlib.contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    """/proc for maintainer scripts (Java's postinst needs it); resolv.conf for apt."""
    proc = root / "proc"
    subprocess.run(["mount", "-t", "proc", "proc", str(proc)], check=True)
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(proc)], check=False)
        policy.unlink(missing_ok=True)
        (root / "etc/resolv.conf").write_text("")


def _build_debootstrap(client: Any, flavor: str, log: Any) -> None:
    work = Path(tempfile.mkdtemp(prefix="zablab-rootfs-", dir="/var/tmp"))
    root = work / "rootfs"
    try:
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(BASE_PACKAGES)}",
                f"--cache-dir={_cache_dir()}",
                SUITE,
                str(root),
                debian_mirror(),
            ],
            log,
        )
        _configure_rootfs(root)
        _slim_rootfs(root)
        if not image_exists(client, image_tag("base")):
            _import(client, root, image_tag("base"), work, log)
        if flavor == "zookeeper":
            with _chroot_mounts(root):
                (root / "usr/share/man/man1").mkdir(parents=True, exist_ok=True)
                _run(["chroot", str(root), "apt-get", "update", "-q"], log)
                _run(
                    [
                        "chroot",
                        str(root),
                        "env",
                        "DEBIAN_FRONTEND=noninteractive",
                        "apt-get",
                        "install",
                        "-y",
                        "-q",
                        "--no-install-recommends",
                        *ZOOKEEPER_PACKAGES,
                    ],
                    log,
                )
                _run(["chroot", str(root), "apt-get", "clean"], log)
            for key in (root / "etc/ssh").glob("ssh_host_*"):
                key.unlink()
            _slim_rootfs(root)
            _import(client, root, image_tag("zookeeper"), work, log)
    finally:
        proc = root / "proc"
        if proc.is_dir() and os.path.ismount(proc):
            subprocess.run(["umount", "-l", str(proc)], check=False)
        shutil.rmtree(work, ignore_errors=True)


def _build_dockerfile(
    client: Any, flavor: str, log: Any, base: str | None = None, tag: str | None = None
) -> None:
    """Registry path (Docker Desktop): the same recipe, from the Debian base image."""
    tag = tag or image_tag(flavor)
    log(f"image build: docker build from {base or f'debian:{SUITE}-slim'} as {tag}")
    args = {"WITH_ZOOKEEPER": "1" if flavor == "zookeeper" else "0"}
    if base:
        args["BASE"] = base
    with tempfile.TemporaryDirectory(prefix="zablab-context-") as ctx:
        write_build_context(ctx)
        try:
            client.images.build(path=ctx, tag=tag, buildargs=args, rm=True, pull=False)
        except Exception as e:
            raise UserError(
                f"building the node image from the Dockerfile failed ({e}); without a registry, "
                "build as root on Linux with debootstrap installed."
            ) from e
