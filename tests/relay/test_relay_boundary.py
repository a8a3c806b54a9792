"""The relay is product code: it must not import the emulators, the harness or the app."""

from __future__ import annotations

import ast
from pathlib import Path

import simulator.relay

FORBIDDEN = ("simulator.zendesk", "simulator.widget", "simulator.scenarios", "simulator.tui", "simulator.app")


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` in the file names (relative ones resolved)."""
    package = "simulator.relay"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def test_relay_imports_no_emulator_or_harness_module() -> None:
    root = Path(simulator.relay.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert len(files) > 5
    offenders = {
        f"{path.relative_to(root)}: {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert offenders == set()


def test_the_scanner_catches_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from simulator import widget\nimport simulator.zendesk.emulator\nfrom ..app import x\n")
    names = imported_modules(sample)
    assert "simulator.widget" in names
    assert "simulator.zendesk.emulator" in names
    assert "simulator.app" in names
