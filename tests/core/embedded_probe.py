"""Run by tests/core/test_embedded_worker.py in a process of its own, on the embedded default's settings.

The test process runs on tests.settings (PostgreSQL, Redis, eager tasks); the embedded default is
config.settings with nothing set, so it needs a fresh interpreter: SQLite and the queue folder in
$VAR_DIR, and the worker config/worker.py starts. A curator adds a work with a picture in the admin
(through Django's test client, in this process: the web side); the probe then waits for the worker
and prints, as one JSON line, what the web side loaded and how the work ended.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import django

TIMEOUT_S = float(os.environ.get("PROBE_TIMEOUT_S", "240"))
ML_MODULES = ("torch", "timm", "torchvision", "dlib")


def picture() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (96, 64), (180, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def add_work_in_admin() -> float:
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    user = get_user_model().objects.create_superuser("probe", "probe@example.org", "probe-pass-1234")
    client = Client()
    client.force_login(user)
    data = {
        "accession_number": "EMB-1",
        "title": "Red field",
        "classification": "painting",
        "published": "on",
        "credits-TOTAL_FORMS": "0",
        "credits-INITIAL_FORMS": "0",
        "credits-MIN_NUM_FORMS": "0",
        "credits-MAX_NUM_FORMS": "1000",
        "_save": "Save",
        "upload": SimpleUploadedFile("red.jpg", picture(), content_type="image/jpeg"),
    }
    began = time.monotonic()
    response = client.post("/admin/collection/artwork/add/", data)
    took = time.monotonic() - began
    if response.status_code != 302:
        import re

        errors = re.findall(r'<ul class="errorlist[^>]*>(.*?)</ul>', response.content.decode(), re.S)
        raise SystemExit(f"admin save answered {response.status_code}: {errors}")
    return took


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    var = Path(settings.VAR_DIR)
    log = open(var / "worker.log", "wb")  # noqa: SIM115 - closed at exit
    worker = subprocess.Popen([sys.executable, "-m", "config.worker"], stdout=log, stderr=subprocess.STDOUT)
    try:
        request_s = add_work_in_admin()
        loaded_by_request = sorted(m for m in ML_MODULES if m in sys.modules)
        from collection.models import Artwork

        deadline = time.monotonic() + TIMEOUT_S
        work = Artwork.objects.get(accession_number="EMB-1")
        while work.processing_status not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.5)
            work.refresh_from_db()
        outcome = {
            "eager": settings.CELERY_TASK_ALWAYS_EAGER,
            "broker": settings.CELERY_BROKER_URL,
            "database": settings.DATABASES["default"]["ENGINE"],
            "ml_enabled": settings.ML_ENABLED,
            "request_s": round(request_s, 2),
            "ml_modules_in_web_process": loaded_by_request,
            "status": work.processing_status,
            "stage": work.processing_stage,
            "error": work.processing_error,
            "derivatives": sorted(work.image.derivatives) if work.image else [],
            "vectors": work.embeddings.count(),
        }
        if settings.ML_ENABLED and work.processing_status == "done":
            from analysis.client import embed_upload

            outcome["search_vector_length"] = len(embed_upload(picture()))
            outcome["ml_modules_after_search"] = sorted(m for m in ML_MODULES if m in sys.modules)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    print("PROBE " + json.dumps(outcome))


if __name__ == "__main__":
    main()
