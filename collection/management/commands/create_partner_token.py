from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from collection.models import PartnerToken


class Command(BaseCommand):
    help = "Issues an API token for a partner app and prints its key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--scope", choices=["read", "write"], default="read")
        parser.add_argument("--rate", default="", help='e.g. "600/minute" (default: API_TOKEN_RATE)')

    def handle(self, *args: Any, **options: Any) -> None:
        token, key = PartnerToken.issue(options["name"], scope=options["scope"], rate=options["rate"])
        self.stdout.write(f"{token}\n{key}")
