"""python manage.py import_collection FILE_OR_URL [...]"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from collection.importers import ImportFileError, Source, import_collection, iter_lines

DEMO_CSV = Path(__file__).resolve().parents[3] / "demo" / "aic-paintings" / "artworks.csv"


class Command(BaseCommand):
    help = (
        "Imports artworks from CSV or JSON files (with an image folder or image URLs) and IIIF "
        "manifests (v2/v3, file or URL). Re-running updates works by accession number, keeping (and "
        "reporting) what curators changed since the last import."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("sources", nargs="*", help=f"Files or URLs (default: the demo collection, {DEMO_CSV}).")
        parser.add_argument(
            "--images", type=Path, help="Folder relative image paths are read from (default: the file's folder)."
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="Map a file column to a field, e.g. --map 'Objekt nr=accession_number'. Repeatable.",
        )
        parser.add_argument("--encoding", help="Text encoding of the file (default UTF-8).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
        parser.add_argument(
            "--overwrite-edits",
            action="store_true",
            help="Take the file's values even where a curator changed the work since the last import "
            "(by default those edits are kept and reported as conflicts).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        refs = options["sources"] or [str(DEMO_CSV)]
        mapping: dict[str, str] = {}
        for item in options["map"]:
            column, sep, target = item.partition("=")
            if not sep:
                raise CommandError(f"--map {item!r}: expected COLUMN=FIELD")
            mapping[column.strip()] = target.strip()
        bars: list[tqdm] = []

        def progress_factory(source: Source) -> Callable[[int, int], None] | None:
            if options["no_progress"]:
                return None
            bar = tqdm(total=len(source.records), desc=Path(source.name).name[:30], unit="work", file=self.stderr._out)
            bars.append(bar)

            def update(done: int, total: int) -> None:
                bar.n = done
                bar.refresh()
                if done == total:
                    bar.close()

            return update

        try:
            result = import_collection(
                refs,
                image_dir=options["images"],
                mapping=mapping,
                encoding=options["encoding"],
                progress_factory=progress_factory,
                overwrite_edits=options["overwrite_edits"],
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from None
        finally:
            for bar in bars:
                bar.close()
        for line in iter_lines(result):
            self.stdout.write(line)
        style = self.style.SUCCESS if not (result.rejected or result.conflicts) else self.style.WARNING
        self.stdout.write(style(f"Import finished: {result.summary()}."))
