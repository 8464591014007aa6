"""The web process's door to the ML worker, without importing torch.

Search by image needs a model forward pass; the web process sends the upload's
bytes to a ``gpu``-queue task and waits for the vector. The bytes travel in
the task message only (never written to storage or logs). In the embedded
default (no broker) the task runs in-process.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from django.conf import settings


class UploadEmbeddingError(RuntimeError):
    """The worker did not return a vector in time, or failed."""


def _ask_worker(task: Any, data: bytes, what: str) -> Any:
    """Sends the photo to a ``gpu`` task inside its message and waits, bounded, for the answer."""
    payload = base64.b64encode(data).decode("ascii")
    try:
        result = task.apply_async(args=[payload], queue="gpu")
        return result.get(timeout=settings.SEARCH_TIMEOUT_SECONDS, disable_sync_subtasks=False)
    except Exception as exc:  # noqa: BLE001 - any worker failure is the same answer to the visitor
        raise UploadEmbeddingError(f"the {what} could not be analysed right now ({type(exc).__name__})") from None
    finally:
        del payload


def embed_upload(data: bytes) -> np.ndarray:
    from mlserver.tasks import embed_upload as task

    return np.asarray(_ask_worker(task, data, "image"), dtype=np.float32)


class NoFaceFound(ValueError):
    """The uploaded photo holds no face the detector can see: the visitor's to fix, not a server error."""


def face_upload(data: bytes) -> tuple[str, np.ndarray]:
    """(face model version, 128-d descriptor of the photo's largest face), computed on the ``gpu`` worker.

    The bytes travel base64-encoded in the task message only, like :func:`embed_upload`.
    """
    from mlserver.tasks import face_upload as task

    answer = _ask_worker(task, data, "photo")
    if not answer.get("descriptor"):
        raise NoFaceFound(
            "No face was found in the photo. Use a photo where one face is seen from the front, "
            "upright and well lit, filling a good part of the picture."
        )
    return answer["version"], np.asarray(answer["descriptor"], dtype=np.float32)
