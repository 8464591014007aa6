"""The web process (Django, the API, the admin, the site) must start without the ML stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
import django
django.setup()
import config.urls
import collection.admin, collection.api.views, collection.tasks, collection.importers, frontend.views
import pipeline.tasks, pipeline.stages, analysis.tasks, maps.tasks, maps.similar_api, analysis.works_api
from django.urls import resolve, reverse
from django.contrib import admin
paths = [reverse("api:artwork-list"), reverse("frontend:home"), reverse("admin:index"),
         reverse("api:artwork-detail", kwargs={"accession_number": "1880.1"})]
views = [resolve(p).func.__name__ for p in paths]
heavy = sorted(m for m in ("torch", "torchvision", "timm", "sklearn", "umap", "dlib") if m in sys.modules)
registered = sorted(m.__name__ for m in admin.site._registry)
print(json.dumps({"paths": paths, "views": views, "heavy": heavy, "registered": registered}))
"""


def test_the_web_process_loads_every_url_without_importing_torch():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(REPO)}

    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["paths"] == ["/api/v1/artworks/", "/", "/admin/", "/api/v1/artworks/1880.1/"]
    assert report["views"] == ["ArtworkViewSet", "home", "index", "ArtworkViewSet"]
    assert report["heavy"] == [], f"the web process imported {report['heavy']}"
    # The curators' admin site is the one the models are registered on.
    assert {"Artwork", "Artist", "ImageFile", "ImportRun", "Label", "PartnerToken"} <= set(report["registered"])
