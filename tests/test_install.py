"""``pip install .`` installs the service's dependencies and none of its packages: a package named api, config or
storage in site-packages would collide with any other of that name. The service runs from its tree instead."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import tomllib
from importlib.machinery import PathFinder
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
# Every top-level package of the tree, the development ones included: none of them may be installed.
PACKAGES = sorted(path.parent.name for path in ROOT.glob("*/__init__.py"))


def test_pip_install_of_the_tree_installs_its_dependencies_and_no_package(tmp_path: Path) -> None:
    # A copy, so that the build's egg-info and build/ folders stay out of the checkout other runs use.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    site_packages = tmp_path / "site-packages"

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--target", str(site_packages), str(source)], check=True, capture_output=True, timeout=120)

    assert [path.name for path in site_packages.iterdir()] == ["facetasks-0.1.0.dist-info"]
    assert [name for name in PACKAGES if PathFinder.find_spec(name, [str(site_packages)])] == []
    metadata = email.message_from_string((site_packages / "facetasks-0.1.0.dist-info" / "METADATA").read_text())
    required = {Requirement(line) for line in metadata.get_all("Requires-Dist")}
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert {requirement for requirement in required if requirement.marker is None} == set(map(Requirement, wanted))
