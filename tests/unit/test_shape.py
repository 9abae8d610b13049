"""The code's shape, as the review asked: small modules and functions, the core pure, one core entry."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "ecs5probe"
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 400, 60


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_samples" not in p.parts)


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_over_60_lines() -> None:
    long = {}
    for p in _modules():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = (node.end_lineno or node.lineno) - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    long[f"{p.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = n
    assert long == {}


def test_the_core_shares_no_state_through_mixins_and_imports_no_private_names_across_modules() -> None:
    for p in _modules():
        tree = ast.parse(p.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ecs5probe"):
                private = [a.name for a in node.names if a.name.startswith("_") and a.name != "__version__"]
                assert not private, f"{p.relative_to(PACKAGE)} imports private {private} from {node.module}"
            if p.parent.name == "core" and isinstance(node, ast.ClassDef):
                assert len(node.bases) <= 1, f"core/{p.name}: {node.name} mixes in {len(node.bases)} classes"


def test_reports_never_reach_the_runtime() -> None:
    """A report format reads the version from its own module, never the package face (which imports
    the Docker runtime on use) nor the runtime itself."""
    for p in (PACKAGE / "render").glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "ecs5probe", f"render/{p.name} imports the package face"
                assert not (node.module or "").startswith("ecs5probe.runtime"), f"render/{p.name} imports the runtime"
