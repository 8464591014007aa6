"""python manage.py train_features [--labelled PATH] [--path auto|cpu|gpu] [--epochs N] [--views N] [--refresh-cache]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from core.models import Job, JobCancelled


class Command(BaseCommand):
    help = (
        "Fine-tunes the backbone on the collection's curator labels (styles, motifs) and/or a labelled "
        "image set (a folder per class, or a CSV of image and labels), then re-embeds the collection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--labelled", help="A labelled image set: folder per class, or CSV with image,style,motifs."
        )
        parser.add_argument(
            "--path",
            choices=("auto", "cpu", "gpu"),
            default="auto",
            help="cpu: train the embedding layer on cached backbone features (minutes on a CPU); gpu: full "
            "fine-tune; auto (default): gpu when a GPU is present, else cpu.",
        )
        parser.add_argument("--epochs", type=int)
        parser.add_argument("--views", type=int, help="cpu path: augmented views per work to cache (default 4).")
        parser.add_argument(
            "--refresh-cache", action="store_true", help="cpu path: make cached features again instead of reusing them."
        )
        parser.add_argument("--img-size", type=int, help="gpu path: training resolution (default: the backbone's).")
        parser.add_argument("--freeze-stages", type=int, help="gpu path: keep the first N backbone stages frozen.")

    def handle(self, *args: Any, **options: Any) -> None:
        from analysis import services

        training_options = {
            name: options[key]
            for key, name in (
                ("epochs", "epochs"),
                ("views", "views"),
                ("img_size", "img_size"),
                ("freeze_stages", "freeze_stages"),
            )
            if options[key] is not None
        }
        job = Job.objects.create(
            kind="train_features",
            params={
                "labelled_path": options["labelled"],
                "options": training_options,
                "path": options["path"],
                "refresh_cache": options["refresh_cache"],
            },
        )
        bar = tqdm(total=100, desc="fine-tune", file=self.stderr._out)
        original = job.progress

        def progress(done: int, total: int | None = None, message: str = "") -> None:
            original(done, total, message)
            bar.total = total or bar.total
            bar.n = done
            bar.set_postfix_str(message[:40])
            bar.refresh()

        job.progress = progress  # type: ignore[method-assign]
        try:
            outcome = services.train_features(job)
        except JobCancelled:
            raise CommandError("Training was cancelled; the current feature model stays in use.") from None
        except ValueError as exc:  # an option the chosen path does not have, an unknown path
            job.fail(str(exc))
            raise CommandError(str(exc)) from exc
        finally:
            bar.close()
        job.refresh_from_db()
        style = self.style.SUCCESS if outcome.get("trained") else self.style.WARNING
        self.stdout.write(style(job.message))
        if outcome.get("trained"):
            for field, metrics in job.result.get("metrics", {}).items():
                self.stdout.write(f"  {field}: {metrics}")
