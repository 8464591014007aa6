from typing import Any

from django.core.management.base import BaseCommand

from collection import storage


class Command(BaseCommand):
    help = "Creates the S3 bucket if it does not exist (no-op for local files)."

    def handle(self, *args: Any, **options: Any) -> None:
        storage.ensure_buckets()
        self.stdout.write(self.style.SUCCESS("Storage is ready."))
