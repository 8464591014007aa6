"""The scripts' pure modules (atlas layout, spatial index, URL state, the map's store) under node's own test runner."""

from __future__ import annotations

from tests.frontend.jstools import REPO, run


def test_node_unit_tests():
    result = run(["--test", str(REPO / "frontend" / "js" / "tests")])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
