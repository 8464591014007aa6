"""python manage.py process_collection [--all] [--failed]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from collection import processing
from collection.models import Artwork, ProcessingStatus
from core.models import Job


class Command(BaseCommand):
    help = "Queues image processing (derivatives, features, map placement) for works that need it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Re-process every work with an image.")
        parser.add_argument("--failed", action="store_true", help="Only works whose processing failed.")

    def handle(self, *args: Any, **options: Any) -> None:
        chosen = Artwork.objects.exclude(image=None)
        if options["failed"]:
            chosen = chosen.filter(processing_status=ProcessingStatus.FAILED)
        elif not options["all"]:
            chosen = chosen.exclude(processing_status=ProcessingStatus.DONE)
        works = list(chosen.order_by("pk"))
        which = "all" if options["all"] else "failed" if options["failed"] else "unfinished"
        job = Job.objects.create(kind="process", target=f"process_collection ({which})")
        with processing.burst(job):  # one job for the lot, followed in the admin's Jobs list
            for work in tqdm(works, desc="queue", unit="work", file=self.stderr._out):
                processing.enqueue(work)
        self.stdout.write(self.style.SUCCESS(f"Queued {len(works)} works."))
