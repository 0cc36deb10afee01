"""requirements.lock (``make lock``) is what ``make install`` and the Dockerfile install, every file
checked against its sha256; it must say what pyproject.toml says, or a dependency changed in one place
only reaches one of the two installs."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
# One pin: "name==version \" then its "--hash=sha256:…" lines, then the "# via" lines naming who needs it.
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\\n((?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)((?:    #.*\n)*)",
                 re.MULTILINE)


def runtime_dependencies() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def locked() -> dict[str, tuple[str, str]]:
    """Each pinned package: its version and who needs it (the lock's "# via" comments)."""
    return {canonicalize_name(m[1]): (m[2], m[4]) for m in PIN.finditer(LOCK.read_text())}


def test_every_runtime_dependency_is_pinned_to_a_version_pyproject_allows():
    pins = locked()
    for name, requirement in runtime_dependencies().items():
        assert name in pins, f"{name} is in pyproject.toml but not in requirements.lock: run make lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, pyproject.toml asks {requirement}: run make lock")


def test_the_lock_names_no_direct_dependency_pyproject_dropped():
    direct = {name for name, (_, via) in locked().items() if "facetasks (pyproject.toml)" in via}
    assert direct == set(runtime_dependencies()), "run make lock"


def test_every_line_of_the_lock_is_a_hashed_pin_and_no_index_is_named():
    text = LOCK.read_text()
    body = PIN.sub("", text)
    # What is left: the header and the comments about packages only.
    assert all(not line or line.startswith("#") for line in body.splitlines()), body
    assert "--index-url" not in text and "--find-links" not in text and "://" not in text
    assert len(locked()) == text.count("==")


def test_pip_audit_reads_the_lock_as_make_audit_gives_it():
    # --dry-run collects without asking the vulnerability service, which this machine cannot reach.
    result = subprocess.run(
        [Path(sys.executable).parent / "pip-audit", "--progress-spinner", "off", "--disable-pip",
         "--require-hashes", "-r", str(LOCK), "--dry-run"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"would have audited {len(locked())} packages" in result.stderr + result.stdout
