"""Files kept with a record (a training record's scan, a photo), stored content-addressed: one
row per distinct content in ``attachments``, named by the SHA-256 of its bytes, so a record that
holds the hash proves which bytes it meant and storing the same bytes twice keeps one row."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Invalid, NotFound
from engine.infra.jsonable import Jsonable
from engine.records.tables import NAME, Attachment

MAX_ATTACHMENT = 8 * 1024 * 1024  # bytes: a scanned document or a photo, not a video


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as uploaded: its name, media type and bytes."""

    filename: str
    media_type: str
    content: bytes

    def sha256(self) -> str:
        """The hex SHA-256 of the bytes: the name the file is stored and found under."""
        return hashlib.sha256(self.content).hexdigest()


def check(upload: Upload, *, what: str, field: str) -> None:
    """Invalid when ``upload`` is empty, larger than :data:`MAX_ATTACHMENT` or its name is too
    long. ``what`` names the file in a refusal ("The training record"), ``field`` the form input
    it came from."""
    size = len(upload.content)
    if not size:
        raise Invalid(f"{what} is an empty file; scan it again.", field=field)
    if size > MAX_ATTACHMENT:
        raise Invalid(
            f"{what} is {size / 1e6:.1f} MB, more than the {MAX_ATTACHMENT // (1024 * 1024)} MB "
            "allowed; scan it at a lower resolution.",
            field=field,
        )
    if len(upload.filename) > NAME or len(upload.media_type) > NAME:
        raise Invalid(f"The file name of {what.lower()} is too long; rename it.", field=field)


def store(
    session: Session, upload: Upload, *, actor: str, now: dt.datetime, what: str, field: str
) -> str:
    """Store ``upload`` once under its SHA-256 (the same bytes again add nothing) and return
    the hash, after :func:`check` (``what`` and ``field`` as there)."""
    check(upload, what=what, field=field)
    digest = upload.sha256()
    if session.get(Attachment, digest) is None:
        session.add(
            Attachment(
                sha256=digest,
                size=len(upload.content),
                media_type=upload.media_type or "application/octet-stream",
                filename=upload.filename,
                content=upload.content,
                stored_at=now,
                stored_by=actor,
            )
        )
    return digest


def fetch(session: Session, sha256: str) -> Upload:
    """The stored file with this hash; NotFound when there is none."""
    found = session.get(Attachment, sha256)
    if found is None:
        raise NotFound(f"There is no stored file with SHA-256 {sha256}.")
    return Upload(found.filename, found.media_type, found.content)


def stored_name(session: Session, sha256: str) -> str:
    """The file name a stored file was uploaded under ("" for no hash or no such file)."""
    if not sha256:
        return ""
    name = session.scalar(select(Attachment.filename).where(Attachment.sha256 == sha256))
    return str(name or "")


@dataclass(frozen=True, slots=True)
class StoredPhoto(Jsonable):
    """A photo as stored: the SHA-256 a record holds, its type (told by its bytes) and size."""

    sha256: str
    media_type: str
    size: int


PHOTO_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def photo_type(content: bytes) -> str | None:
    """The media type of a JPEG, PNG or WebP photo, told by its first bytes (never by what the
    upload claims); None for anything else."""
    for magic, media_type in PHOTO_SIGNATURES:
        if content.startswith(magic):
            return media_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None


def store_photo(
    session: Session, upload: Upload, *, actor: str, now: dt.datetime, field: str
) -> str:
    """Store a photo (its type told by its bytes) like :func:`store`; Invalid for anything that
    is not a JPEG, PNG or WebP image."""
    kind = photo_type(upload.content)
    if kind is None:
        raise Invalid(
            f"'{upload.filename}' is not a JPEG, PNG or WebP photo; take the photo again or "
            "convert it.",
            field=field,
        )
    photo = Upload(upload.filename, kind, upload.content)
    return store(session, photo, actor=actor, now=now, what="The photo", field=field)


def require_stored(session: Session, sha256: str, *, field: str, photo: bool) -> None:
    """Invalid unless a file (a photo, with ``photo``) with this hash is stored."""
    media_type = session.scalar(select(Attachment.media_type).where(Attachment.sha256 == sha256))
    what = "photo" if photo else "file"
    if media_type is None or (photo and not str(media_type).startswith("image/")):
        raise Invalid(
            f"{field}: no {what} with SHA-256 {sha256[:12]}… is stored; upload the {what} first.",
            field=field,
        )
