"""The embedded default (nothing set: SQLite, files under VAR_DIR) runs tasks on a real worker, not in the request.

Before, with no broker every task ran eagerly inside the web request: the first admin upload loaded
the feature model in the web process and held the curator's Save for half a minute. The probe
(tests/core/embedded_probe.py) runs on config.settings in a fresh interpreter with the worker that
``./run serve`` starts (config/worker.py), real ML included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DROPPED = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "ML_ENABLED", "S3_")


def run_probe(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_", *DROPPED))}
    env.update(VAR_DIR=str(var_dir), DJANGO_DEBUG="true", PYTHONUNBUFFERED="1")
    done = subprocess.run(
        [sys.executable, "-m", "tests.core.embedded_probe"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    worker_log = (var_dir / "worker.log").read_text(errors="replace") if (var_dir / "worker.log").exists() else ""
    assert done.returncode == 0 and lines, (
        f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}\nworker:\n{worker_log[-3000:]}"
    )
    return json.loads(lines[-1].removeprefix("PROBE "))


@pytest.mark.slow
def test_an_admin_upload_in_the_embedded_default_is_processed_by_the_worker_not_the_request(tmp_path):
    probe = run_probe(tmp_path)

    assert (probe["eager"], probe["broker"], probe["database"]) == (
        False,
        "filesystem://",
        "django.db.backends.sqlite3",
    )
    assert probe["ml_enabled"]
    # The web process that answered the Save never imported the ML stack...
    assert probe["ml_modules_in_web_process"] == []
    # ...and the worker processed the work through every stage: derivatives and its vector.
    assert (probe["status"], probe["error"]) == ("done", "")
    assert probe["derivatives"] == ["large", "medium", "thumb"]
    assert probe["vectors"] == 1
    # Search by image goes to the same worker by claim check (shared file cache, file results).
    assert probe["search_vector_length"] > 0
    assert probe["ml_modules_after_search"] == []
    assert (tmp_path / "queue" / "messages").is_dir() and (tmp_path / "db.sqlite3").exists()
