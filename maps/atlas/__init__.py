"""Texture atlases of a map build's thumbnails, for the WebGL map on the public website.

Two jobs, two modules: :mod:`~maps.atlas.packing` lays thumbnails out in sheets
(pure: Pillow and numpy), :mod:`~maps.atlas.storage` reads a build's thumbnails
from storage, writes the sheets and records them on the build.

The names below are the package's public surface: what map builds, publication
changes, the API and the tests use. The layout functions are reached through ``packing``.
"""

from maps.atlas.packing import decode_index
from maps.atlas.storage import (
    FORMAT_VERSION,
    build_atlases,
    public_description,
    refresh_atlases,
    store_atlases,
    stored_keys,
)

__all__ = [
    "FORMAT_VERSION",
    "build_atlases",
    "decode_index",
    "public_description",
    "refresh_atlases",
    "store_atlases",
    "stored_keys",
]
