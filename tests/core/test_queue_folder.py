"""The embedded default's queue folder holds task messages and search results: only its owner reads it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DROPPED = ("DATABASE_URL", "CACHE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "S3_")


def test_the_embedded_queue_folders_are_readable_by_their_owner_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "PYTEST_", *DROPPED))}
    env.update(VAR_DIR=str(tmp_path), DJANGO_DEBUG="true", DJANGO_SETTINGS_MODULE="config.settings")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; print(settings.CELERY_BROKER_URL)",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and done.stdout.strip() == "filesystem://", done.stderr[-2000:]

    queue = tmp_path / "queue"
    for folder in (queue, *(queue / name for name in ("messages", "processed", "control", "results"))):
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, f"{folder} is open to others"
