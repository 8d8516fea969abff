"""The import graph of src/dbstack: every import resolves, imports point one way, invoke stays in tasks.

Imports inside functions count as much as those at the top of a module: a
lazy import hides a cycle from Python, not from the reader.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

from testpaths import ROOT

SRC = ROOT / "src"

# Lower packages first; a module may import only from its own package or from an earlier entry.
LAYERS = [
    {"dbstack", "dbstack.errors"},
    {"dbstack.quoting", "dbstack.files", "dbstack.childenv", "dbstack.compose"},
    {"dbstack.settings"},
    {"dbstack.postgres"},
    {"dbstack.cli"},
    {"dbstack.migrations", "dbstack.inspect", "dbstack.local"},
    {"dbstack.analysis"},
    {"dbstack.workflows"},
    {"dbstack.k8s"},
    {"dbstack.doctor", "dbstack.standalone"},
    {"dbstack.tasks"},
]


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted((SRC / "dbstack").rglob("*.py")):
        parts = p.relative_to(SRC).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = p
    return out


MODULES = _modules()


@functools.cache
def _tree(path: Path) -> ast.Module:
    """Each module parsed once for all the checks (they walk the same trees many times)."""
    return ast.parse(path.read_bytes(), str(path))


@functools.cache
def _imports(name: str, path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name or None) for every dbstack import, wherever it is written."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, None) for a in node.names if a.name.split(".")[0] == "dbstack"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] == "dbstack":
                found += [(node.lineno, module, a.name) for a in node.names]
    return found


def _edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for m, path in MODULES.items():
        for _, module, name in _imports(m, path):
            target = f"{module}.{name}" if name and f"{module}.{name}" in MODULES else module
            if target != m:
                graph[m].add(target)
    return graph


@functools.cache
def _defined(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.col_offset == 0:
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.col_offset == 0:
            for t in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and node.col_offset == 0:
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def test_every_import_resolves_even_inside_functions():
    wrong = []
    for m, path in MODULES.items():
        for line, module, name in _imports(m, path):
            if module not in MODULES:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: no module {module}")
            elif name and f"{module}.{name}" not in MODULES and name not in _defined(MODULES[module]):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} has no {name}")
    assert not wrong, "\n".join(wrong)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            scc = []
            while True:
                w = stack.pop()
                scc.append(w)
                if w == v:
                    break
            if len(scc) > 1:
                out.append(sorted(scc))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package(m: str) -> str:
    return ".".join(m.split(".")[:2])


def test_no_import_cycle_between_modules():
    assert _cycles(_edges()) == []


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for m, targets in _edges().items():
        graph.setdefault(_package(m), set()).update(_package(t) for t in targets if _package(t) != _package(m))
    for targets in list(graph.values()):
        for t in targets:
            graph.setdefault(t, set())
    assert _cycles(graph) == []


def test_imports_point_down_the_layers():
    rank = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
    unknown = sorted({_package(m) for m in MODULES} - set(rank))
    assert not unknown, f"add {unknown} to LAYERS (and to the README's map)"
    upward = [
        f"{m} -> {t}"
        for m, targets in _edges().items()
        for t in targets
        if _package(t) != _package(m) and rank[_package(t)] >= rank[_package(m)] and _package(t) != "dbstack"
    ]
    assert not upward, "\n".join(sorted(upward))


def test_the_checker_sees_a_lazy_cycle(tmp_path):
    # The oracle must be able to fail: two modules that import each other only inside functions.
    graph = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert _cycles(graph) == [["a", "b"]]


def test_invoke_only_in_tasks():
    users = [
        m
        for m, path in MODULES.items()
        if not m.startswith("dbstack.tasks")
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        and any((getattr(node, "module", None) or a.name).split(".")[0] == "invoke" for a in node.names)
    ]
    assert users == []


def test_heavy_clients_are_imported_inside_functions():
    top = []
    for m, path in MODULES.items():
        for node in _tree(path).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                from_module = isinstance(node, ast.ImportFrom) and node.module
                names = [node.module] if from_module else [a.name for a in node.names]
                top += [f"{m}: {n}" for n in names if n and n.split(".")[0] in ("kubernetes", "docker")]
    assert top == []


def _closure(entry: str) -> set[str]:
    graph, seen, todo = _edges(), set(), [entry]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo += graph[m]
    return seen


def _covered(module: str, parts: tuple[str, ...]) -> bool:
    rel = module.split(".")[1:]
    return not rel or any(rel[0] == p.removesuffix(".py") for p in parts)


def test_the_standalone_builds_carry_every_module_their_entry_point_can_import():
    # migrate.pyz / genmigrate.pyz hold only the listed parts of the package; a module missing
    # there fails at run time on a production host, not in the checkout.
    from dbstack.standalone import bundle

    for entry, parts in ((bundle.ENTRY, bundle.DBSTACK_PARTS), (bundle.GENMIGRATE_ENTRY, bundle.GENMIGRATE_PARTS)):
        missing = sorted(m for m in _closure(entry.partition(":")[0]) if not _covered(m, parts))
        assert not missing, f"{entry}: add {missing} to the bundle's parts"


def test_the_readme_map_matches_the_layers():
    import re

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## How the code is laid out") :]
    section = section[: section.index("\n## ", 1)]
    documented = {}
    for layer, names in re.findall(r"^\| (\d+) \| ([^|]+) \|", section, re.M):
        for n in re.findall(r"`([a-z0-9_]+)(?:\.py|/)`", names):
            documented[f"dbstack.{n}"] = int(layer) - 1
    expected = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer if pkg != "dbstack"}
    assert documented == expected


def test_no_module_imports_another_modules_private_names():
    # A name with a leading underscore is a module's own business; one another module needs gets a public name.
    private = []
    for m, path in MODULES.items():
        for line, module, name in _imports(m, path):
            if name and name.startswith("_") and not name.startswith("__") and module != m:
                private.append(f"{path.relative_to(ROOT)}:{line}: {module}.{name}")
        for node in ast.walk(_tree(path)):
            # `from . import sql as S` then `S._comment(...)`: the same thing spelled as an attribute.
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in _module_aliases(m, path)
            ):
                private.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not private, "\n".join(private)


def _module_aliases(name: str, path: Path) -> set[str]:
    aliases = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            for a in node.names:
                for line, module, imported in _imports(name, path):
                    if line == node.lineno and imported == a.name and f"{module}.{a.name}" in MODULES:
                        aliases.add(a.asname or a.name)
    return aliases
