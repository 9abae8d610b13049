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


# -- the layers (drawn in CONTRIBUTING.md, "Architecture") ---------------------------------------------
#: What each part of the package may import (besides itself). ``cli`` -> ``app`` -> the rest; the core
#: under everything; the shared modules of the package root under the core.
SHARED = {"errors", "model", "version"}
MAY_IMPORT = {
    "cli": {"app", "core", "platforms", "render", "runtime", *SHARED},
    "app": {"core", "platforms", "render", "runtime", *SHARED},
    "render": {"core", "platforms", *SHARED},
    "platforms": {"core", *SHARED},
    "runtime": {"core", *SHARED},
    "core": {*SHARED},
    "errors": set(),
    "model": set(),
    "version": set(),
    "__init__": {"app", "core", "platforms", "render", "runtime", *SHARED},  # the package face
    "__main__": {"cli"},
}
PLATFORMS = ("ecs", "kubernetes", "compose")
#: Known exceptions, each with its reason; a test fails when one is no longer needed.
EXCEPTIONS = {
    ("render/scan.py", "app"): "the scan rows it renders are defined in app/scanning.py (the scan work's file)",
}
#: Core files still naming a platform, with the reason.
CORE_NAMING: dict[str, str] = {}


def _part(module: str) -> str:
    """``ecs5probe.core.probe`` -> ``core``; ``ecs5probe.model`` -> ``model``; ``ecs5probe`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(p: Path) -> list[str]:
    """Every ecs5probe module ``p`` imports (``from ecs5probe import x`` as ``ecs5probe.x``)."""
    out = []
    for node in ast.walk(ast.parse(p.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.split(".")[0] == "ecs5probe"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "ecs5probe":
            if node.module == "ecs5probe":
                out += [f"ecs5probe.{a.name}" for a in node.names]
            else:
                out.append(node.module)
    return out


def _owner(p: Path) -> str:
    rel = p.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def test_each_layer_imports_only_the_layers_below_it() -> None:
    wrong, used = [], set()
    for p in _modules():
        rel, owner = str(p.relative_to(PACKAGE)), _owner(p)
        for module in _imports(p):
            part = _part(module)
            if part == owner or part in MAY_IMPORT[owner]:
                continue
            if (rel, part) in EXCEPTIONS:
                used.add((rel, part))
                continue
            wrong.append(f"{rel} imports {module}")
    assert wrong == []
    assert used == set(EXCEPTIONS), f"no longer needed, remove: {set(EXCEPTIONS) - used}"


def test_the_package_root_holds_only_the_face_the_entry_and_what_every_layer_shares() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert modules == {"__init__", "__main__", *SHARED}
    assert folders == {"app", "cli", "core", "platforms", "render", "runtime"}
    assert set(MAY_IMPORT) == modules | folders  # every part of the package has its place in the layers


def test_no_platform_imports_another() -> None:
    for name in PLATFORMS:
        for p in (PACKAGE / "platforms" / name).rglob("*.py"):
            others = [m for m in _imports(p) if m.split(".")[1:3] in (["platforms", o] for o in PLATFORMS if o != name)]
            assert others == [], f"{p.relative_to(PACKAGE)} imports {others}"


def test_the_core_names_no_platform() -> None:
    """What differs between platforms reaches the core as the semantics a platform hands it."""
    naming = set()
    for p in (PACKAGE / "core").glob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "PlatformName"
                and node.attr.isupper()  # a member (ECS, KUBERNETES...), not PlatformName.default
            ):
                naming.add(str(p.relative_to(PACKAGE)))
    assert naming == set(CORE_NAMING)


def test_the_cli_command_modules_never_import_the_cli_package_back() -> None:
    """``cli/__init__.py`` adds the commands the other modules define; they import only its siblings."""
    submodules = {p.stem for p in (PACKAGE / "cli").glob("*.py")} - {"__init__"}
    for p in (PACKAGE / "cli").glob("*.py"):
        if p.stem == "__init__":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Import):
                assert all(a.name != "ecs5probe.cli" for a in node.names), f"cli/{p.name} imports ecs5probe.cli"
            elif isinstance(node, ast.ImportFrom) and node.module == "ecs5probe":
                assert all(a.name != "cli" for a in node.names), f"cli/{p.name} imports ecs5probe.cli"
            elif isinstance(node, ast.ImportFrom) and node.module == "ecs5probe.cli":
                names = {a.name for a in node.names}
                assert names <= submodules, f"cli/{p.name} imports {names - submodules} from the cli package"
