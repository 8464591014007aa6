"""The web process's door to the ML worker, without importing torch.

Search by image (or by face) needs a model forward pass; the web process hands the
visitor's photo, already reduced to a small JPEG (collection.photos), to a ``gpu``-queue
task and waits, bounded, for the answer.

The photo never travels inside the task message: a broker keeps messages until a worker
takes them (forever, with the worker down) and may snapshot them to disk. Instead it is
left in the cache under a random key that expires with the request's own time-out
(SEARCH_TIMEOUT_SECONDS), and only the key is sent (a claim check). The task reads and
deletes the photo; when the request gives up first, the web side deletes the photo and
revokes the task, and the message itself expires unprocessed. With tasks run eagerly
(CELERY_TASK_ALWAYS_EAGER, the tests) the photo is passed in-process and never stored. In the
embedded default the cache is a folder both processes share and results come back as files
(config/settings.py), so the same claim check works; its one worker runs tasks one at a time, so
a search made while it builds a map or processes an import waits behind that task and, past
SEARCH_TIMEOUT_SECONDS, gets the "could not be analysed right now" answer.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

CLAIM_PREFIX = "search-photo:"


class UploadEmbeddingError(RuntimeError):
    """The worker did not return a vector in time, or failed."""


def leave_photo(data: bytes) -> str:
    """Stores the photo for the worker under a fresh key that lives no longer than the request."""
    key = f"{CLAIM_PREFIX}{uuid.uuid4().hex}"
    cache.set(key, data, timeout=math.ceil(settings.SEARCH_TIMEOUT_SECONDS))
    return key


def take_photo(key: str) -> bytes | None:
    """The photo left under ``key``, removed from the cache; None once the request has given up."""
    if not key.startswith(CLAIM_PREFIX):
        return None
    data = cache.get(key)
    cache.delete(key)
    return data


def _ask_worker(task: Any, run_here: Callable[[bytes], Any], data: bytes, what: str) -> Any:
    """Runs ``task`` on the photo (in-process when eager, else on the ``gpu`` worker) and waits, bounded."""
    timeout = settings.SEARCH_TIMEOUT_SECONDS
    if settings.CELERY_TASK_ALWAYS_EAGER:
        try:
            return run_here(data)
        except Exception as exc:  # noqa: BLE001 - any failure is the same answer to the visitor
            raise UploadEmbeddingError(f"the {what} could not be analysed right now ({type(exc).__name__})") from None
    key = leave_photo(data)
    result = None
    try:
        result = task.apply_async(args=[key], queue="gpu", expires=timeout, retry=False)
        answer = result.get(timeout=timeout, disable_sync_subtasks=False)
        result.forget()  # read once; the embedded default's file backend would keep it for good
        return answer
    except Exception as exc:  # noqa: BLE001 - any worker failure is the same answer to the visitor
        cache.delete(key)
        if result is not None:
            try:
                result.revoke()
            except Exception:  # noqa: BLE001, S110 - the message still expires on its own
                pass
        raise UploadEmbeddingError(f"the {what} could not be analysed right now ({type(exc).__name__})") from None


def embed_upload(data: bytes) -> np.ndarray:
    from analysis import tasks

    return np.asarray(_ask_worker(tasks.embed_upload, tasks.embed_photo, data, "image"), dtype=np.float32)


class NoFaceFound(ValueError):
    """The uploaded photo holds no face the detector can see: the visitor's to fix, not a server error."""


def face_upload(data: bytes) -> tuple[str, np.ndarray]:
    """(face model version, 128-d descriptor of the photo's largest face), computed on the ``gpu`` worker.

    The photo travels by claim check, like :func:`embed_upload`.
    """
    from analysis import tasks

    answer = _ask_worker(tasks.face_upload, tasks.describe_photo, data, "photo")
    if not answer.get("descriptor"):
        raise NoFaceFound(
            "No face was found in the photo. Use a photo where one face is seen from the front, "
            "upright and well lit, filling a good part of the picture."
        )
    return answer["version"], np.asarray(answer["descriptor"], dtype=np.float32)
