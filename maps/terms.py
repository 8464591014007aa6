"""Words a visitor understands, taken from a work's title, for naming map regions.

Pure Python (no scikit-learn) so that any process may call it. Titles are cut into lower-case
words without digits or punctuation; stop words in English and Norwegian (and the catalogue's own
filler, "untitled", "study", "no.") are dropped because they are on every kind of work. Two
content words standing next to each other ("still life", "night sky") are kept as a phrase as well,
so that a name can read "Still life" rather than "life, still".
"""

from __future__ import annotations

import re

__all__ = ["title_terms", "STOP_WORDS", "display"]

_ENGLISH = """a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having he her
here hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their theirs
them themselves then there these they this those through to too under until up upon very was we were what when
where which while who whom why will with would you your yours yourself yourselves""".split()
_NORWEGIAN = """og i jeg det at en et den til er som på de med han av ikke ikkje der så var meg seg men ett har om vi
min mitt ha hadde hun nå over da ved fra du ut sin dem oss opp man kan hans hvor eller hva skal selv sjøl her alle
vil bli ble blei blitt kunne inn når være kom noen noe ville dere deres kun ja etter ned skulle denne for deg si sine
sitt mot å meget hvorfor dette disse uten hvordan ingen din ditt blir samme hvilken hvilke sånn inni mellom vår hver
hvem vors hvis både bare enn fordi før mange også slik vært båe begge siden dykk dykkar dei deira deires deim di då
eg ein eit eitt elles honom hjå ho hoe henne hennar hennes hoss hossen ingi inkje korleis korso kva kvar kvarhelst
kven kvi kvifor me medan mi mine mykje no nokon noka nokor noko nokre sia sidan so somt somme um upp vere vore verte
vort varte vart""".split()
_CATALOGUE = """untitled uten tittel study studie sketch skisse detail detalj nr no copy kopi after etter version
versjon fragment part del""".split()
STOP_WORDS: frozenset[str] = frozenset(_ENGLISH + _NORWEGIAN + _CATALOGUE)

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_MIN_LENGTH = 3


def title_terms(title: str) -> list[str]:
    """Content words of a title and the phrases of two adjacent content words, in reading order."""
    words = [w.lower().replace("’", "'") for w in _WORD.findall(title or "")]
    terms: list[str] = []
    previous: str | None = None
    for word in (w.removesuffix("'s") for w in words):
        if word in STOP_WORDS or len(word) < _MIN_LENGTH or "'" in word:
            previous = None
            continue
        terms.append(word)
        if previous is not None:
            terms.append(f"{previous} {word}")
        previous = word
    return list(dict.fromkeys(terms))


def display(term: str) -> str:
    """A term as a name starts: title words are stored lower-case, labels and artists as written."""
    return term[:1].upper() + term[1:] if term == term.lower() else term
