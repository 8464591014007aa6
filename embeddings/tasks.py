"""Map tasks. Building runs on the ``gpu`` queue (torch); decades refresh is cheap numpy."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from collection.models import Job
from collection.storage import StorageUnavailable

log = logging.getLogger(__name__)
TRANSIENT_ERRORS = (StorageUnavailable, OperationalError, ConnectionError, TimeoutError)


@shared_task(bind=True, acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, retry_jitter=True, max_retries=3)
def build_map(self, map_pk: int, job_pk: int | None = None) -> dict:
    """Builds a new version of one map; the old build stays live if anything fails."""
    from embeddings.maps import MapBuildError
    from embeddings.maps import build_map as run_build
    from embeddings.models import Map

    map_obj = Map.objects.get(pk=map_pk)
    job = Job.objects.filter(pk=job_pk).first() if job_pk else None
    if job:
        job.start(total=6, message=f"building map {map_obj.slug}")
    try:
        build = run_build(map_obj, job=job)
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


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=5, retry_jitter=True, max_retries=3)
def refresh_decades(map_pk: int) -> int:
    from embeddings.maps import refresh_decades as run_refresh
    from embeddings.models import Map

    map_obj = Map.objects.select_related("live_build").get(pk=map_pk)
    return run_refresh(map_obj.live_build) if map_obj.live_build else 0


def enqueue_build(map_pk: int) -> Job:
    """Creates the job record and enqueues the build after the transaction commits."""
    from django.db import transaction

    from embeddings.models import Map

    map_obj = Map.objects.get(pk=map_pk)
    job = Job.objects.create(kind="build_map", target=map_obj.slug)
    transaction.on_commit(lambda: build_map.delay(map_pk, job.pk))
    return job
