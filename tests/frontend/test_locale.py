"""The Norwegian catalogue: complete, and its committed .mo matches the .po (no gettext needed to run)."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "nb" / "LC_MESSAGES"


def _po_entries() -> dict[str, list[str]]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    entries = {}
    for block in text.split("\n\n"):
        if "#, fuzzy" in block:
            continue
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d\])?) "(.*)"$', line)
            if m:
                key = m.group(1)
                fields[key] = m.group(2)
            elif line.startswith('"') and key:
                fields[key] += line[1:-1]
        if fields.get("msgid"):
            entries[fields["msgid"]] = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
    return entries


def test_every_string_is_translated():
    untranslated = [msgid for msgid, values in _po_entries().items() if not all(values)]
    assert not untranslated, f"add these to locale/translate_nb.py: {untranslated}"


def test_compiled_catalogue_matches_the_po_file():
    with open(LOCALE / "django.mo", "rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    stale = []
    for msgid, values in _po_entries().items():
        unescaped = msgid.encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        expected = values[0].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
        if catalogue.gettext(unescaped) != expected and catalogue.ngettext(unescaped, "", 1) != expected:
            stale.append(msgid)
    assert not stale, f"run: python manage.py compilemessages -l nb --ignore=.venv ({stale[:5]})"
