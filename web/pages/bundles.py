"""Reading an uploaded config bundle: a zip of a plant folder, or several files of one.

Text files (UTF-8) become the bundle's files, anything else its binary assets. A zip whose
entries all sit in one top folder (``acme-harness/site.yaml``) is read from inside that folder.
Folders, hidden files and macOS metadata are skipped. A symbolic link, or an entry whose path
leads outside the plant folder, is refused, naming it. A zip of more than :data:`MAX_FILES`
entries is refused before anything is inflated, and inflating stops as soon as the bytes read
pass :data:`MAX_INFLATED` (the sizes a zip declares are not trusted), so a zip bomb costs little.
"""

from __future__ import annotations

import io
import posixpath
import stat
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from web.errors import BadRequest

MAX_FILES = 2000
MAX_INFLATED = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


@dataclass(frozen=True, slots=True)
class Bundle:
    files: dict[str, str]
    assets: dict[str, bytes]


def _clean(name: str) -> str | None:
    """A safe relative POSIX path, None for entries to skip (folders, hidden files); BadRequest
    for one that leads outside the plant folder."""
    given = name.replace("\\", "/")
    path = posixpath.normpath(given)
    parts = path.split("/")
    if given.startswith("/") or ".." in parts or ":" in parts[0]:
        raise BadRequest(
            f"The zip entry '{name}' points outside the plant folder; zip the plant folder itself.",
            field="bundle",
        )
    if path == "." or any(p.startswith(".") for p in parts) or parts[0] == "__MACOSX":
        return None
    return path


def _top_folder(paths: Iterable[str]) -> str:
    """The one folder every path sits in (``acme-harness/``), or "" when there is none."""
    listed = list(paths)
    tops = {path.split("/", 1)[0] for path in listed}
    return f"{tops.pop()}/" if len(tops) == 1 and all("/" in p for p in listed) else ""


def _split(entries: dict[str, bytes]) -> Bundle:
    files: dict[str, str] = {}
    assets: dict[str, bytes] = {}
    for path, data in sorted(entries.items()):
        try:
            files[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            assets[path] = data
    return Bundle(files, assets)


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """One entry's bytes, BadRequest as soon as more than ``budget`` have come out."""
    chunks: list[bytes] = []
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            budget -= len(chunk)
            if budget < 0:
                raise BadRequest(
                    f"The zip inflates to more than {MAX_INFLATED // 2**20} MiB; a plant bundle "
                    "is far smaller. Check that you chose the right file.",
                    field="bundle",
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _entries(archive: zipfile.ZipFile) -> dict[str, bytes]:
    infos = archive.infolist()
    if len(infos) > MAX_FILES:
        raise BadRequest(
            f"The zip holds more than {MAX_FILES} files; a plant bundle has far fewer. Check "
            "that you chose the right file.",
            field="bundle",
        )
    wanted = {info: path for info in infos if (path := _clean(info.filename)) and not info.is_dir()}
    top = _top_folder(wanted.values())
    entries: dict[str, bytes] = {}
    budget = MAX_INFLATED
    for info, path in wanted.items():
        relative = path.removeprefix(top)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BadRequest(
                f"{relative} is a symbolic link in the zip; Ferrule takes only regular files. "
                "Zip the plant folder without links.",
                field="bundle",
            )
        entries[relative] = _inflate(archive, info, budget)
        budget -= len(entries[relative])
    return entries


def _unzip(upload: FileStorage) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(upload.read())) as archive:
            return _entries(archive)
    except _UNREADABLE:
        raise BadRequest(
            f"{upload.filename} is not a readable zip file; zip the plant folder again.",
            field="bundle",
        ) from None


def read_bundle(uploads: Iterable[FileStorage]) -> Bundle:
    """The bundle in the uploaded zip or files; BadRequest when nothing usable was sent."""
    entries: dict[str, bytes] = {}
    loose: dict[str, bytes] = {}
    for upload in uploads:
        name = upload.filename or ""
        if not name:
            continue
        if name.lower().endswith(".zip"):
            entries.update(_unzip(upload))
            continue
        path = _clean(name)
        if path is not None:
            loose[path] = upload.read()
    top = _top_folder(loose)
    entries.update({path.removeprefix(top): data for path, data in loose.items()})
    if not entries:
        raise BadRequest(
            "Choose a zip of the plant folder, or the folder's files, to upload.", field="bundle"
        )
    return _split(entries)
