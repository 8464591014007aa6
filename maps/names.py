"""Cluster names in the visitor's language.

A build names its regions once, from terms (:mod:`maps.terms`, :mod:`maps.summaries`): title words,
curator labels, the classification and an artist. Of these only the classification comes from a
vocabulary with translations (``collection.models.Classification``, in the catalogue): title words are
in the title's own language, and labels and artists have one spelling. So a term that is a
classification is shown as its label in the active language when the page is served, and the rest as
stored; a name a curator wrote by hand (not the one made from the terms) is never changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from collection.models import Classification
from maps.terms import display

__all__ = ["localized_name", "localized_term"]


def localized_term(term: str) -> str:
    """A classification term as its label in the active language (lower-case, as terms are stored)."""
    for value, label in Classification.choices:
        if term == value:
            return str(label).lower()
    return term


def localized_name(name: str, terms: Sequence[str]) -> str:
    """The name as the active language reads it, when it is the one the build made from its terms."""
    if not name or not terms or name != display(", ".join(terms[:2])):
        return name
    return display(", ".join(localized_term(t) for t in terms[:2]))
