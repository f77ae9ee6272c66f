"""Anchors: signed checkpoints of the audit chain's head, kept outside the database.

The hash chain shows any edit, insertion or deletion of a single row, but someone who can write
the database can rewrite the whole chain together with its head, or cut off its tail. An anchor
is one JSON line ``{"seq", "hash", "at", "signature"}`` appended to a file that lives apart from
the database (another disk, a WORM share, a log shipper): the head's sequence number and hash,
signed with an Ed25519 key that is not in the database either. ``check`` then finds a rewrite
(the chain's hash at an anchored row is not the anchored one) and a truncation (the chain ends
before an anchored row). Auditors verify with the public key alone. Each anchor is also recorded
in the trail itself (entity ``audit_anchor``), so it goes out on the event stream too.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Invalid
from engine.records.tables import AuditHead, AuditRecord


@dataclass(frozen=True, slots=True)
class Anchor:
    """The chain's head at one moment: row ``seq`` had hash ``hash``."""

    seq: int
    hash: str
    at: dt.datetime

    def message(self) -> bytes:
        """What the signature covers."""
        return f"ferrule-audit-anchor:{self.seq}:{self.hash}:{self.at.isoformat()}".encode()


def create_key(path: Path) -> Path:
    """A new Ed25519 private key at ``path`` (mode 0600, never overwritten); its public key
    goes beside it as ``<name>.pub`` for auditors. Returns the public key's path."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    public = path.with_name(path.name + ".pub")
    public.write_bytes(
        key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    return public


def _private_key(path: Path) -> Ed25519PrivateKey:
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise Invalid(f"{path} is not an Ed25519 private key.", field="key")
    return key


def _public_key(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return _private_key(path).public_key()
    key = load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid(f"{path} is not an Ed25519 public key.", field="key")
    return key


def head(session: Session) -> Anchor | None:
    """The chain's head now, or None while the trail is empty."""
    row = session.execute(select(AuditHead.seq, AuditHead.hash)).one_or_none()
    if row is None:
        return None
    return Anchor(row.seq, row.hash, dt.datetime.now(dt.UTC))


def append(anchor: Anchor, key_path: Path, anchors_path: Path) -> dict[str, object]:
    """Sign ``anchor`` and append it as one line to ``anchors_path`` (created 0600), synced;
    returns what the line holds (for the event stream)."""
    signature = base64.b64encode(_private_key(key_path).sign(anchor.message())).decode()
    signed: dict[str, object] = {
        "seq": anchor.seq,
        "hash": anchor.hash,
        "at": anchor.at.isoformat(),
        "signature": signature,
    }
    line = json.dumps(signed)
    descriptor = os.open(anchors_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    return signed


def _read(anchors_path: Path, public: Ed25519PublicKey) -> Iterator[tuple[int, Anchor | str]]:
    """(line number, anchor) for each well-signed line, (line number, problem) for the others."""
    for number, line in enumerate(anchors_path.read_text().splitlines(), start=1):
        try:
            data = json.loads(line)
            anchor = Anchor(
                int(data["seq"]), str(data["hash"]), dt.datetime.fromisoformat(data["at"])
            )
            public.verify(base64.b64decode(data["signature"]), anchor.message())
        except InvalidSignature:
            yield number, "its signature does not match (the anchor was altered or forged)"
        except (ValueError, KeyError, TypeError):
            yield number, "it is not an anchor line"
        else:
            yield number, anchor


def check(session: Session, anchors_path: Path, key_path: Path) -> list[str]:
    """Every problem the anchors reveal about the chain now (an empty list when none): a bad
    anchor line, a row whose hash differs from its anchor, a chain shorter than an anchor."""
    public = _public_key(key_path)
    problems: list[str] = []
    now = head(session)
    for number, found in _read(anchors_path, public):
        where = f"{anchors_path}:{number}"
        if isinstance(found, str):
            problems.append(f"{where}: {found}")
            continue
        if now is None or now.seq < found.seq:
            end = "is empty" if now is None else f"ends at record #{now.seq}"
            problems.append(
                f"{where}: the chain {end}, but record #{found.seq} was anchored on "
                f"{found.at:%Y-%m-%d %H:%M:%S} UTC (its tail was cut off)"
            )
            continue
        stored = session.execute(
            select(AuditRecord.hash).where(AuditRecord.seq == found.seq)
        ).scalar_one_or_none()
        if stored != found.hash:
            problems.append(
                f"{where}: record #{found.seq} is not the one anchored on "
                f"{found.at:%Y-%m-%d %H:%M:%S} UTC (the chain was rewritten)"
            )
    return problems
