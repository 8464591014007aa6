"""Artwork filters for the API: text, people, time, classification and labels; later stages add theirs (add_filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from collection.models import Artwork, ArtworkQuerySet, Classification


class ArtworkFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_text", max_length=200, help_text="Words in title, artist, medium or labels."
    )
    artist = django_filters.CharFilter(method="filter_artist", max_length=200, help_text="Part of an artist's name.")
    decade = django_filters.NumberFilter(field_name="decade", help_text="e.g. 1880")
    year_min = django_filters.NumberFilter(method="filter_year_min", help_text="Works made in or after this year.")
    year_max = django_filters.NumberFilter(method="filter_year_max", help_text="Works made in or before this year.")
    classification = django_filters.ChoiceFilter(choices=Classification.choices)
    style = django_filters.CharFilter(method="filter_style", max_length=120)
    motif = django_filters.CharFilter(method="filter_motif", max_length=120)

    class Meta:
        model = Artwork
        fields: list[str] = []

    def filter_text(self, qs: ArtworkQuerySet, name: str, value: str) -> ArtworkQuerySet:
        return qs.search(value)

    def filter_artist(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(Q(credits__artist__name__icontains=value) | Q(artist_display__icontains=value)).distinct()

    def filter_year_min(self, qs: QuerySet, name: str, value: float) -> QuerySet:
        # A work overlaps the range when it ends at or after the lower bound.
        return qs.filter(Q(year_end__gte=value) | Q(year_end__isnull=True, year_start__gte=value))

    def filter_year_max(self, qs: QuerySet, name: str, value: float) -> QuerySet:
        return qs.filter(year_start__lte=value)

    def filter_style(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(labels__kind="style", labels__name__iexact=value).distinct()

    def filter_motif(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(labels__kind="motif", labels__name__iexact=value).distinct()


def add_filter(name: str, filter_: django_filters.Filter) -> None:
    """Lets a later stage filter works by what it derived (analysis: ``object``), everywhere works are filtered.

    Called from the later stage's AppConfig.ready(), so collection/ never imports it. The filter reaches
    the request through ``self.parent.request`` when it needs to know who asks.
    """
    ArtworkFilter.base_filters[name] = filter_
