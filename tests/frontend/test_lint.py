"""ESLint and TypeScript's checker (tsc --checkJs) over frontend/js, as `npm run lint` and `npm run typecheck`
run them; and proof that each fails on a planted fault, so a green run means the checks ran."""

from __future__ import annotations

import json
from pathlib import Path

from tests.frontend.jstools import REPO, node_tool, run

ESLINT = "eslint/bin/eslint.js"
TSC = "typescript/bin/tsc"


def test_eslint_finds_nothing_in_the_scripts():
    result = run([str(node_tool(ESLINT)), "."])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_typescript_finds_no_type_errors_in_the_scripts():
    result = run([str(node_tool(TSC)), "--noEmit", "-p", "jsconfig.json"])
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_eslint_fails_on_an_undefined_variable():
    planted = "export function shown() {\n  return undefinedName + 1;\n}\n"
    result = run([str(node_tool(ESLINT)), "--stdin", "--stdin-filename", "frontend/js/map/planted.js"], stdin=planted)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "'undefinedName' is not defined" in result.stdout and "no-undef" in result.stdout


def test_typescript_fails_on_a_patch_the_store_does_not_know(tmp_path: Path):
    """The map's JSDoc types have teeth: update() takes only the store's own keys."""
    store = (REPO / "frontend" / "js" / "map" / "store.js").as_posix()
    (tmp_path / "planted.js").write_text(
        f'import {{ createStore }} from "{store}";\n'
        "const store = createStore({ hover: -1 });\n"
        "store.update({ hovr: 3 });\n"
    )
    config = json.loads((REPO / "jsconfig.json").read_text())
    config["compilerOptions"].update(types=[], typeRoots=[])
    config["include"] = ["planted.js"]
    (tmp_path / "jsconfig.json").write_text(json.dumps(config))
    result = run([str(node_tool(TSC)), "--noEmit", "-p", str(tmp_path / "jsconfig.json")])
    assert result.returncode != 0, result.stdout + result.stderr
    assert "planted.js(3," in result.stdout and "'hovr' does not exist" in result.stdout, result.stdout
