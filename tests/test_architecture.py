"""The package map of docs/architecture.md, checked from the code.

Every import in ``etl/`` (top-level, function-level and TYPE_CHECKING alike: a cycle
dodged by a late import is still a cycle) becomes an edge between modules; the test fails
on any cycle and on any import that breaks the layer rules below. SQL and mail stay at
their edges: only the store package executes SQL.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ETL = ROOT / "etl"

#: package -> packages it may import (besides itself). Mirrors docs/architecture.md.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "store": {"core"},
    "intake": {"core", "store"},
    "report": {"core", "store"},
    "notify": {"core", "store"},
    "ui": {"core", "store", "intake"},   # reads receipts and the copy names the intake writes
    "tools": {"core", "intake", "store", "report", "notify", "ui"},
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ETL.rglob("*.py")}


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            # ``from pkg import mod`` depends on pkg.mod only; ``from mod import name`` on mod
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            rest = [a for a in node.names if f"{base}.{a.name}" not in known]
            targets = subs + ([base] if rest else [])
        for t in targets:
            # the longest known module that the import names
            while t and t not in known:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name and t != "etl":
                found.add(t)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: imports_of(p, m, known) for m, p in mods.items()}


def find_cycle(g: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(g.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if m not in state and (c := visit(m)):
                return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(g):
        if n not in state and (c := visit(n)):
            return c
    return None


def test_the_checker_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_etl() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, " -> ".join(cycle or [])


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (ETL / parts[1]).is_dir()) else None


def test_packages_import_only_what_the_map_allows() -> None:
    wrong = []
    for mod, deps in graph().items():
        s = stage(mod)
        if s is None:
            continue
        assert s in ALLOWED, f"{mod}: package etl.{s} is not in the map (docs/architecture.md)"
        for d in deps:
            t = stage(d)
            if t is not None and t != s and t not in ALLOWED[s]:
                wrong.append(f"{mod} imports {d}")
    assert not wrong, "\n".join(sorted(wrong))


SQL = re.compile(r"\.(execute|executemany|executescript)\(|\bsqlite3\.connect\(|\bpsycopg2?\.connect\(|\bcreate_engine\(")


def test_only_the_store_runs_sql() -> None:
    offenders = []
    for mod, path in modules().items():
        if stage(mod) == "store":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if SQL.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
