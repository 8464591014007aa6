"""The stages of a work, in order: what happens to an uploaded or imported picture, read top to bottom.

Each stage says whether it applies to a work and runs on it; the queue says which worker runs it
(``gpu``: the ML worker, which holds torch and the models). pipeline.tasks has one task per queue:
it runs that queue's due stages in this order and hands the work on to the next queue's task.
Every stage is idempotent (content-addressed derivatives, one vector per work and model, one
detection run per image and model version), so a redelivered or re-run task does no work twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from collection.models import Artwork


class Stage(Protocol):
    @property
    def name(self) -> str: ...  # stored on the work as its processing stage while it runs, and with a failure

    @property
    def queue(self) -> str: ...

    def applies(self, work: Artwork) -> bool: ...

    def run(self, work: Artwork) -> None: ...


@dataclass(frozen=True)
class Derivatives:
    """Thumb, medium and large sizes; an unpublished work's pictures leave the public area."""

    name: str = "derivatives"
    queue: str = "default"

    def applies(self, work: Artwork) -> bool:
        return work.image is not None

    def run(self, work: Artwork) -> None:
        from collection import images, processing

        record = work.image
        if record is None:  # applies() said there is one; a concurrent removal leaves nothing to make
            return
        if not record.derivatives_complete():
            images.regenerate_derivatives(record)
        processing.sync_derivative_visibility(record)


@dataclass(frozen=True)
class Features:
    """The work's vector under the active feature model (analysis.services)."""

    name: str = "features"
    queue: str = "gpu"

    def applies(self, work: Artwork) -> bool:
        return settings.ML_ENABLED and work.image is not None

    def run(self, work: Artwork) -> None:
        from analysis import services

        services.embed_artwork(work)


@dataclass(frozen=True)
class Objects:
    """Detected objects; a worker without detector weights skips it (logged once, analysis.objects)."""

    name: str = "objects"
    queue: str = "gpu"

    def applies(self, work: Artwork) -> bool:
        return settings.ML_ENABLED and work.image is not None

    def run(self, work: Artwork) -> None:
        from analysis import objects

        objects.objects_stage(work)


@dataclass(frozen=True)
class Faces:
    """Faces with their crops; new faces are placed on the live faces maps (analysis.signals.faces_found)."""

    name: str = "faces"
    queue: str = "gpu"

    def applies(self, work: Artwork) -> bool:
        return settings.ML_ENABLED and settings.FACES_ENABLED and work.image is not None

    def run(self, work: Artwork) -> None:
        from analysis import facestage

        facestage.analyse_faces(work)


@dataclass(frozen=True)
class Placement:
    """The work's point on every live map that covers it; no other point moves (maps.placing)."""

    name: str = "map"
    queue: str = "gpu"

    def applies(self, work: Artwork) -> bool:
        return settings.ML_ENABLED and work.image is not None

    def run(self, work: Artwork) -> None:
        from maps.placing import place_artwork

        place_artwork(work)


STAGES: tuple[Stage, ...] = (Derivatives(), Features(), Objects(), Faces(), Placement())


def due(work: Artwork) -> list[Stage]:
    """The stages that apply to the work, in order."""
    return [stage for stage in STAGES if stage.applies(work)]
