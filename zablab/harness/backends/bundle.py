"""This zablab and the CLI's pure-Python dependencies as one tar, for nodes that lack them.

The Docker and SSH backends both ship it to their nodes, so it lives apart from either.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import io
import os
import tarfile

from zablab.errors import UserError

# `python -m zablab node` goes through the CLI, so the node needs typer and what it requires
CLI_DISTRIBUTIONS = ("typer",)


@functools.cache
def python_bundle() -> bytes:
    """A tar of this zablab and the CLI's pure-Python dependencies, as the containers need it.

    The image stays independent of the zablab version (no rebuild per commit): the code goes in
    at setup, through the Docker API, like the netns backend's shared file system.
    """
    paths = [_module_path("zablab")]
    for dist in _requirement_closure(CLI_DISTRIBUTIONS):
        paths += _top_level_paths(dist)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        for path in sorted(set(paths)):
            tar.add(
                path,
                arcname=os.path.basename(path),
                filter=lambda ti: None if "__pycache__" in ti.name else ti,
            )
    return buf.getvalue()


def _module_path(mod: str) -> str:
    spec = importlib.util.find_spec(mod)
    if spec is None or spec.origin is None:
        raise UserError(f"cannot find the Python module {mod} to copy into the containers.")
    path = spec.origin
    return os.path.dirname(path) if os.path.basename(path) == "__init__.py" else path


def _requirement_closure(names: tuple[str, ...]) -> list[importlib.metadata.Distribution]:
    """Installed distributions `names` need at run time (extras left out)."""
    from packaging.requirements import Requirement

    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(n) for n in names]
    while todo:
        req = todo.pop()
        name = req.name.lower().replace("_", "-")
        if name in seen or (req.marker is not None and not req.marker.evaluate({"extra": ""})):
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        todo += [Requirement(r) for r in dist.requires or []]
    return list(seen.values())


def _top_level_paths(dist: importlib.metadata.Distribution) -> list[str]:
    tops = set()
    for f in dist.files or []:
        parts = f.parts
        if not parts or parts[0] in ("..", "__pycache__") or parts[0].endswith(".dist-info"):
            continue
        if len(parts) == 1 and not parts[0].endswith(".py"):
            continue
        tops.add(parts[0])
    paths = [str(dist.locate_file(t)) for t in tops]
    return [p for p in paths if os.path.exists(p)]
