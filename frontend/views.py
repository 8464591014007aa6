"""The public website. Until the map exists, the home page lists the published works."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from collection.models import Artwork


def home(request: HttpRequest) -> HttpResponse:
    works = Artwork.objects.published().with_related().select_related("image").order_by("year_start", "accession_number")
    query = request.GET.get("q", "").strip()[:200]
    if query:
        works = works.search(query)
    page = Paginator(works, 60).get_page(request.GET.get("page"))
    return render(request, "frontend/home.html", {"page": page, "query": query})


def artwork(request: HttpRequest, accession_number: str) -> HttpResponse:
    work = get_object_or_404(
        Artwork.objects.visible_to(request.user).with_related().select_related("image"),
        accession_number=accession_number,
    )
    return render(request, "frontend/artwork.html", {"work": work})
