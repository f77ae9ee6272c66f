"""``python -m engine.configtest``: run a bundle's config tests in a process of its own.

Reads ``{"files": {path: text}, "assets": {path: base64}, "label": text}`` as JSON on standard
input and writes the :class:`~engine.commands.changecontrol.ConfigTestResult` as JSON on standard
output (exit status 0, whether the tests pass or not). Anything else (unreadable input, a crash)
exits with status 1 and says why on standard error. The web runs a bundle's tests this way, with
a time limit (see :mod:`engine.configtest.bundle`).
"""

from __future__ import annotations

import base64
import json
import sys

from engine.configtest.bundle import run_bundle


def main() -> int:
    request = json.load(sys.stdin)
    files = {str(path): str(text) for path, text in request["files"].items()}
    assets = {str(path): base64.b64decode(data) for path, data in request["assets"].items()}
    result = run_bundle(files, assets, str(request.get("label") or "bundle"))
    json.dump(result.to_json(), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
