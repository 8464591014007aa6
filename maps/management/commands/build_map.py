"""python manage.py build_map SLUG"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext_noop
from tqdm import tqdm

from collection.models import Classification
from core.models import Job, JobCancelled
from maps.builds import MapBuildError, build_map
from maps.models import Map

# The default maps ./run demo builds: every work, and the faces found in them.
# English, stored as data; the map page translates these two through the catalogue (frontend.views).
DEFAULT_TITLES = {"all": gettext_noop("All works"), "faces": gettext_noop("Faces")}


class Command(BaseCommand):
    help = "Builds a new version of a map (t-SNE + parametric t-SNE). The map is created if it does not exist."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "slug",
            help='Map slug; "all" covers every work, "faces" lays out the faces found in them, '
            'a classification name (e.g. "painting") covers that one.',
        )
        parser.add_argument("--title", help="Title for a new map.")
        parser.add_argument(
            "--classification", choices=Classification.values, help="Only works of this classification."
        )
        parser.add_argument("--perplexity", type=float)
        parser.add_argument("--seed", type=int)
        parser.add_argument(
            "--if-missing", action="store_true", help="Do nothing when the map already has a live build."
        )
        parser.add_argument(
            "--if-enough",
            action="store_true",
            help="Do nothing (and succeed) when the map has too few works or faces to build yet.",
        )
        parser.add_argument(
            "--subject",
            choices=Map.Subject.values,
            help='What the points of a new map are (default: "faces" for the slug faces, else artworks).',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["slug"]
        classification = options["classification"] or (slug if slug in Classification.values else "")
        subject = options["subject"] or (Map.Subject.FACES if slug == "faces" else Map.Subject.ARTWORKS)
        title = options["title"] or DEFAULT_TITLES.get(slug, slug.title())
        map_obj, created = Map.objects.get_or_create(
            slug=slug, defaults={"title": title, "classification": classification, "subject": subject}
        )
        if options["if_missing"] and map_obj.live_build is not None:
            self.stdout.write(f"Map {slug} already has build v{map_obj.live_build.version}.")
            return
        params = dict(map_obj.params)
        for name in ("perplexity", "seed"):
            if options[name] is not None:
                params[name] = options[name]
        if params != map_obj.params:
            map_obj.params = params
            map_obj.save(update_fields=["params"])
        bar = tqdm(total=6, desc=f"map {slug}", unit="step", file=self.stderr._out)

        def progress(done: int, total: int, message: str) -> None:
            bar.n = done
            bar.set_postfix_str(message)
            bar.refresh()

        job = Job.objects.create(kind="build_map", target=slug)  # followed and cancellable in the admin too
        try:
            job.start(total=6, message=f"building map {slug}")
            build = build_map(map_obj, progress=progress, job=job)
        except JobCancelled:
            raise CommandError(f"Map {slug}: the build was cancelled; the live build is unchanged.") from None
        except MapBuildError as exc:
            if options["if_enough"]:
                job.delete()  # nothing was attempted: no job to follow
                self.stdout.write(f"Map {slug} not built: {exc}")
                return
            job.fail(str(exc))
            raise CommandError(str(exc)) from None
        except Exception as exc:
            job.fail(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            bar.close()
        job.finish(
            {"map": slug, "version": build.version, "points": build.n_points},
            message=f"map {slug} v{build.version} is live",
        )
        m = build.layout_metrics
        self.stdout.write(
            self.style.SUCCESS(
                f"Map {slug} v{build.version} is live: {build.n_points} {'faces' if map_obj.subject == Map.Subject.FACES else 'works'}, "
                f"trustworthiness {m.get('trustworthiness', float('nan')):.3f}, kNN recall@10 {m.get('knn_recall', float('nan')):.3f}."
            )
        )
