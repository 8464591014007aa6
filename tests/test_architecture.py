"""The stage boundaries hold: the import contracts in .importlinter pass, and fail on a planted violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "collection", "analysis", "maps", "pipeline", "frontend", "config"]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    local = Path(sys.executable).parent / "lint-imports"
    exe = str(local) if local.exists() else shutil.which("lint-imports")
    assert exe, "lint-imports is missing: install requirements-dev.txt"
    return subprocess.run(
        [exe, "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "js", "static", "templates")
        )
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_every_import_contract_is_kept():
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_earlier_stage_importing_a_later_one_breaks_the_stages_contract(tmp_path):
    root = copy_of_the_tree(tmp_path)
    (root / "collection" / "planted.py").write_text("from maps import models  # collection reaching up to the maps\n")

    result = lint_imports(root)

    assert result.returncode != 0
    assert "Stages import only earlier stages" in result.stdout and "BROKEN" in result.stdout
    assert "collection.planted -> maps.models" in result.stdout


def test_a_web_module_importing_torch_breaks_the_web_process_contract(tmp_path):
    root = copy_of_the_tree(tmp_path)
    views = root / "collection" / "views.py"
    views.write_text(views.read_text() + "\nimport torch  # planted\n")

    result = lint_imports(root)

    assert result.returncode != 0
    assert "The web process imports no torch, sklearn or openTSNE BROKEN" in result.stdout
    assert "collection.views is not allowed to import torch" in result.stdout


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MAX_SCRIPT_LINES = 400


def _application_modules() -> list[Path]:
    return sorted(path for name in PACKAGES for path in (REPO / name).rglob("*.py") if "migrations" not in path.parts)


def oversized(paths: list[Path]) -> list[str]:
    """Modules above MAX_MODULE_LINES and functions above MAX_FUNCTION_LINES: one job per module, named steps."""
    import ast

    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found.append(f"{path.relative_to(path.parents[1])}: {lines} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{path.name}:{node.lineno} {node.name}: {length} lines")
    return found


def test_no_application_module_is_above_500_lines_and_no_function_above_80():
    assert oversized(_application_modules()) == []


def test_no_map_script_is_above_400_lines():
    scripts = [p for p in (REPO / "frontend" / "js").rglob("*.js") if "tests" not in p.parts]
    assert scripts
    long = [
        f"{p.name}: {n}" for p in scripts if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_SCRIPT_LINES
    ]
    assert long == []


def test_the_size_check_catches_a_long_module_and_a_long_function(tmp_path: Path):
    planted = tmp_path / "pkg" / "planted.py"
    planted.parent.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    planted.write_text("def long_one():\n" + body + "\n" + "\n" * MAX_MODULE_LINES)

    assert oversized([planted]) == [
        f"pkg/planted.py: {MAX_FUNCTION_LINES + 1 + MAX_MODULE_LINES} lines",
        f"planted.py:1 long_one: {MAX_FUNCTION_LINES + 1} lines",
    ]
