"""Fills locale/nb/LC_MESSAGES/django.po from the table below (run after makemessages, then compilemessages).

    python manage.py makemessages -l nb --no-location --ignore=node_modules --ignore=var --ignore=tests --ignore=test-artifacts
    python locale/translate_nb.py
    python manage.py compilemessages -l nb

Entries already translated in the .po file are left as they are; msgids missing from the table are
listed so a translator can add them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PO = Path(__file__).resolve().parent / "nb" / "LC_MESSAGES" / "django.po"

NB: dict[str, str | list[str]] = {
    # Collection and admin
    "decade": "tiår",
    # Map layouts
    "Layout": "Oppsett",
    "By similarity": "Etter likhet",
    "Grid": "Rutenett",
    "Timeline": "Tidslinje",
    "By group": "Etter gruppe",
    "Undated": "Udatert",
    "Upload image": "Last opp bilde",
    "Replaces the work's image; processing starts after saving.": "Erstatter verkets bilde; behandlingen starter når du lagrer.",
    "Maker and date": "Kunstner og datering",
    "Object": "Objekt",
    "Curator labels": "Kuratoretiketter",
    "Processing": "Behandling",
    "Record": "Post",
    "Image": "Bilde",
    "Preview": "Forhåndsvisning",
    "Image stored; processing has been queued.": "Bildet er lagret; behandlingen er satt i kø.",
    "Publish selected works": "Publiser valgte verk",
    "%(n)d works published.": "%(n)d verk publisert.",
    "Unpublish selected works": "Avpubliser valgte verk",
    "%(n)d works unpublished.": "%(n)d verk avpublisert.",
    "Re-run processing": "Kjør behandlingen på nytt",
    "Processing queued for %(n)d works.": "Behandling satt i kø for %(n)d verk.",
    "Token created. Copy the key now, it is not shown again: %(key)s": "Nøkkelen er opprettet. Kopier den nå, den vises ikke igjen: %(key)s",
    "Progress": "Fremdrift",
    "Painting": "Maleri",
    "Drawing": "Tegning",
    "Print": "Grafikk",
    "Photograph": "Fotografi",
    "Sculpture": "Skulptur",
    "Design": "Design",
    "Textile": "Tekstil",
    "Other": "Annet",
    "No image": "Uten bilde",
    "Queued": "I kø",
    "Running": "Kjører",
    "Done": "Ferdig",
    "Failed": "Feilet",
    "Style": "Stil",
    "Motif": "Motiv",
    "The museum's stable identifier; imports update works by it.": "Museets faste identifikator; importer oppdaterer verk etter den.",
    "As the museum writes it.": "Slik museet skriver det.",
    'e.g. "Attributed to", "After"': "f.eks. «Tilskrevet», «Etter»",
    "Key in the private storage.": "Nøkkel i det private lageret.",
    '"%(value)s" is not a rate like "600/minute" or "10/second".': "«%(value)s» er ikke en grense som «600/minute» eller «10/second».",
    "Read": "Lese",
    "Read and write": "Lese og skrive",
    'e.g. "600/minute"; empty uses API_TOKEN_RATE.': "f.eks. «600/minute»; tom bruker API_TOKEN_RATE.",
    "Collection map — curators": "Samlingskart — kuratorer",
    "Collection map": "Samlingskart",
    "Collection": "Samling",
    "Live build": "Aktiv versjon",
    "Trustworthiness / kNN recall": "Troverdighet / kNN-gjenfinning",
    "Quality metrics": "Kvalitetsmål",
    "Rebuild selected maps (in the background)": "Bygg valgte kart på nytt (i bakgrunnen)",
    "%(n)d map builds queued; follow them under Jobs.": "%(n)d kartbygg satt i kø; følg dem under Jobber.",
    "Artworks": "Kunstverk",
    "Faces": "Ansikter",
    "Empty: every work.": "Tom: alle verk.",
    't-SNE parameters, e.g. {"perplexity": 30, "seed": 0}.': 't-SNE-parametere, f.eks. {"perplexity": 30, "seed": 0}.',
    "Building": "Bygges",
    "Ready": "Klar",
    "Placed by the network after the build.": "Plassert av nettverket etter byggingen.",
    "Typical": "Typiske",
    "Outlier": "Avvikende",
    "Pretrained backbone": "Forhåndstrent grunnmodell",
    "Fine-tuned on styles and motifs": "Finjustert på stiler og motiver",
    "Training": "Trening",
    "Embedding the collection": "Beregner vektorer for samlingen",
    # The map page's scripts
    "Loading the map…": "Laster kartet …",
    "Your browser cannot draw the map (WebGL is turned off or not supported).": "Nettleseren din kan ikke tegne kartet (WebGL er slått av eller støttes ikke).",
    "The map stopped drawing (the graphics driver reset). Reload the page to continue.": "Kartet sluttet å tegne (grafikkdriveren ble nullstilt). Last inn siden på nytt for å fortsette.",
    "This map has not been built yet.": "Dette kartet er ikke bygget ennå.",
    "The map “{slug}” does not exist.": "Kartet «{slug}» finnes ikke.",
    "Open one of these maps instead:": "Åpne et av disse kartene i stedet:",
    "The map could not be loaded. Check your connection and reload the page.": "Kartet kunne ikke lastes. Sjekk tilkoblingen og last inn siden på nytt.",
    "{n} work": ["{n} verk", "{n} verk"],
    "{n} work selected": ["{n} verk valgt", "{n} verk valgt"],
    "{n} more: show all in the list": "{n} til: vis alle i listen",
    "{shown} of {n} work": ["{shown} av {n} verk", "{shown} av {n} verk"],
    "{shown} of {n} face": ["{shown} av {n} ansikt", "{shown} av {n} ansikter"],
    "{n} of {total} works match.": "{n} av {total} verk passer.",
    "…and {n} more in the CSV export.": "… og {n} til i CSV-eksporten.",
    "Searching by object is not available yet, so it was left out.": "Søk etter objekter er ikke tilgjengelig ennå, så det ble utelatt.",
    "Check the filter values: a year must be a whole number.": "Sjekk filterverdiene: et årstall må være et heltall.",
    "Artist": "Kunstner",
    "Date": "Datering",
    "Classification": "Klassifikasjon",
    "Accession number": "Inventarnummer",
    "Open the artwork page": "Åpne verkets side",
    "not on this map": "ikke på dette kartet",
    "No works found": "Fant ingen verk",
    "Drag a box over the map to select works. Press Escape to cancel.": "Dra en boks over kartet for å velge verk. Trykk Escape for å avbryte.",
    "Draw around works to select them. Press Escape to cancel.": "Tegn rundt verk for å velge dem. Trykk Escape for å avbryte.",
    "The export failed. Try a smaller selection.": "Eksporten mislyktes. Prøv et mindre utvalg.",
    "Group: {name} ({n} works). Zoom in here.": "Gruppe: {name} ({n} verk). Zoom inn her.",
    "No work at the centre of the map.": "Ingen verk midt på kartet.",
    "At the centre: {title}, {artist}, {date}. Press Enter to open it.": "Midt på kartet: {title}, {artist}, {date}. Trykk Enter for å åpne det.",
    "Similar works appear once this work has been analysed.": "Lignende verk vises når dette verket er analysert.",
    "Similar works could not be loaded.": "Lignende verk kunne ikke lastes.",
    "No similar works found.": "Fant ingen lignende verk.",
    "Objects": "Objekter",
    "Show detected objects and faces": "Vis gjenkjente objekter og ansikter",
    "Drag or use the arrow keys to move, scroll or use + and − to zoom.": "Dra eller bruk piltastene for å flytte, rull eller bruk + og − for å zoome.",
    "Outliers": "Avvikere",
    "{decade}s": "{decade}-årene",
    "Show on the map": "Vis på kartet",
    "No decade summaries yet: they appear once the map is built.": "Ingen tiårsoversikter ennå: de kommer når kartet er bygget.",
    # Templates
    "Zoom in": "Zoom inn",
    "Zoom out": "Zoom ut",
    "Show the whole image": "Vis hele bildet",
    "No image of this work yet.": "Ingen bilde av dette verket ennå.",
    "Medium": "Teknikk",
    "Dimensions": "Mål",
    "Motifs": "Motiver",
    "Credit": "Kreditering",
    "Rights": "Rettigheter",
    "Show on the map “%(title)s”": "Vis på kartet «%(title)s»",
    "At the museum": "Hos museet",
    "IIIF manifest": "IIIF-manifest",
    "In the picture": "I bildet",
    "Similar works": "Lignende verk",
    "Skip to content": "Hopp til innholdet",
    "Site": "Nettsted",
    "Map": "Kart",
    "Decades": "Tiår",
    "All works": "Alle verk",
    "Search the collection": "Søk i samlingen",
    "Search title, artist, medium": "Søk i tittel, kunstner, teknikk",
    "Language": "Språk",
    "Change language": "Bytt språk",
    "Decade by decade": "Tiår for tiår",
    "For each decade: the works most typical of it, and the ones that stand out most. Each links to its place on the map.": "For hvert tiår: verkene som er mest typiske for det, og de som skiller seg mest ut. Hvert verk lenker til sin plass på kartet.",
    "Show": "Vis",
    "Loading…": "Laster …",
    "The timeline needs JavaScript.": "Tidslinjen trenger JavaScript.",
    "Browse the works as a list": "Bla gjennom verkene som en liste",
    "Works matching “%(query)s”": "Verk som passer «%(query)s»",
    "The collection": "Samlingen",
    "%(n)s work": ["%(n)s verk", "%(n)s verk"],
    "See them on the map": "Se dem på kartet",
    "No works match your search.": "Ingen verk passer søket ditt.",
    "No works yet. Import a collection with: python manage.py import_collection FILE": "Ingen verk ennå. Importer en samling med: python manage.py import_collection FIL",
    "Pages": "Sider",
    "Previous": "Forrige",
    "Page %(n)s of %(total)s": "Side %(n)s av %(total)s",
    "Next": "Neste",
    "The collection as a map": "Samlingen som kart",
    "Map tools": "Kartverktøy",
    "Find a work on the map": "Finn et verk på kartet",
    "Search results": "Søkeresultater",
    "Filters": "Filtre",
    "Select works with a box": "Velg verk med en boks",
    "Box": "Boks",
    "Select works with a lasso": "Velg verk med en lasso",
    "Lasso": "Lasso",
    "Show the whole map": "Vis hele kartet",
    "Made between": "Laget mellom",
    "From year": "Fra år",
    "To year": "Til år",
    "Any": "Alle",
    "Object in the picture": "Objekt i bildet",
    "e.g. dog, boat": "f.eks. hund, båt",
    "Searching by object becomes available once objects have been detected.": "Søk etter objekter blir tilgjengelig når objektene er gjenkjent.",
    "Highlight": "Fremhev",
    "Clear": "Nullstill",
    "map": "kart",
    "Map of the collection. Arrow keys move, plus and minus zoom, Enter opens the work at the centre.": "Kart over samlingen. Piltastene flytter, pluss og minus zoomer, Enter åpner verket i midten.",
    "Every work in the collection is drawn at its place on the map: similar works lie close together. Drag or use the arrow keys to move, scroll, pinch or use + and − to zoom, and click or press Enter to open a work.": "Hvert verk i samlingen er tegnet på sin plass på kartet: verk som ligner hverandre, ligger nær hverandre. Dra eller bruk piltastene for å flytte, rull, knip eller bruk + og − for å zoome, og klikk eller trykk Enter for å åpne et verk.",
    "The map needs JavaScript.": "Kartet trenger JavaScript.",
    "Close": "Lukk",
    "Export as CSV": "Eksporter som CSV",
    "Clear selection": "Fjern utvalget",
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def fill(path: Path = PO) -> list[str]:
    blocks = path.read_text(encoding="utf-8").split("\n\n")
    missing: list[str] = []
    out = []
    for block in blocks:
        lines = block.split("\n")
        fields: dict[str, str] = {}
        order: list[str] = []
        other: list[str] = []
        key = None
        for line in lines:
            m = re.match(r'^(msgid|msgid_plural|msgstr|msgstr\[\d\]|msgctxt) "(.*)"$', line)
            if m:
                key = m.group(1)
                fields[key] = _unquote(m.group(2))
                order.append(key)
            elif line.startswith('"') and key:
                fields[key] += _unquote(line[1:-1])
            else:
                other.append(line)
        msgid = fields.get("msgid")
        if not msgid:
            out.append(block)
            continue
        translated = any(fields.get(k) for k in fields if k.startswith("msgstr"))
        value = NB.get(msgid)
        if value is None:
            if not translated:
                missing.append(msgid)
            out.append(block)
            continue
        if translated and "#, fuzzy" not in block:
            out.append(block)
            continue
        comments = [line for line in other if line and "fuzzy" not in line]
        new = comments + [f"msgid {_quote(msgid)}"]
        if "msgid_plural" in fields:
            forms = value if isinstance(value, list) else [value, value]
            new += [f"msgid_plural {_quote(fields['msgid_plural'])}"] + [
                f"msgstr[{i}] {_quote(f)}" for i, f in enumerate(forms)
            ]
        else:
            new.append(f"msgstr {_quote(value if isinstance(value, str) else value[0])}")
        out.append("\n".join(new))
    text = "\n\n".join(out)
    text = text.replace('"Language: \\n"', '"Language: nb\\n"')
    header = text.split("\n\n", 1)
    header[0] = (
        header[0]
        .replace("#, fuzzy\n", "")
        .replace("SOME DESCRIPTIVE TITLE.", "Norwegian (bokmål) translation of the collection map.")
    )
    header[0] = header[0].replace(
        '"Project-Id-Version: PACKAGE VERSION\\n"', '"Project-Id-Version: museum-collection-map\\n"'
    )
    header[0] = header[0].replace('"Language-Team: LANGUAGE <LL@li.org>\\n"', '"Language-Team: Norwegian Bokmål\\n"')
    text = "\n\n".join(header)
    path.write_text(text, encoding="utf-8")
    return missing


if __name__ == "__main__":
    left = fill()
    for msgid in left:
        print(f"untranslated: {msgid!r}", file=sys.stderr)
    sys.exit(0)
