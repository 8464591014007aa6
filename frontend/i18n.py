"""Strings the site's scripts show, translated on the server and embedded in the page as JSON.

Keeping them here (not in a JavaScript catalogue) means one ``django.po`` per language covers the
templates and the scripts alike; ``makemessages`` finds them as ordinary gettext calls.
Plural strings are [one, other] pairs; English and Norwegian both use "n == 1" for the singular.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import ngettext


def js_strings() -> dict[str, str | list[str]]:
    return {
        "loading": _("Loading the map…"),
        "noWebgl": _("Your browser cannot draw the map (WebGL is turned off or not supported)."),
        "contextLost": _("The map stopped drawing (the graphics driver reset). Reload the page to continue."),
        "noMap": _("This map has not been built yet."),
        "unknownMap": _("The map “{slug}” does not exist."),
        "otherMaps": _("Open one of these maps instead:"),
        "loadFailed": _("The map could not be loaded. Check your connection and reload the page."),
        # Literal ngettext calls (one per form), so makemessages finds them.
        "nWorks": [ngettext("{n} work", "{n} works", 1), ngettext("{n} work", "{n} works", 2)],
        "nFaces": [ngettext("{n} face", "{n} faces", 1), ngettext("{n} face", "{n} faces", 2)],
        # "{shown} of {n}": the plural follows the total, as in "1 of 13 works".
        "nOfWorks": [
            ngettext("{shown} of {n} work", "{shown} of {n} works", 1),
            ngettext("{shown} of {n} work", "{shown} of {n} works", 2),
        ],
        "nOfFaces": [
            ngettext("{shown} of {n} face", "{shown} of {n} faces", 1),
            ngettext("{shown} of {n} face", "{shown} of {n} faces", 2),
        ],
        "selectedCount": [
            ngettext("{n} work selected", "{n} works selected", 1),
            ngettext("{n} work selected", "{n} works selected", 2),
        ],
        "matchCount": _("{n} of {total} works match."),
        "moreInExport": _("…and {n} more in the CSV export."),
        "objectUnavailable": _("Searching by object is not available yet, so it was left out."),
        "filterInvalid": _("Check the filter values: a year must be a whole number."),
        "artist": _("Artist"),
        "date": _("Date"),
        "classification": _("Classification"),
        "accession": _("Accession number"),
        "openWork": _("Open the artwork page"),
        "notOnMap": _("not on this map"),
        "noResults": _("No works found"),
        "moreResults": _("{n} more: show all in the list"),
        "boxHelp": _("Drag a box over the map to select works. Press Escape to cancel."),
        "lassoHelp": _("Draw around works to select them. Press Escape to cancel."),
        "exportFailed": _("The export failed. Try a smaller selection."),
        "clusterLabel": _("Group: {name} ({n} works). Zoom in here."),
        "hotspotGo": _("{name}, {n} works: show on the map"),
        "undated": _("Undated"),
        "ungrouped": _("Other"),
        "centreEmpty": _("No work at the centre of the map."),
        "centreWork": _("At the centre: {title}, {artist}, {date}. Press Enter to open it."),
        "similarNotReady": _("Similar works appear once this work has been analysed."),
        "similarFailed": _("Similar works could not be loaded."),
        "similarNone": _("No similar works found."),
        "objects": _("Objects"),
        "faces": _("Faces"),
        "face": _("Face"),
        "object": _("Object"),
        "showDetections": _("Show detected objects and faces"),
        "zoomHelp": _("Drag or use the arrow keys to move, scroll or use + and − to zoom."),
        "typical": _("Typical"),
        "outliers": _("Outliers"),
        "decadeHeading": _("{decade}s"),
        "decadeCount": [ngettext("{n} work", "{n} works", 1), ngettext("{n} work", "{n} works", 2)],
        "showOnMap": _("Show on the map"),
        "noDecades": _("No decade summaries yet: they appear once the map is built."),
        "close": _("Close"),
        "deepZoomHint": _("This is as sharp as the map shows this work: zoom in further to open it in its own viewer."),
    }
