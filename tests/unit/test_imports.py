"""The connector's modules, read as source: no import cycle among them, and nothing from the sandbox.

The connector and the sandbox meet only over HTTP, so a misreading of the API cannot hide in code both use;
and modules that import each other in a circle cannot be understood, or imported, one at a time.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "source_bigcommerce"


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function, as absolute dotted names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "source_bigcommerce" if node.level == 1 else ""
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def graph() -> dict[str, set[str]]:
    """Module to the connector modules it imports."""
    modules = {
        f"source_bigcommerce.{path.stem}": path for path in PACKAGE.glob("*.py") if path.stem != "__init__"
    }
    return {
        name: {found for found in imports(path) if found in modules} - {name}
        for name, path in modules.items()
    }


def test_the_connector_imports_nothing_from_the_sandbox() -> None:
    offenders = {
        path.name: sorted(name for name in imports(path) if name.split(".")[0] == "bigcommerce_sandbox")
        for path in PACKAGE.rglob("*.py")
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_connectors_modules_import_each_other_without_a_cycle() -> None:
    edges = graph()
    assert edges, "no modules found"
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_the_cycle_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "example.py"
    source.write_text(
        "def run():\n    from source_bigcommerce import demo\n    import source_bigcommerce.sync\n"
    )
    assert {"source_bigcommerce.demo", "source_bigcommerce.sync"} <= imports(source)
