"""The stage boundaries hold: the import contracts in .importlinter pass, and fail on a planted violation."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ["core", "collection", "mlserver", "embeddings", "pipeline", "frontend", "config"]


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
    (root / "collection" / "planted.py").write_text(
        "from embeddings import models  # collection reaching up to the maps\n"
    )

    result = lint_imports(root)

    assert result.returncode != 0
    assert "Stages import only earlier stages" in result.stdout and "BROKEN" in result.stdout
    assert "collection.planted -> embeddings.models" in result.stdout


def test_a_web_module_importing_torch_breaks_the_web_process_contract(tmp_path):
    root = copy_of_the_tree(tmp_path)
    views = root / "collection" / "views.py"
    views.write_text(views.read_text() + "\nimport torch  # planted\n")

    result = lint_imports(root)

    assert result.returncode != 0
    assert "The web process imports no torch, sklearn or openTSNE BROKEN" in result.stdout
    assert "collection.views is not allowed to import torch" in result.stdout
