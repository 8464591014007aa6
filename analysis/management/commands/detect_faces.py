"""python manage.py detect_faces [--queue] [--limit N]"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Exists, OuterRef
from tqdm import tqdm

from analysis.models import AnalysisRun
from collection.models import Artwork


class Command(BaseCommand):
    help = (
        "Finds faces in every work whose image the current face model has not seen yet. Resumable: "
        "works already analysed with the same model and image are skipped, so a stopped run continues."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue", action="store_true", help="Send one task per work to the gpu worker instead of working here."
        )
        parser.add_argument("--limit", type=int, default=0, help="At most this many works (0: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis import facestage

        if not settings.FACES_ENABLED:
            self.stdout.write("Faces are switched off (FACES_ENABLED=false): nothing to do.")
            return
        version = facestage.current_version()
        # A run is current only for the image it saw: a replaced image is analysed again.
        current = AnalysisRun.objects.filter(
            artwork=OuterRef("pk"), kind=AnalysisRun.Kind.FACES, version=version, image_sha256=OuterRef("image__sha256")
        )
        works = Artwork.objects.exclude(image=None).exclude(Exists(current)).select_related("image").order_by("pk")
        if options["limit"]:
            works = works[: options["limit"]]
        chosen = list(works)
        self.stdout.write(f"{len(chosen)} works to analyse with {version}")
        if options["queue"]:
            from analysis.tasks import detect_faces

            pks = [w.pk for w in chosen]
            transaction.on_commit(lambda: [detect_faces.delay(pk) for pk in pks])
            self.stdout.write(self.style.SUCCESS(f"queued {len(pks)} works on the gpu worker"))
            return
        found = failed = 0
        for work in tqdm(chosen, desc="faces", unit="work", file=self.stderr._out):
            try:
                found += facestage.analyse_faces(work).found
            except Exception as exc:  # noqa: BLE001 - one bad image must not stop the collection
                failed += 1
                self.stderr.write(f"artwork {work.pk} ({work.accession_number}): {type(exc).__name__}: {exc}")
        self.stdout.write(self.style.SUCCESS(f"{found} faces in {len(chosen) - failed} works; {failed} failed"))
