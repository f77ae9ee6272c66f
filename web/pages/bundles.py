"""Reading an uploaded config bundle: a zip of a plant folder, or several files of one.

Text files (UTF-8) become the bundle's files, anything else its binary assets. A zip whose
entries all sit in one top folder (``acme-harness/site.yaml``) is read from inside that folder.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from werkzeug.datastructures import FileStorage

from web.errors import BadRequest

MAX_FILES = 2000


@dataclass(frozen=True, slots=True)
class Bundle:
    files: dict[str, str]
    assets: dict[str, bytes]


def _clean(path: str) -> str | None:
    """A safe relative POSIX path, or None for entries to skip (folders, hidden files)."""
    path = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    parts = path.split("/")
    if path in ("", ".") or ".." in parts or any(p.startswith(".") for p in parts):
        return None
    if parts[0] == "__MACOSX":
        return None
    return path


def _without_top_folder(entries: dict[str, bytes]) -> dict[str, bytes]:
    tops = {path.split("/", 1)[0] for path in entries}
    if len(tops) == 1 and all("/" in path for path in entries):
        return {path.split("/", 1)[1]: data for path, data in entries.items()}
    return entries


def _split(entries: dict[str, bytes]) -> Bundle:
    files: dict[str, str] = {}
    assets: dict[str, bytes] = {}
    for path, data in sorted(entries.items()):
        try:
            files[path] = data.decode("utf-8")
        except UnicodeDecodeError:
            assets[path] = data
    return Bundle(files, assets)


def _unzip(upload: FileStorage) -> dict[str, bytes]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(upload.read()))
    except zipfile.BadZipFile:
        raise BadRequest(
            f"{upload.filename} is not a readable zip file; zip the plant folder again.",
            field="bundle",
        ) from None
    entries: dict[str, bytes] = {}
    with archive:
        for info in archive.infolist()[:MAX_FILES]:
            path = _clean(info.filename)
            if path is not None and not info.is_dir():
                entries[path] = archive.read(info)
    return entries


def read_bundle(uploads: Iterable[FileStorage]) -> Bundle:
    """The bundle in the uploaded zip or files; BadRequest when nothing usable was sent."""
    entries: dict[str, bytes] = {}
    for upload in uploads:
        name = upload.filename or ""
        if not name:
            continue
        if name.lower().endswith(".zip"):
            entries.update(_unzip(upload))
            continue
        path = _clean(name)
        if path is not None:
            entries[path] = upload.read()
    if not entries:
        raise BadRequest(
            "Choose a zip of the plant folder, or the folder's files, to upload.", field="bundle"
        )
    return _split(_without_top_folder(entries))
