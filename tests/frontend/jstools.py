"""Running the frontend's node tools from pytest: where node or the npm packages are missing a developer's
run skips with the reason, but CI (CI=true) fails, so a broken install never passes as a green run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.services import cannot_run

REPO = Path(__file__).resolve().parents[2]


def missing(reason: str) -> None:
    cannot_run(reason)


def node() -> str:
    path = shutil.which("node")
    if path is None:
        missing("node is not installed")
    return str(path)


def node_tool(relative: str) -> Path:
    """A tool's script inside node_modules (npm ci installs it)."""
    script = REPO / "node_modules" / relative
    if not script.exists():
        missing(f"node_modules/{relative} is missing (npm ci)")
    return script


def run(args: list[str], stdin: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([node(), *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=300)
