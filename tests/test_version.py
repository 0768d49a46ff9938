"""`zablab --version` answers with the one version the package declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

import zablab
from zablab.cli import main
from zablab.node.fourletter import VERSION


def test_version_flag_prints_the_package_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"zablab {zablab.__version__}\n"


def test_the_version_is_written_in_one_place():
    project = tomllib.loads(Path(__file__).parents[1].joinpath("pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "zablab.__version__"}
    assert f"-zablab-{zablab.__version__}," in VERSION  # what envi/srvr report
