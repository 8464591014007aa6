"""Artwork filters for the API: text, people, time, classification, labels and detected objects."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from collection.api.auth import request_sees_unpublished
from collection.models import Artwork, Classification
from mlserver.models import Detection


class ArtworkFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", max_length=200, help_text="Words in title, artist, medium or labels.")
    artist = django_filters.CharFilter(method="filter_artist", max_length=200, help_text="Part of an artist's name.")
    decade = django_filters.NumberFilter(field_name="decade", help_text="e.g. 1880")
    year_min = django_filters.NumberFilter(method="filter_year_min", help_text="Works made in or after this year.")
    year_max = django_filters.NumberFilter(method="filter_year_max", help_text="Works made in or before this year.")
    classification = django_filters.ChoiceFilter(choices=Classification.choices)
    style = django_filters.CharFilter(method="filter_style", max_length=120)
    motif = django_filters.CharFilter(method="filter_motif", max_length=120)
    object = django_filters.CharFilter(
        method="filter_object", max_length=100,
        help_text="An object detected in the picture, e.g. horse (see /api/v1/objects/ for the labels).",
    )

    class Meta:
        model = Artwork
        fields: list[str] = []

    def filter_text(self, qs: QuerySet, name: str, value: str) -> QuerySet:
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

    def filter_object(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        # Only detections from trusted weights count; publication is the queryset's business, and
        # for visitors visible() checks it again.
        detections = Detection.objects.filter(trusted=True, label__iexact=value.strip())
        if self.request is None or not request_sees_unpublished(self.request):
            detections = detections.visible()
        return qs.filter(pk__in=detections.values("artwork_id"))
