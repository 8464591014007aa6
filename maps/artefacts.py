"""Guards for stored model artefacts.

A map network trained on one feature model's vectors silently produces
nonsense on another's; a checkpoint written by an older format may miss
fields. Both must fail loudly at load time, never at placement time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["IncompatibleArtefact", "check_artefact"]


class IncompatibleArtefact(Exception):
    """The stored artefact cannot be used with the current code or features."""


def check_artefact(
    meta: Mapping[str, Any],
    *,
    kind: str,
    format_version: int,
    feature_version: str | None,
    input_dim: int | None = None,
) -> None:
    """Raise :class:`IncompatibleArtefact` unless ``meta`` matches what we expect.

    ``feature_version`` / ``input_dim`` of ``None`` mean "don't care" (e.g. for
    inspecting an artefact without features at hand).
    """
    if not isinstance(meta, Mapping):
        raise IncompatibleArtefact(f"expected a {kind!r} artefact dict, got {type(meta).__name__}")
    found_kind = meta.get("kind")
    if found_kind != kind:
        raise IncompatibleArtefact(f"expected artefact kind {kind!r}, found {found_kind!r}")
    found_format = meta.get("format_version")
    if found_format != format_version:
        raise IncompatibleArtefact(
            f"{kind} artefact has format_version {found_format!r}; this code reads "
            f"format_version {format_version} only - rebuild the map"
        )
    if feature_version is not None and meta.get("feature_version") != feature_version:
        raise IncompatibleArtefact(
            f"{kind} artefact was trained for feature model {meta.get('feature_version')!r}, "
            f"not {feature_version!r} - rebuild the map for the current feature model"
        )
    if input_dim is not None and meta.get("input_dim") != input_dim:
        raise IncompatibleArtefact(
            f"{kind} artefact expects {meta.get('input_dim')!r}-dimensional features, got {input_dim}"
        )
