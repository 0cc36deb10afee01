"""Archive uploads: ZIP and TAR (gzip too) bodies of JPEGs, built here, on real PostgreSQL and files."""

from __future__ import annotations

import gzip
import io
import os
import struct
import sys
import tarfile
import time
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from api.archives import MAX_MEMBERS
from tests.conftest import MAX_IMAGE_BYTES, build_client, service_env
from tests.helpers import create_task
from tests.service_process import ServiceProcess
from tools.emulator_faces import make_jpeg

JPEGS = {f"event/{i:02}.jpg": make_jpeg(faces=[], color=(i, 40, 80)) for i in range(3)}


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def tar_of(members: dict[str, bytes], mode: str = "w:gz", links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name in links:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            archive.addfile(info)
    return buffer.getvalue()


def post(client, task_id: str, body: bytes, content_type: str):
    return client.simulate_post(f"/api/v1/tasks/{task_id}/images", body=body, headers={"Content-Type": content_type})


def images_of(client, task_id: str) -> list[dict]:
    return client.simulate_get(f"/api/v1/tasks/{task_id}").json["images"]


def leftovers(storage_dir: Path, task_id: str) -> list[Path]:
    """Files of the task, and temporary upload files or folders, left on disk."""
    incoming = storage_dir / ".incoming"
    return [*(storage_dir / task_id).glob("*"), *(incoming.iterdir() if incoming.exists() else ())]


def test_every_jpeg_of_a_zip_becomes_an_image_named_by_its_path_and_the_rest_is_reported(client):
    task = create_task(client)
    members = {"event/": b"", **JPEGS, "notes.txt": b"not a photo", "__MACOSX/event/._00.jpg": b"\0\5\26\7",
               ".DS_Store": b"\0\0\0\1Bud1", "scan.png": b"\x89PNG\r\n\x1a\n" + b"\0" * 32}

    result = post(client, task["id"], zip_of(members), "application/zip")

    assert result.status_code == 201
    items = result.json["items"]
    assert [i["name"] for i in items] == list(JPEGS)
    assert all(i["status"] == "pending" and i["faces"] == [] and i["error"] is None for i in items)
    assert [(r["name"], r["title"]) for r in result.json["rejected"]] == [
        ("event/", "Not a file"), ("notes.txt", "Not a JPEG"), ("__MACOSX/event/._00.jpg", "Hidden file"),
        (".DS_Store", "Hidden file"), ("scan.png", "Not a JPEG"),
    ]
    assert all(r["description"] for r in result.json["rejected"])
    assert images_of(client, task["id"]) == items
    for item, data in zip(items, JPEGS.values(), strict=True):
        stored = client.simulate_get(f"/api/v1/tasks/{task['id']}/images/{item['id']}/file")
        assert stored.content == data


def test_a_gzipped_tar_is_read_like_a_zip_and_links_are_not_followed(client):
    task = create_task(client)

    result = post(client, task["id"], tar_of(JPEGS, links=("event/passwd.jpg",)), "application/gzip")

    assert result.status_code == 201
    assert [i["name"] for i in result.json["items"]] == list(JPEGS)
    assert [(r["name"], r["title"]) for r in result.json["rejected"]] == [("event/passwd.jpg", "Not a file")]


def test_a_thousand_photo_zip_is_one_request_in_archive_order(client):
    task = create_task(client)
    members = {f"{i:04}.jpg": make_jpeg(8, 8, faces=[], color=(i % 256, i // 256, 3)) for i in range(1000)}

    result = post(client, task["id"], zip_of(members, zipfile.ZIP_STORED), "application/zip")

    assert result.status_code == 201 and result.json["rejected"] == []
    page = client.simulate_get(f"/api/v1/tasks/{task['id']}/images", params={"page": 10, "page_size": 100}).json
    assert page["total"] == 1000 and [i["name"] for i in page["items"]] == [f"{i:04}.jpg" for i in range(900, 1000)]


def test_a_member_larger_than_an_image_may_be_is_rejected_and_the_others_kept(client):
    task = create_task(client)
    big = make_jpeg(8, 8, faces=[]) + b"\0" * MAX_IMAGE_BYTES

    result = post(client, task["id"], zip_of({**JPEGS, "huge.jpg": big}), "application/zip")

    assert result.status_code == 201 and len(result.json["items"]) == 3
    description = f"An image may be at most {MAX_IMAGE_BYTES} bytes."
    assert result.json["rejected"] == [{"name": "huge.jpg", "title": "Image too large", "description": description}]


@pytest.mark.parametrize(("body", "content_type"), [
    (zip_of(JPEGS)[:-200], "application/zip"),
    (zip_of(JPEGS)[: len(zip_of(JPEGS)) // 2], "application/zip"),
    (tar_of(JPEGS)[:-40], "application/gzip"),
    (tar_of(JPEGS, mode="w")[:1500], "application/x-tar"),
])
def test_a_damaged_archive_is_a_422_and_keeps_nothing(client, storage_dir, body, content_type):
    task = create_task(client)

    result = post(client, task["id"], body, content_type)

    assert result.status_code == 422 and result.json["title"] == "Damaged archive"
    assert "none of its images was added" in result.json["description"]
    assert images_of(client, task["id"]) == []
    assert leftovers(storage_dir, task["id"]) == []


def test_a_zip_bomb_is_refused_and_nothing_is_added(client, storage_dir):
    task = create_task(client)
    bomb = zip_of({**JPEGS, "zeros.jpg": b"\xff\xd8\xff" + b"\0" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000

    result = post(client, task["id"], bomb, "application/zip")

    assert result.status_code == 422 and result.json["title"] == "Zip bomb"
    assert images_of(client, task["id"]) == [] and leftovers(storage_dir, task["id"]) == []


@pytest.fixture
def small_archives(clean_db, storage_dir, publisher):
    """The API with archives limited to 1 MiB."""
    return build_client(storage_dir, publisher, max_archive_bytes=1024 * 1024)


def test_an_archive_that_unpacks_past_the_limit_is_a_413(small_archives, storage_dir):
    task = create_task(small_archives)
    gzipped = tar_of({**JPEGS, "padding.jpg": b"\0" * (2 * 1024 * 1024)})
    assert len(gzipped) < 1024 * 1024

    result = post(small_archives, task["id"], gzipped, "application/gzip")

    assert result.status_code == 413 and result.json["title"] == "Archive too large"
    assert "unpack to at most 1048576 bytes" in result.json["description"]
    assert images_of(small_archives, task["id"]) == [] and leftovers(storage_dir, task["id"]) == []


def test_an_archive_past_the_limit_is_a_413_before_anything_is_read(small_archives):
    task = create_task(small_archives)
    body = zip_of({f"{i}.jpg": make_jpeg(faces=[], color=(i, 0, 0)) + bytes(range(256)) * 600 for i in range(8)},
                  zipfile.ZIP_STORED)
    assert len(body) > 1024 * 1024

    result = post(small_archives, task["id"], body, "application/zip")

    assert result.status_code == 413 and result.json["description"] == "An archive may be at most 1048576 bytes."


def test_too_many_members_are_a_413(client):
    task = create_task(client)
    members = {f"{i}.txt": b"" for i in range(MAX_MEMBERS + 1)}

    result = post(client, task["id"], zip_of(members, zipfile.ZIP_STORED), "application/zip")

    assert result.status_code == 413 and str(MAX_MEMBERS) in result.json["description"]
    assert images_of(client, task["id"]) == []


def test_an_archive_for_a_started_task_is_a_409_and_for_no_task_a_404(client):
    task = create_task(client)
    post(client, task["id"], zip_of(JPEGS), "application/zip")
    client.simulate_post(f"/api/v1/tasks/{task['id']}/start")

    late = post(client, task["id"], zip_of(JPEGS), "application/zip")
    nowhere = post(client, str(uuid.uuid4()), zip_of(JPEGS), "application/zip")

    assert late.status_code == 409 and len(images_of(client, task["id"])) == 3
    assert nowhere.status_code == 404


# Hostile archives, against the API as its own process (python -m service.api_server): what it answers, in
# how long, and how much its peak memory (VmHWM) grew meanwhile.
HOSTILE_UNPACK_LIMIT = 256 * 1024 * 1024  # inflating past it to a 413 takes about a second
MAX_SECONDS = 10
MAX_RSS_GROWTH = 150 * 1024 * 1024


class Answer(NamedTuple):
    status: int
    body: dict
    seconds: float
    rss_growth: int


@pytest.fixture(scope="module")
def api(database, vhost, storage_dir, emulator, tmp_path_factory) -> Iterator[ServiceProcess]:
    env = service_env(storage_dir, emulator, MAX_ARCHIVE_BYTES=str(HOSTILE_UNPACK_LIMIT))
    folder = tmp_path_factory.mktemp("hostile")
    running = ServiceProcess(env, folder / "api.log", command=[sys.executable, "-m", "service.api_server"]).start()
    yield running
    assert running.stop() == 0
    assert "Traceback" not in running.log.read_text()


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:", 1)[1].split()[0]) * 1024


def sent(api: ServiceProcess, body: bytes | Path, content_type: str) -> tuple[str, Answer]:
    """A new task and the answer to ``body`` posted into it (a file is streamed)."""
    task_id = api.api.create_task(None)["id"]
    pid = api.proc.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from the present size
    before = peak_rss(pid)
    started = time.monotonic()
    with body.open("rb") if isinstance(body, Path) else io.BytesIO(body) as data:
        response = api.http.post(f"{api.url}/api/v1/tasks/{task_id}/images", data=data,
                                 headers={"Content-Type": content_type})
    answer = Answer(response.status_code, response.json(), time.monotonic() - started, peak_rss(pid) - before)
    assert answer.seconds < MAX_SECONDS and answer.rss_growth < MAX_RSS_GROWTH, answer
    return task_id, answer


def stored_names(api: ServiceProcess, task_id: str) -> list[str]:
    return [i["name"] for i in api.task(task_id).json()["images"]]


def tar_block(name: str, size: int, kind: bytes = tarfile.REGTYPE) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type = size, kind
    return info.tobuf(tarfile.USTAR_FORMAT)


def padding(size: int) -> bytes:
    return bytes(-size % 512)


def pax_path_archive(path: Path, length: int) -> Path:
    """A .tar.gz whose one JPEG has a pax ``path`` record ``length`` bytes long, written as a stream."""
    head = f"{length} path=".encode()
    value, chunk = length - len(head) - 1, b"a" * (1 << 20)
    with gzip.open(path, "wb") as archive:
        archive.write(tar_block("././@PaxHeader", length, tarfile.XHDTYPE) + head)
        for _ in range(value // len(chunk)):
            archive.write(chunk)
        archive.write(b"a" * (value % len(chunk)) + b"\n" + padding(length))
        photo = JPEGS["event/00.jpg"]
        archive.write(tar_block("photo.jpg", len(photo)) + photo + padding(len(photo)) + bytes(1024))
    return path


def zeros_deflated(megabytes: int) -> tuple[bytes, bytes]:
    """A gzip member's start, then ``megabytes`` MiB of zeros as deflate blocks that each stand alone (a full
    flush resets the window), so the member is made without ever holding what it inflates to."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    start = packer.compress(b"") + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(bytes(1 << 20)) + packer.flush(zlib.Z_FULL_FLUSH)
    return start, block * megabytes


def tar_then_zeros_in_one_gzip(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    archive = packer.compress(tar_of(JPEGS, mode="w")) + packer.flush(zlib.Z_FULL_FLUSH)
    return archive + zeros_deflated(megabytes)[1]


def zip_with_odd_member(odd: str, flags: int, method: int | None = None) -> bytes:
    """``JPEGS`` and ``odd`` in a ZIP whose ``odd`` member has these flag bits and compression method."""
    data = bytearray(zip_of({**JPEGS, odd: make_jpeg(faces=[])}, zipfile.ZIP_STORED))
    local = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(odd).header_offset
    central = data.rindex(odd.encode()) - 46
    for flag_at, method_at in ((local + 6, local + 8), (central + 8, central + 10)):
        data[flag_at] |= flags
        if method is not None:
            data[method_at : method_at + 2] = method.to_bytes(2, "little")
    return bytes(data)


def corrupted(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0x55 for b in data[middle : middle + 64]) + data[middle + 64 :]


def test_a_pax_path_of_512_mb_is_refused_before_it_is_read(api, tmp_path):
    archive = pax_path_archive(tmp_path / "pax.tar.gz", 512 * 1024 * 1024)
    assert archive.stat().st_size < 2 * 1024 * 1024

    task_id, answer = sent(api, archive, "application/gzip")

    assert (answer.status, answer.body) == (413, {
        "title": "Archive header too large",
        "description": "A member's extended header (pax or GNU long name) may be at most 4096 bytes; this archive "
                       "has a pax header of 536870912 bytes. None of its images was added.",
    })
    assert stored_names(api, task_id) == []


@pytest.mark.parametrize(("kind", "what"), [
    (tarfile.GNUTYPE_LONGNAME, "GNU long name"), (tarfile.GNUTYPE_LONGLINK, "GNU long link"),
    (tarfile.XGLTYPE, "global pax"),
])
def test_a_gnu_long_name_or_a_global_pax_header_over_4_kib_is_refused(api, kind, what):
    body = tar_block("././@LongLink", 4097, kind) + b"n" * 4097 + padding(4097) + tar_of(JPEGS, mode="w")

    _, answer = sent(api, body, "application/x-tar")

    assert answer.status == 413 and answer.body["title"] == "Archive header too large"
    assert f"this archive has a {what} header of 4097 bytes" in answer.body["description"]


def test_pax_and_gnu_names_within_the_bound_name_their_images(api):
    long_name = "event/" + "x" * 140 + ".jpg"
    members = {"événement/00.jpg": JPEGS["event/00.jpg"], long_name: JPEGS["event/01.jpg"]}
    pax = tar_of(members, mode="w:gz")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as gnu:
        info = tarfile.TarInfo(long_name.replace("event/", "gnu/"))
        info.size = len(JPEGS["event/02.jpg"])
        gnu.addfile(info, io.BytesIO(JPEGS["event/02.jpg"]))

    task_id, answer = sent(api, pax, "application/gzip")
    gnu_task, gnu_answer = sent(api, buffer.getvalue(), "application/x-tar")

    assert answer.status == 201 and [i["name"] for i in answer.body["items"]] == list(members)
    assert stored_names(api, task_id) == list(members)
    assert gnu_answer.status == 201 and stored_names(api, gnu_task) == [long_name.replace("event/", "gnu/")]


def test_a_24_mb_upload_of_a_tar_gz_then_gzipped_zeros_stops_at_the_end_of_the_archive(api):
    start, zeros = zeros_deflated(24 * 1024)
    body = tar_of(JPEGS) + start + zeros
    assert len(body) > 24 * 1024 * 1024

    task_id, answer = sent(api, body, "application/gzip")

    assert answer.status == 201 and answer.body["rejected"] == []
    assert stored_names(api, task_id) == list(JPEGS)


def test_zeros_after_the_end_of_the_archive_in_its_own_gzip_stream_count_until_the_limit(api):
    _, answer = sent(api, tar_then_zeros_in_one_gzip(512), "application/gzip")

    assert (answer.status, answer.body) == (413, {
        "title": "Archive too large", "description": f"An archive may unpack to at most {HOSTILE_UNPACK_LIMIT} bytes.",
    })


@pytest.mark.parametrize(("flags", "method", "title", "description"), [
    (0x1, None, "Encrypted", "Encrypted members cannot be read; add the photo unencrypted."),
    (0x1, 99, "Encrypted", "Encrypted members cannot be read; add the photo unencrypted."),
    (0, 9, "Unsupported compression",
     "Compression method 9 (such as Deflate64) cannot be read; store the photo, or compress it with Deflate."),
    (0, 98, "Unsupported compression",
     "Compression method 98 (such as Deflate64) cannot be read; store the photo, or compress it with Deflate."),
], ids=["zipcrypto", "aes", "deflate64", "ppmd"])
def test_a_zip_member_python_cannot_read_is_rejected_and_the_others_kept(api, flags, method, title, description):
    task_id, answer = sent(api, zip_with_odd_member("secret.jpg", flags, method), "application/zip")

    assert answer.status == 201
    assert answer.body["rejected"] == [{"name": "secret.jpg", "title": title, "description": description}]
    assert stored_names(api, task_id) == list(JPEGS)


@pytest.mark.parametrize("mode", ["w:xz", "w:bz2"])
def test_an_xz_or_bzip2_tar_is_read_and_a_damaged_one_is_a_422(api, mode):
    archive = tar_of({**JPEGS, "noise.jpg": os.urandom(200_000)}, mode=mode)

    task_id, answer = sent(api, archive, "application/x-tar")
    damaged_task, damaged = sent(api, corrupted(archive), "application/x-tar")

    assert answer.status == 201 and stored_names(api, task_id) == list(JPEGS)
    assert damaged.status == 422 and damaged.body["title"] == "Damaged archive"
    assert "none of its images was added" in damaged.body["description"]
    assert stored_names(api, damaged_task) == []


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA, zipfile.ZIP_DEFLATED])
def test_a_zip_member_whose_data_does_not_decompress_is_a_422(api, method):
    archive = zip_of({"noise.jpg": os.urandom(200_000)}, method)

    _, answer = sent(api, corrupted(archive), "application/zip")

    assert answer.status == 422 and answer.body["title"] == "Damaged archive"


def zip_of_one_member_listed(path: Path, times: int) -> Path:
    """A ZIP whose central directory lists its one empty member ``times`` times (46-byte records), written
    record by record."""
    single = zip_of({"a": b""}, zipfile.ZIP_STORED)
    directory, end = single.index(b"PK\x01\x02"), single.index(b"PK\x05\x06")
    local, record = single[:directory], single[directory:end]
    with path.open("wb") as archive:
        archive.write(local)
        for _ in range(times // 1000):
            archive.write(record * 1000)
        # The end record's counts hold 16 bits: 0xFFFF says "many"; the directory's size and offset say where.
        archive.write(b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 0xFFFF, 0xFFFF, len(record) * times, len(local), 0))
    return path


def test_a_zip_directory_of_a_million_records_is_a_413_before_they_are_read(api, tmp_path):
    archive = zip_of_one_member_listed(tmp_path / "listed.zip", 1_000_000)

    task_id, answer = sent(api, archive, "application/zip")

    assert (answer.status, answer.body) == (413, {
        "title": "Archive too large", "description": f"An archive may hold at most {MAX_MEMBERS} members."})
    assert stored_names(api, task_id) == []
