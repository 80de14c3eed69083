"""The import rules the layout stands for, checked on every module so they cannot erode.

- ``core`` never imports Qt.
- Only ``core/ml`` imports torch; everything else reaches ``core.ml`` lazily, inside a function
  (the GUI's worker jobs, the CLI's commands), so the window appears before torch loads.
- Importing every module outside ``core/ml`` leaves torch unloaded (checked in a fresh interpreter).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QT_MODULES = ("PySide6", "shiboken6", "PyQt5", "PyQt6")


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> list[tuple[int, str]]:
    """(line, module) of each import; with ``top_level_only`` those run at import time, not inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import) and not (top_level_only and in_function):
                found.extend((child.lineno, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                if not (top_level_only and in_function):
                    found.append((child.lineno, child.module))
                    found.extend((child.lineno, f"{child.module}.{a.name}") for a in child.names)
            visit(child, nested)

    visit(tree, False)
    return found


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _violations(paths: list[Path], prefixes: tuple[str, ...], top_level_only: bool) -> list[str]:
    return [f"{p.relative_to(ROOT)}:{line} imports {name}"
            for p in paths for line, name in _imports(p, top_level_only) if _matches(name, prefixes)]


def test_core_never_imports_qt() -> None:
    assert _violations(_modules("core"), QT_MODULES, top_level_only=False) == []


def test_only_core_ml_imports_torch() -> None:
    outside = [p for p in _modules("core", "gui") if "ml" not in p.relative_to(ROOT).parts[1:2]]
    assert _violations(outside, ("torch",), top_level_only=False) == []


def test_modules_outside_core_ml_import_it_only_inside_functions() -> None:
    outside = [p for p in _modules("core", "gui") if "ml" not in p.relative_to(ROOT).parts[1:2]]
    assert _violations(outside, ("core.ml",), top_level_only=True) == []


def test_the_contract_checker_sees_a_violation(tmp_path: Path) -> None:
    """The checks above would fail on a top-level import and pass a lazy one."""
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\nfrom core.ml import inference\n\ndef lazy():\n    from core.ml import train\n")
    assert [name for _, name in _imports(bad, top_level_only=True)] == ["torch", "core.ml", "core.ml.inference"]
    assert "core.ml.train" in [name for _, name in _imports(bad, top_level_only=False)]


def test_importing_everything_but_core_ml_leaves_torch_unloaded() -> None:
    names = [_module_name(p) for p in _modules("core", "gui")
             if "ml" not in p.relative_to(ROOT).parts[1:2] and p.name != "__main__.py"]
    code = ("import sys\n"
            f"for name in {names!r}:\n"
            "    __import__(name)\n"
            "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('core.ml')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"loaded at import time: {out.stdout.strip()}"
