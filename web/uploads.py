"""Files sent inside a JSON body: ``{"filename", "media_type", "content_base64"}`` decoded into
an :class:`~engine.infra.attachments.Upload`, with a 400 a person can act on when the base64 is
bad or the file is too large to be one the engine would keep."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from engine.infra.attachments import MAX_ATTACHMENT, Upload
from web.errors import BadRequest
from web.schemas import NAME, STRING, Schema, obj

FILE: Schema = obj({"filename": NAME, "content_base64": STRING}, {"media_type": NAME})


def decoded_upload(given: Mapping[str, Any], field: str) -> Upload:
    """The file ``given`` under the body's key ``field``, decoded."""
    text = given["content_base64"]
    if len(text) > MAX_ATTACHMENT * 4 // 3 + 4:
        raise BadRequest(
            f"{field}.content_base64: the file is larger than {MAX_ATTACHMENT // 2**20} MB.",
            field=f"{field}.content_base64",
        )
    try:
        content = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(
            f"{field}.content_base64: not valid base64; encode the file's bytes with base64.",
            field=f"{field}.content_base64",
        ) from None
    return Upload(given["filename"], given.get("media_type", ""), content)
