"""Map tasks. Building runs on the ``gpu`` queue (torch); decades refresh is cheap numpy."""

from __future__ import annotations

import logging

from celery import Task

from core.models import Job, JobCancelled
from core.retry import MAP_RETRY, TRANSIENT_ERRORS
from core.tasknames import task

log = logging.getLogger(__name__)


@task(bind=True, **MAP_RETRY)
def build_map(self: Task, map_pk: int, job_pk: int | None = None) -> dict:
    """Builds a new version of one map; the old build stays live if anything fails."""
    from maps.builds import MapBuildError
    from maps.builds import build_map as run_build
    from maps.models import Map

    map_obj = Map.objects.get(pk=map_pk)
    job = Job.objects.filter(pk=job_pk).first() if job_pk else None
    try:
        if job:
            job.start(total=6, message=f"building map {map_obj.slug}")
        build = run_build(map_obj, job=job)
    except JobCancelled:
        return {"map": map_obj.slug, "cancelled": True}
    except TRANSIENT_ERRORS:
        raise
    except MapBuildError as exc:
        if job:
            job.fail(str(exc))
        return {"map": map_obj.slug, "error": str(exc)}
    except Exception as exc:
        log.exception("map build failed for %s", map_obj.slug)
        if job:
            job.fail(f"{type(exc).__name__}: {exc}")
        raise
    result = {"map": map_obj.slug, "version": build.version, "points": build.n_points}
    if job:
        job.finish(result, message=f"map {map_obj.slug} v{build.version} is live")
    return result


# A burst of placements (a batch import) is summarised once: the first placement after a refresh
# starts marks the build "pending" and enqueues one refresh a little later; placements while it is
# pending only ride along. The refresh clears the mark before reading, so a placement that lands
# during a refresh schedules the next one and nothing placed is left out for long.
STATISTICS_REFRESH_COUNTDOWN_S = 15
# If a refresh is lost (worker killed), the mark expires and the next placement schedules again.
STATISTICS_PENDING_TTL_S = 15 * 60


def statistics_pending_key(build_pk: int) -> str:
    return f"embeddings:build-statistics-pending:{build_pk}"


def schedule_statistics_refresh(build_pk: int) -> None:
    """After commit, enqueue one delayed refresh of a build's decades and placed-works metrics."""
    from django.core.cache import cache
    from django.db import transaction

    def _enqueue() -> None:
        if cache.add(statistics_pending_key(build_pk), 1, timeout=STATISTICS_PENDING_TTL_S):
            refresh_build_statistics.apply_async((build_pk,), countdown=STATISTICS_REFRESH_COUNTDOWN_S)

    transaction.on_commit(_enqueue)


@task(**MAP_RETRY)
def refresh_build_statistics(build_pk: int) -> dict:
    """Decades and placed-works metrics of one build, once per burst of placements."""
    from django.core.cache import cache

    from maps.models import MapBuild
    from maps.summaries import refresh_statistics

    cache.delete(statistics_pending_key(build_pk))
    build = MapBuild.objects.filter(pk=build_pk).first()
    if build is None:  # superseded and deleted meanwhile: nothing left to summarise
        return {"build": build_pk, "decades": 0}
    return refresh_statistics(build)


def publication_refresh_pending_key(build_pk: int) -> str:
    return f"embeddings:publication-refresh-pending:{build_pk}"


def schedule_publication_refresh(build_pk: int) -> None:
    """After commit, one refresh per build, however many works a curator (un)publishes at once."""
    from django.core.cache import cache
    from django.db import transaction

    def _enqueue() -> None:
        if cache.add(publication_refresh_pending_key(build_pk), 1, timeout=STATISTICS_PENDING_TTL_S):
            refresh_publication.delay(build_pk)

    transaction.on_commit(_enqueue)


@task(**MAP_RETRY)
def refresh_publication(build_pk: int) -> dict:
    """Re-derives what the public reads of a build after publication changed (``summaries.refresh_published_view``):
    atlases re-packed without unpublished thumbnails, cluster names, sizes and counts from published works."""
    from django.core.cache import cache

    from maps.models import MapBuild
    from maps.summaries import refresh_published_view

    cache.delete(publication_refresh_pending_key(build_pk))
    build = MapBuild.objects.select_related("map").filter(pk=build_pk).first()
    if build is None:
        return {"build": build_pk}
    return refresh_published_view(build)


def enqueue_build(map_pk: int) -> Job:
    """Creates the job record and enqueues the build after the transaction commits."""
    from django.db import transaction

    from maps.models import Map

    map_obj = Map.objects.get(pk=map_pk)
    job = Job.objects.create(kind="build_map", target=map_obj.slug)
    transaction.on_commit(lambda: build_map.delay(map_pk, job.pk))
    return job


@task(bind=True, **MAP_RETRY)
def make_build_live(self: Task, build_pk: int, job_pk: int | None = None) -> dict:
    """Puts a kept older build back live (``builds.make_live``); a refusal fails the job with its reason."""
    from maps.builds import MapBuildError, make_live
    from maps.models import MapBuild

    job = Job.objects.filter(pk=job_pk).first() if job_pk else None
    build = MapBuild.objects.select_related("map").filter(pk=build_pk).first()
    if build is None:
        if job:
            job.fail("the build was deleted before it could go live")
        return {"build": build_pk, "error": "deleted"}
    if job:
        job.start(total=1, message=f"making {build.map.slug} v{build.version} live")
    try:
        make_live(build.map, build)
    except TRANSIENT_ERRORS:
        raise
    except MapBuildError as exc:
        if job:
            job.fail(str(exc))
        return {"build": build_pk, "error": str(exc)}
    result = {"map": build.map.slug, "version": build.version}
    if job:
        job.finish(result, message=f"map {build.map.slug} v{build.version} is live again")
    return result


def enqueue_make_live(build_pk: int) -> Job:
    """Creates the job record and enqueues the switch after the transaction commits."""
    from django.db import transaction

    from maps.models import MapBuild

    build = MapBuild.objects.select_related("map").get(pk=build_pk)
    job = Job.objects.create(kind="make_build_live", target=f"{build.map.slug} v{build.version}")
    transaction.on_commit(lambda: make_build_live.delay(build_pk, job.pk))
    return job
