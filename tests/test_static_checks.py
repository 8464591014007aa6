"""The build enforces the house style: ruff (lint, import order, format) and mypy with django-stubs run in the
test command, and each fails on a planted violation, so a green run means the checks really looked."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
APPLICATION_PACKAGES = ["analysis", "collection", "config", "core", "frontend", "maps", "pipeline"]


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "static-checks")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)


def _packages() -> list[str]:
    return [name for name in APPLICATION_PACKAGES if (REPO / name).is_dir()]


def test_ruff_finds_no_lint_errors_in_the_repository():
    result = _run(str(BIN / "ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_every_python_file_is_formatted_as_ruff_formats_it():
    result = _run(str(BIN / "ruff"), "format", "--no-cache", "--check", ".")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_mypy_finds_no_type_errors_in_the_application_packages():
    result = _run(str(BIN / "mypy"), "--no-incremental", *_packages())
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_ruff_fails_on_a_planted_unused_import_and_a_bare_except(tmp_path: Path):
    planted = tmp_path / "planted.py"
    planted.write_text("import os\n\n\ndef f() -> None:\n    try:\n        pass\n    except Exception:\n        pass\n")
    result = _run(str(BIN / "ruff"), "check", "--no-cache", "--config", str(REPO / "pyproject.toml"), str(planted))
    assert result.returncode == 1
    assert "F401" in result.stdout and "S110" in result.stdout


def test_ruff_format_check_fails_on_a_planted_badly_formatted_file(tmp_path: Path):
    planted = tmp_path / "planted.py"
    planted.write_text("x = {  'a':1 }\n")
    result = _run(
        str(BIN / "ruff"), "format", "--no-cache", "--check", "--config", str(REPO / "pyproject.toml"), str(planted)
    )
    assert result.returncode == 1
    assert "planted.py" in result.stdout


def test_mypy_fails_on_a_planted_type_error_in_a_django_model_lookup(tmp_path: Path):
    planted = tmp_path / "planted_check.py"
    planted.write_text(
        "from collection.models import Artwork\n\n\n"
        "def title(pk: int) -> int:\n"
        "    return Artwork.objects.get(pk=pk).title\n"
    )
    result = _run(str(BIN / "mypy"), "--no-incremental", "--config-file", str(REPO / "pyproject.toml"), str(planted))
    assert result.returncode == 1, result.stdout
    assert 'Incompatible return value type (got "str", expected "int")' in result.stdout
