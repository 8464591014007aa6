"""The shared stamp of the in-memory vector indexes (similar works, faces).

Every stage that changes vectors or what the public may see bumps it; each web process
rebuilds its index when the stamp it built from is no longer current, so none serves a
stale index for long. Here because stages on both sides of the index bump it.
"""

from __future__ import annotations

import uuid

from django.core.cache import cache

_STAMP_KEY = "embeddings:index-stamp"


def bump_stamp() -> None:
    """Called whenever vectors or publication change; every process reloads on its next query."""
    cache.set(_STAMP_KEY, uuid.uuid4().hex, None)


def current_stamp() -> str:
    value = cache.get(_STAMP_KEY)
    if value is None:
        value = uuid.uuid4().hex
        cache.add(_STAMP_KEY, value, None)
        value = cache.get(_STAMP_KEY, value)
    return value
