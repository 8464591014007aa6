"""The retry policy of every pipeline task: which errors are transient, and how they are retried."""

from __future__ import annotations

from typing import Any

from django.db import OperationalError

from core.errors import StorageUnavailable

# Errors that go away by themselves (object storage or the database briefly unreachable): tasks
# retry these, with exponential backoff and jitter; every other error is permanent and is stored
# on the work with its reason.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (StorageUnavailable, OperationalError, ConnectionError, TimeoutError)
# Task options shared by the pipeline's tasks; acknowledged only when done, so a lost worker's
# task is redelivered (the tasks are idempotent).
RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 6,
    "acks_late": True,
}
# Map tasks (builds, refreshes) retry fewer times with a longer first wait: a build is long, and a
# refresh that gives up is scheduled again by the next change.
MAP_RETRY: dict[str, Any] = {
    "acks_late": True,
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 5,
    "retry_jitter": True,
    "max_retries": 3,
}
