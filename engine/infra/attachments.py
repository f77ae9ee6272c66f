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
