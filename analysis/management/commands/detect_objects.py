"""python manage.py detect_objects [--all | --missing] [--queue]"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Exists, OuterRef, QuerySet
from tqdm import tqdm

from analysis.models import AnalysisRun
from collection.models import Artwork


class Command(BaseCommand):
    help = (
        "Detects objects in works with an image, with the configured detector (DETECTION_* settings). "
        "Runs here, on this machine's detector, unless --queue sends the works to the gpu worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--missing",
            action="store_true",
            help="Only works not yet analysed with the current detector and image (the default).",
        )
        which.add_argument(
            "--all",
            action="store_true",
            help="Every work, re-detecting even current ones (e.g. after changing DETECTION_SCORE_THRESHOLD).",
        )
        parser.add_argument("--queue", action="store_true", help="Enqueue one task per work on the gpu queue instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        force = options["all"]
        works = Artwork.objects.exclude(image=None).select_related("image").order_by("pk")
        if options["queue"]:
            self._queue(works if force else works.filter(~_analysed(version=None)), force)
            return

        from analysis import objects
        from analysis.detection import DetectorUnavailable

        try:
            detector = objects.current_detector()
        except DetectorUnavailable as exc:
            raise CommandError(f"object detection is unavailable: {exc.reason}") from None
        if not detector.trusted:
            self.stderr.write(
                self.style.WARNING(f"{detector.version}: random weights, detections are stored untrusted")
            )
        if not force:
            works = works.filter(~_analysed(version=detector.version))
        chosen = list(works)
        found = 0
        for work in tqdm(chosen, desc="objects", unit="work", file=self.stderr._out):
            run = objects.detect_artwork(work, detector, force=force)
            found += run.found if run else 0
        self.stdout.write(
            self.style.SUCCESS(f"Detected {found} objects in {len(chosen)} works with {detector.version}.")
        )

    def _queue(self, works: QuerySet[Artwork], force: bool) -> None:
        from django.db import transaction

        from analysis.tasks import detect_objects

        pks = list(works.values_list("pk", flat=True))
        with transaction.atomic():
            for pk in tqdm(pks, desc="queue", unit="work", file=self.stderr._out):
                transaction.on_commit(partial(detect_objects.delay, pk, force=force))
        self.stdout.write(self.style.SUCCESS(f"Queued object detection for {len(pks)} works."))


def _analysed(version: str | None) -> Exists:
    """Works whose current image has an objects run (by ``version``, or by any version when None)."""
    runs = AnalysisRun.objects.filter(
        artwork=OuterRef("pk"), kind=AnalysisRun.Kind.OBJECTS, image_sha256=OuterRef("image__sha256")
    )
    if version is not None:
        runs = runs.filter(version=version)
    return Exists(runs)
