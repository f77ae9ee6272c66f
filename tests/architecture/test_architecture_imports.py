"""The allowed imports between Ferrule's packages and the engine's subpackages
(docs/architecture.md).

Every import statement counts, at module level or inside a function, so a lazy import cannot
hide a forbidden edge. A failure names the importing module, the line and the edge.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OURS = ("dsl", "engine", "adapters", "web")

_ENGINE_BASE = {"engine.records", "engine.errors", "engine.infra"}
ALLOWED: dict[str, set[str]] = {
    "dsl": set(),
    "adapters": {"dsl"},
    "engine.records": set(),
    "engine.errors": {"dsl"},
    "engine.infra": {"engine.records", "engine.errors"},
    "engine.migrations": {"engine.records", "engine.infra"},
    "engine.access": {"dsl", *_ENGINE_BASE},
    "engine.floor": {"dsl", "engine.access", *_ENGINE_BASE},
    "engine.commands": {"dsl", "engine.floor", "engine.access", *_ENGINE_BASE},
    "engine.queries": {"dsl", "engine.floor", *_ENGINE_BASE},
    "engine.facade": {
        "dsl",
        "engine.commands",
        "engine.queries",
        "engine.floor",
        "engine.access",
        "engine.migrations",
        *_ENGINE_BASE,
    },
    "engine.configtest": {
        "dsl",
        "engine.facade",
        "engine.commands",
        "engine.floor",
        "engine.access",
        *_ENGINE_BASE,
    },
    "engine.cli": {
        "dsl",
        "engine.configtest",
        "engine.facade",
        "engine.commands",
        "engine.queries",
        "engine.floor",
        "engine.access",
        "engine.migrations",
        *_ENGINE_BASE,
    },
    "web": {"dsl", "adapters", "engine.facade", "engine.errors"},
}
# Web modules may name the engine's types and constants (capitalised names) from any engine
# subpackage for type hints and isinstance checks, but call nothing there except the facades.
WEB_TYPES_FROM = {
    "engine.commands",
    "engine.queries",
    "engine.floor",
    "engine.access",
    "engine.infra",
    "engine.records",
}
# The ferrule command mounts the engine's own sub-commands.
WEB_CLI_MODULES = {"web.cli": {"engine.cli"}}
# Third-party packages a layer must never touch.
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "dsl": {"sqlalchemy", "flask", "werkzeug", "asyncua", "pymodbus"},
    "engine": {"flask", "werkzeug", "asyncua", "pymodbus"},
    "adapters": {"flask", "werkzeug", "sqlalchemy"},
}


def unit_of(module: str) -> str:
    """``engine.commands.start`` → ``engine.commands``; ``web.pages.admin`` → ``web``."""
    parts = module.split(".")
    if parts[0] == "engine" and len(parts) > 1:
        return f"engine.{parts[1]}"
    return parts[0]


def modules() -> Iterator[tuple[str, Path]]:
    for top in OURS:
        for path in sorted((REPO / top).rglob("*.py")):
            yield ".".join(path.relative_to(REPO).with_suffix("").parts), path


def imports(path: Path) -> Iterator[tuple[int, str, tuple[str, ...]]]:
    """(line, imported module, imported names) for every absolute import in the file."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = tuple(a.name for a in node.names)
            if node.module in OURS:  # ``from engine import audit`` imports engine.audit
                for name in names:
                    yield node.lineno, f"{node.module}.{name}", ()
            else:
                yield node.lineno, node.module, names


def violations() -> list[str]:
    found: list[str] = []
    for module, path in modules():
        source = unit_of(module)
        for line, target, names in imports(path):
            where = f"{path.relative_to(REPO)}:{line}: {module} imports {target}"
            root = target.split(".")[0]
            if root not in OURS:
                if root in FORBIDDEN_LIBRARIES.get(module.split(".")[0], set()):
                    found.append(f"{where} (no {root} in {module.split('.')[0]})")
                continue
            dest = unit_of(target)
            if dest == source or dest in ALLOWED[source]:
                continue
            if dest in WEB_CLI_MODULES.get(module, set()):
                continue
            if (
                source == "web"
                and dest in WEB_TYPES_FROM
                and names
                and all(name[:1].isupper() for name in names)
            ):
                continue
            found.append(f"{where} ({source} may not import {dest})")
    return found


def test_every_package_imports_only_what_it_may() -> None:
    assert violations() == []


def test_the_rules_cover_every_engine_subpackage() -> None:
    subpackages = {
        f"engine.{p.name}" for p in (REPO / "engine").iterdir() if (p / "__init__.py").exists()
    }
    modules_at_top = {
        f"engine.{p.stem}" for p in (REPO / "engine").glob("*.py") if p.stem != "__init__"
    }
    assert subpackages | modules_at_top == {u for u in ALLOWED if u.startswith("engine.")}


@pytest.mark.parametrize(
    ("source", "edge"),
    [
        ("engine/floor/x.py", "from engine.commands import start\n"),
        ("engine/records/x.py", "def f() -> None:\n    from engine.infra import db\n"),
        ("web/x.py", "from engine.commands.start import start_operation\n"),
        ("dsl/x.py", "import sqlalchemy\n"),
    ],
)
def test_a_forbidden_edge_is_reported(
    source: str, edge: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checker itself can fail: each planted edge is named, with its file and line."""
    planted = tmp_path / source
    planted.parent.mkdir(parents=True)
    planted.write_text(edge)
    for top in OURS:
        (tmp_path / top).mkdir(exist_ok=True)
    monkeypatch.setitem(globals(), "REPO", tmp_path)
    (found,) = violations()
    assert found.startswith(f"{source}:{edge.count(chr(10))}: {source[:-3].replace('/', '.')}")
