"""Loading a plant folder: read the files, parse and validate the YAML, gather the definitions,
then hand them to :mod:`dsl.checker`, which builds the compiled model.

Every problem in every file is collected in one run; diagnostics come back sorted by file and
position, paths shown as the caller gave the folder joined with the file's relative path.

Keys and certificates are never part of a plant: a file holding a PEM private key or
certificate, or named like one (``.key``, ``.pem``, ``.p12``, …), is an error wherever it sits in
the folder, so a bundle carrying one can be neither deployed nor uploaded. Devices name them as
files of the site secrets folder instead (docs/adapters.md), whose names are checked when the
folder is given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from dsl import schema
from dsl._definitions import NAMED_SECTIONS, ONCE_SECTIONS, Definitions
from dsl._devices import SECRETS_DOC, check_secret_files, secret_references
from dsl._gcpause import collector_paused
from dsl.checker import build_plant
from dsl.diagnostics import Diagnostic, PlantError, Span, error, sort_key, warning
from dsl.model import Plant
from dsl.validate import Validator
from dsl.yamlsource import MAX_FILE_BYTES, YMap, YScalar, parse_yaml

SITE_KEYS = ("site", "timezone", "description")
_TOP_LEVEL_HINTS = {
    "routing": "routings go in their own files under routings/",
    "operations": "routings go in their own files under routings/",
}


@dataclass(frozen=True)
class LoadResult:
    """A loaded plant, or why not: ``plant`` is None when any diagnostic is an error."""

    plant: Plant | None
    diagnostics: tuple[Diagnostic, ...]
    sources: Mapping[str, str]
    unchecked_secrets: tuple[str, ...] = ()
    """The files of the site secrets folder the devices name, when no secrets folder was given
    to check that they exist (sorted, each once)."""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if not d.is_error)

    def render(self) -> str:
        """Every diagnostic, rendered with its source line."""
        return "\n".join(d.render(self.sources) for d in self.diagnostics)


def content_hash(files: Mapping[str, str]) -> str:
    """sha256 over the sorted (path, text) pairs, each part followed by a NUL byte."""
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + files[path].encode() + b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class SecretsFolder:
    """A site secrets folder as the checker sees it: its label (as the caller gave its path) and
    the permission bits of each file in it, by name."""

    label: str
    modes: Mapping[str, int]

    @classmethod
    def read(cls, folder: str | Path) -> SecretsFolder:
        """The regular files directly in ``folder`` (links followed)."""
        path = Path(folder)
        modes = {
            entry.name: stat.S_IMODE(entry.stat().st_mode)
            for entry in sorted(path.iterdir())
            if entry.is_file()
        }
        return cls(str(folder).rstrip("/") or str(folder), MappingProxyType(modes))


SECRETS_HINT = f"move it to the site secrets folder ({SECRETS_DOC})"
KEY_SUFFIXES = (".key", ".pem", ".der", ".crt", ".cer", ".p12", ".pfx", ".p8", ".pk8")
"""Names of files that hold keys or certificates: refused in a plant folder whatever they hold."""
_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]*)-----")


def _pem_block(text: str) -> tuple[str, int, int, int] | None:
    """(what, line, column, width) of the first PEM private key in ``text``, else of its first
    PEM certificate; None when it holds neither."""
    if "-----BEGIN " not in text:
        return None
    first: tuple[str, int, int, int] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _PEM_BEGIN.finditer(line):
            label = match.group(1)
            where = (number, match.start() + 1, match.end() - match.start())
            if "PRIVATE KEY" in label:
                return ("a private key", *where)
            if first is None and ("CERTIFICATE" in label or label == "PKCS7"):
                first = ("a certificate", *where)
    return first


def _keys_and_certificates(
    files: Mapping[str, str], binary_paths: frozenset[str], defs: Definitions
) -> list[Diagnostic]:
    """An error for every file of the folder (its tests too) that holds or is named like a key
    or certificate."""
    found: list[Diagnostic] = []
    for relative in sorted(set(files) | binary_paths):
        block = _pem_block(files[relative]) if relative in files else None
        suffix = PurePosixPath(relative).suffix.lower()
        if block is not None:
            what, line, col, width = block
            span = Span.point(defs.display(relative), line, col, width)
            message = f"'{relative}' holds {what}, which must not be in the plant folder"
        elif suffix in KEY_SUFFIXES:
            span = Span.point(defs.display(relative), 1, 1)
            message = (
                f"'{relative}' is a {suffix} file (a key or certificate), which must not be "
                "in the plant folder"
            )
        else:
            continue
        found.append(error(span, message, SECRETS_HINT))
    return found


def _role(relative: str) -> str | None:
    """``plant`` for root YAML files, ``routing`` for routings/*.yaml, None for other files."""
    parts = PurePosixPath(relative).parts
    if not relative.endswith(".yaml"):
        return None
    if len(parts) == 1:
        return "plant"
    if len(parts) == 2 and parts[0] == "routings":
        return "routing"
    return None


def _gather_plant_file(defs: Definitions, root: YMap, validator: Validator) -> None:
    for key, value in root.entries:
        if key.text in SITE_KEYS:
            if isinstance(value, YScalar) and not value.is_empty:
                first = defs.site.get(key.text)
                if first is not None:
                    validator.diagnostics.append(_twice(key, f"'{key.text}'", first, "set"))
                else:
                    defs.site[key.text] = value
        elif key.text in ONCE_SECTIONS:
            first_set = defs.once.get(key.text)
            if first_set is not None:
                validator.diagnostics.append(_twice(key, f"'{key.text}'", first_set[0], "set"))
            else:
                defs.once[key.text] = (key, value)
        elif key.text in NAMED_SECTIONS and isinstance(value, YMap):
            known = defs.sections[key.text]
            for name, definition in value.entries:
                first_def = known.get(name.text)
                if first_def is not None:
                    what = f"{NAMED_SECTIONS[key.text]} '{name.text}'"
                    validator.diagnostics.append(_twice(name, what, first_def[0], "defined"))
                else:
                    known[name.text] = (name, definition)


def _twice(again: YScalar, what: str, first: YScalar, verb: str) -> Diagnostic:
    return error(
        again.span,
        f"{what} is {verb} twice",
        f"first {verb} at {first.span}; keep one of them",
    )


def _check_top_level(root: YMap, validator: Validator) -> None:
    for key, _ in root.entries:
        hint = _TOP_LEVEL_HINTS.get(key.text)
        if hint is not None:
            validator.diagnostics.append(
                error(key.span, f"'{key.text}' does not belong in a plant file", hint)
            )


def gather(
    files: Mapping[str, str], root_label: str, present: frozenset[str]
) -> tuple[Definitions, list[Diagnostic]]:
    """Parse and validate every YAML file of the plant and collect its definitions."""
    defs = Definitions(root_label, files, present)
    validator = Validator()
    diagnostics = validator.diagnostics
    for relative in sorted(files):
        role = _role(relative)
        if role is None:
            continue
        path = defs.display(relative)
        root, problems = parse_yaml(files[relative], path)
        diagnostics.extend(problems)
        if role == "plant" and defs.first_file is None:
            defs.first_file = path
        if root is None:
            defs.unreadable = defs.unreadable or any(p.is_error for p in problems)
            if role == "routing" and not problems:
                diagnostics.append(_empty_routing(path))
            continue
        declared = schema.SCHEMAS[role]
        if not isinstance(root, YMap):
            validator.check(root, declared, "a plant file", "")
            continue
        context = "a plant file" if role == "plant" else "a routing file"
        start = Span.point(path, root.span.line, root.span.col)
        if role == "plant":
            plant_keys = YMap(
                tuple((k, v) for k, v in root.entries if k.text not in _TOP_LEVEL_HINTS),
                root.span,
            )
            _check_top_level(root, validator)
            validator.check_section(plant_keys, declared, context, start)
            _gather_plant_file(defs, root, validator)
        else:
            validator.check_section(root, declared, context, start)
            defs.routings.append(root)
    return defs, diagnostics


def _unread_files(defs: Definitions, binary_paths: frozenset[str]) -> list[Diagnostic]:
    """Errors for YAML files that are not UTF-8 text, warnings for ``.yml`` files."""
    found: list[Diagnostic] = []
    for relative in sorted(binary_paths):
        if _role(relative) is not None:
            defs.unreadable = True
            found.append(
                error(
                    Span.point(defs.display(relative), 1, 1),
                    "this file is not UTF-8 text",
                    "save it as UTF-8",
                )
            )
    for relative in sorted(defs.files):
        if _role(relative.removesuffix(".yml") + ".yaml") is not None and relative.endswith(".yml"):
            found.append(
                warning(
                    Span.point(defs.display(relative), 1, 1),
                    "this file is ignored: plant files end in .yaml",
                    "rename it to .yaml",
                )
            )
    return found


def _empty_routing(path: str) -> Diagnostic:
    return error(
        Span.point(path, 1, 1),
        "this routing file is empty",
        "a routing file needs routing, product and operations",
    )


def load_files(
    files: Mapping[str, str],
    root_label: str,
    *,
    binary_paths: frozenset[str] = frozenset(),
    secrets: SecretsFolder | None = None,
) -> LoadResult:
    """Load a plant from in-memory file texts (relative POSIX path → text).

    ``binary_paths`` names files that exist but are not text (images), so references to them
    are accepted. ``tests/`` is not part of the plant. A file holding or named like a key or
    certificate is an error (text by its content, binary files by name). With ``secrets``, the
    files the devices name must be in that site secrets folder (and private keys readable by
    their owner only); without it, :attr:`LoadResult.unchecked_secrets` lists them.
    """
    with collector_paused:
        return _load_files(files, root_label, binary_paths, secrets)


def _load_files(
    files: Mapping[str, str],
    root_label: str,
    binary_paths: frozenset[str],
    secrets: SecretsFolder | None,
) -> LoadResult:
    root_label = root_label.rstrip("/")
    plant_files = {p: t for p, t in files.items() if not p.startswith("tests/")}
    present = frozenset(plant_files) | binary_paths
    defs, diagnostics = gather(plant_files, root_label, present)
    diagnostics.extend(_unread_files(defs, binary_paths))
    diagnostics.extend(_keys_and_certificates(files, binary_paths, defs))
    references = secret_references(defs.sections["devices"].values())
    unchecked: tuple[str, ...] = ()
    if secrets is not None:
        diagnostics.extend(check_secret_files(references, secrets.label, secrets.modes))
    else:
        unchecked = tuple(sorted({value.text.strip() for _, value in references}))
    sources = MappingProxyType({defs.display(p): t for p, t in plant_files.items()})
    if defs.unreadable:
        return LoadResult(None, tuple(sorted(diagnostics, key=sort_key)), sources, unchecked)
    plant, problems = build_plant(defs, any(d.is_error for d in diagnostics))
    everything = sorted([*diagnostics, *problems], key=sort_key)
    if any(d.is_error for d in everything) or plant is None:
        return LoadResult(None, tuple(everything), sources, unchecked)
    frozen = MappingProxyType(dict(plant_files))
    plant = _with_files(plant, frozen)
    return LoadResult(plant, tuple(everything), sources, unchecked)


def _with_files(plant: Plant, files: Mapping[str, str]) -> Plant:
    return dataclasses.replace(plant, files=files, content_hash=content_hash(files))


def _blank_private_keys(text: str) -> str:
    """``text`` with the body of every PEM private key blanked out (its lines kept, empty), so
    that the refused file can be pointed at without its key travelling any further."""
    lines = text.splitlines(keepends=True)
    inside = False
    for number, line in enumerate(lines):
        ending = "\n" if line.endswith("\n") else ""
        if inside:
            inside = "-----END " not in line
            lines[number] = line if not inside else ending
        elif (match := _PEM_BEGIN.search(line)) is not None and "PRIVATE KEY" in match.group(1):
            inside = "-----END " not in line
            lines[number] = line[: match.end()] + ending
    return "".join(lines)


def read_folder(plant_dir: Path) -> tuple[dict[str, str], frozenset[str]]:
    """The folder's text files by relative path, and the paths of its other files.

    A text file holding a PEM private key is kept with the key's body blanked out: the loader
    refuses the file (keys live in the site secrets folder) and never sees the key itself."""
    texts: dict[str, str] = {}
    binary: set[str] = set()
    for path in sorted(plant_dir.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        relative = path.relative_to(plant_dir).as_posix()
        if not relative.endswith(".yaml") and path.stat().st_size > MAX_FILE_BYTES:
            binary.add(relative)
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            binary.add(relative)
            continue
        texts[relative] = _blank_private_keys(text) if "PRIVATE KEY-----" in text else text
    return texts, frozenset(binary)


def load(plant_dir: str | Path, *, secrets_dir: str | Path | None = None) -> LoadResult:
    """Load and check the plant in ``plant_dir``; with ``secrets_dir``, check that the files its
    devices name are in that site secrets folder."""
    texts, binary = read_folder(Path(plant_dir))
    secrets = SecretsFolder.read(secrets_dir) if secrets_dir is not None else None
    return load_files(texts, str(plant_dir), binary_paths=binary, secrets=secrets)


def load_or_raise(plant_dir: str | Path) -> Plant:
    """Load a plant; :class:`PlantError` carrying every diagnostic when it has errors."""
    result = load(plant_dir)
    if result.plant is None:
        raise PlantError(result.diagnostics, result.sources)
    return result.plant
