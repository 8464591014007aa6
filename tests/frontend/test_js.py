"""The scripts' pure modules (atlas layout, spatial index, URL state) under node's own test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.services import cannot_run

REPO = Path(__file__).resolve().parents[2]


def test_node_unit_tests():
    node = shutil.which("node")
    if node is None:
        cannot_run("node is not installed (apt-get install -y nodejs); the scripts' unit tests need it")
    result = subprocess.run(
        [node, "--test", str(REPO / "frontend" / "js" / "tests")], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
