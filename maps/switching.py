"""Whether a kept older build may be made live again, in a curator's words.

Checked in the admin before the switch is queued (so the curator hears why at once) and again by
the worker that switches (``maps.builds.make_live``), since a build may be pruned or its files lost
in between. numpy-free and torch-free: the web process runs it.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from analysis.models import FeatureModel
from collection import storage
from maps.atlas import stored_keys
from maps.models import Map, MapBuild


def live_refusal(build: MapBuild, *, current_version: str | None = None) -> str | None:
    """Why ``build`` cannot go live, or None when it can.

    ``current_version``: the vectors new works get now. Left out on an artworks map it is the
    active feature model's; a faces map's (the face model's) is only known on the worker. A build
    drawn from other vectors could not place new works, so it is refused.
    """
    if build.status != MapBuild.Status.READY:
        return _("v%(v)s is %(status)s, not a finished build; only a complete build can go live.") % {
            "v": build.version,
            "status": build.get_status_display().lower(),
        }
    if build.map.live_build_id == build.pk:
        return _("v%(v)s is already live.") % {"v": build.version}
    if build.n_points == 0 or not build.points.exists():
        return _("v%(v)s has no points left.") % {"v": build.version}
    if current_version is None and build.map.subject == Map.Subject.ARTWORKS:
        active = FeatureModel.objects.active()
        current_version = active.version if active else None
    if current_version is not None and build.feature_version != current_version:
        return _(
            "v%(v)s was drawn from the features of %(old)s, and new works now get %(new)s: it could not place "
            "them. Rebuild the map instead."
        ) % {"v": build.version, "old": build.feature_version, "new": current_version}
    missing = missing_files(build)
    if missing:
        return _("v%(v)s has lost %(n)d stored file(s) (%(first)s); rebuild the map instead.") % {
            "v": build.version,
            "n": len(missing),
            "first": missing[0],
        }
    return None


def missing_files(build: MapBuild) -> list[str]:
    """The build's network and atlas sheets that are no longer in storage."""
    wanted: list[tuple[storage.Area, str]] = [("public", key) for key in stored_keys(build.atlases)]
    if build.parametric_key:
        wanted.insert(0, ("private", build.parametric_key))
    return [key for area, key in wanted if not storage.exists(area, key)]
