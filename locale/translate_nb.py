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
    # The map's curator view (frontend/templates/frontend/map.html)
    "Only curators see this view.": "Bare kuratorer ser denne visningen.",
    "Curator view: unpublished works included": "Kuratorvisning: upubliserte verk er med",
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
    # Jobs (core/admin.py)
    "Cancelled": "Avbrutt",
    "Time left": "Tid igjen",
    "Produced": "Laget",
    "Failed works": "Verk som feilet",
    "Log": "Logg",
    "Cancel job": "Avbryt jobben",
    "Job cancelled: it stops at its next step.": "Jobben er avbrutt: den stopper ved neste steg.",
    "The job had already ended.": "Jobben var allerede ferdig.",
    "deleted": "slettet",
    "Info": "Info",
    "Warning": "Advarsel",
    "Error": "Feil",
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
    # The curators' dashboard and map build pages (collection/dashboard.py, maps/build_pages.py)
    "Feature model": "Trekkmodell",
    "Live maps": "Kart i bruk",
    "Trustworthiness (are works close on the map close in features? 1 = always)": "Pålitelighet (ligger verk som er nær hverandre på kartet, nær hverandre i trekk? 1 = alltid)",
    "kNN recall (share of each work's 10 nearest in features that are its 10 nearest on the map)": "kNN-gjenfinning (andelen av hvert verks 10 nærmeste i trekk som også er dets 10 nærmeste på kartet)",
    "kNN style accuracy (the style of a work's map neighbours is its own)": "kNN-stilnøyaktighet (naboene på kartet har verkets egen stil)",
    "Network KL divergence, first step": "Nettverkets KL-divergens, første steg",
    "Network KL divergence, last step": "Nettverkets KL-divergens, siste steg",
    "Points measured": "Punkter målt",
    "Points evaluated": "Punkter vurdert",
    "v%(v)s is %(status)s, not a finished build; only a complete build can go live.": "v%(v)s har status %(status)s og er ikke en ferdig bygging; bare en fullført bygging kan tas i bruk.",
    "v%(v)s is already live.": "v%(v)s er allerede i bruk.",
    "v%(v)s has no points left.": "v%(v)s har ingen punkter igjen.",
    "v%(v)s was drawn from the features of %(old)s, and new works now get %(new)s: it could not place them. Rebuild the map instead.": "v%(v)s ble tegnet fra trekkene til %(old)s, og nye verk får nå %(new)s: den kunne ikke plassert dem. Bygg kartet på nytt i stedet.",
    "v%(v)s has lost %(n)d stored file(s) (%(first)s); rebuild the map instead.": "v%(v)s har mistet %(n)d lagrede fil(er) (%(first)s); bygg kartet på nytt i stedet.",
    "v%(v)s: measures, clusters and decades": "v%(v)s: mål, grupper og tiår",
    "v%(v)s of %(map)s goes live in the background (job %(job)s, under Jobs).": "v%(v)s av %(map)s tas i bruk i bakgrunnen (jobb %(job)s, under Jobber).",
    "A new build of %(map)s is queued (job %(job)s, under Jobs).": "En ny bygging av %(map)s er satt i kø (jobb %(job)s, under Jobber).",
    "Choose two builds to compare.": "Velg to bygginger å sammenligne.",
    "Only builds of the same map can be compared.": "Bare bygginger av samme kart kan sammenlignes.",
    "%(map)s: v%(a)s against v%(b)s": "%(map)s: v%(a)s mot v%(b)s",
    "Show on the public map": "Vis på det offentlige kartet",
    "Not on the public map while unpublished.": "Ikke på det offentlige kartet så lenge verket er upublisert.",
    "placed after the build": "plassert etter byggingen",
    "fitted in the build": "tilpasset i byggingen",
    "On the map": "På kartet",
    "Optional parts that are off": "Valgfrie deler som er slått av",
    "Processing of works": "Behandling av verk",
    "Waiting": "Venter",
    "Job": "Jobb",
    "State": "Status",
    "Since": "Siden",
    "%(n)s job not finished": ["%(n)s jobb ikke ferdig", "%(n)s jobber ikke ferdige"],
    "No background job is queued or running.": "Ingen bakgrunnsjobb står i kø eller kjører.",
    "Quality": "Kvalitet",
    "Preview of the map %(title)s": "Forhåndsvisning av kartet %(title)s",
    "built": "bygget",
    "points": "punkter",
    "trustworthiness": "pålitelighet",
    "kNN recall": "kNN-gjenfinning",
    "layout shown": "oppsett som vises",
    "No live build yet.": "Ingen bygging i bruk ennå.",
    "No map yet.": "Ingen kart ennå.",
    "All maps and their builds": "Alle kart og byggingene deres",
    "active since": "i bruk siden",
    "Head": "Hode",
    "Held-out measure": "Mål på tilbakeholdte verk",
    "Value": "Verdi",
    "Works": "Verk",
    "Pretrained backbone: no heads trained on this collection's labels.": "Forhåndstrent ryggrad: ingen hoder trent på samlingens etiketter.",
    "No active feature model yet: the collection has not been processed.": "Ingen trekkmodell i bruk ennå: samlingen er ikke behandlet.",
    "Waiting to take over:": "Venter på å ta over:",
    "All feature models": "Alle trekkmodeller",
    "Actions": "Handlinger",
    "Rebuild this map": "Bygg dette kartet på nytt",
    "Make v%(v)s live": "Ta v%(v)s i bruk",
    "This build is live.": "Denne byggingen er i bruk.",
    "You may look at builds but not rebuild maps or switch their live build.": "Du kan se på bygginger, men ikke bygge kart på nytt eller bytte byggingen som er i bruk.",
    "Compare with": "Sammenlign med",
    "Compare": "Sammenlign",
    "Quality of the layout": "Kvaliteten på oppsettet",
    "Measure": "Mål",
    "shown": "vises",
    "Judged against (openTSNE measured elsewhere)": "Vurdert mot (openTSNE målt andre steder)",
    "No measures recorded (the build did not get that far).": "Ingen mål registrert (byggingen kom ikke så langt).",
    "Works placed after the build": "Verk plassert etter byggingen",
    "Judged against": "Vurdert mot",
    "No published work has been placed on this build since it was made.": "Ingen publiserte verk er plassert på denne byggingen siden den ble laget.",
    "The map": "Kartet",
    "Preview of this build: its points in their clusters colours": "Forhåndsvisning av denne byggingen: punktene i gruppenes farger",
    "%(n)s cluster": ["%(n)s gruppe", "%(n)s grupper"],
    "Cluster": "Gruppe",
    "Name": "Navn",
    "Published works": "Publiserte verk",
    "Words": "Ord",
    "Typical and outlier works of each decade": "Typiske og avvikende verk fra hvert tiår",
    "Decade": "Tiår",
    "Parameters": "Parametere",
    "Parameter": "Parameter",
    "This build": "Denne byggingen",
    "The map's own settings": "Kartets egne innstillinger",
    "Quality of the layouts": "Kvaliteten på oppsettene",
    "shows": "viser",
    "Clusters": "Grupper",
    "Points": "Punkter",
    "Neighbours on the map": "Naboer på kartet",
    "Of the %(n)s works on both builds, each kept on average a share of %(kept)s of its %(k)s nearest works on the map.": "Av de %(n)s verkene i begge byggingene beholdt hvert i snitt en andel på %(kept)s av sine %(k)s nærmeste verk på kartet.",
    "Share of works whose neighbours changed (fewer than half of them kept)": "Andel verk med nye naboer (færre enn halvparten beholdt)",
    "measured on a sample of %(n)s works": "målt på et utvalg av %(n)s verk",
    "Only %(n)s works are on both builds: too few to compare neighbours.": "Bare %(n)s verk er i begge byggingene: for få til å sammenligne naboer.",
    # The map on a phone, the lens and deep zoom (issue #16)
    "This map is being built. Come back in a little while.": "Dette kartet blir bygget. Kom tilbake om en liten stund.",
    "The map “%(slug)s” does not exist.": "Kartet «%(slug)s» finnes ikke.",
    "Menu": "Meny",
    "Lens": "Lupe",
    "Magnify the works under the pointer (hold a finger on the map on a touch screen)": "Forstørr verkene under pekeren (hold en finger på kartet på en berøringsskjerm)",
    "This is as sharp as the map shows this work: zoom in further to open it in its own viewer.": "Skarpere viser ikke kartet dette verket: zoom videre inn for å åpne det i sin egen visning.",
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
