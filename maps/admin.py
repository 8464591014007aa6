from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from collection.admin import add_artwork_section
from collection.models import Artwork
from maps.build_pages import thumb_url
from maps.models import Map, MapBuild, MapPoint

NEIGHBOURS_SHOWN = 8


@admin.register(Map)
class MapAdmin(admin.ModelAdmin):
    list_display = ["slug", "title", "subject", "classification", "live_version", "live_quality"]
    readonly_fields = ["live_build", "live_metrics", "created"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["rebuild"]

    @admin.display(description=_("Live build"))
    def live_version(self, obj: Map) -> str:
        return f"v{obj.live_build.version}" if obj.live_build else "—"

    @admin.display(description=_("Trustworthiness / kNN recall"))
    def live_quality(self, obj: Map) -> str:
        m = obj.live_build.layout_metrics if obj.live_build else {}
        if not m:
            return "—"
        return f"{m.get('trustworthiness', 0):.3f} / {m.get('knn_recall', 0):.3f}"

    @admin.display(description=_("Quality metrics"))
    def live_metrics(self, obj: Map) -> str:
        """The live build's page holds its measures as tables, against their anchors."""
        if not obj.live_build:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:embeddings_mapbuild_change", args=[obj.live_build.pk]),
            _("v%(v)s: measures, clusters and decades") % {"v": obj.live_build.version},
        )

    @admin.action(description=_("Rebuild selected maps (in the background)"))
    def rebuild(self, request: HttpRequest, queryset: QuerySet) -> None:
        from maps.tasks import enqueue_build

        jobs = [enqueue_build(m.pk) for m in queryset]
        self.message_user(
            request, _("%(n)d map builds queued; follow them under Jobs.") % {"n": len(jobs)}, messages.SUCCESS
        )


@admin.register(MapBuild)
class MapBuildAdmin(admin.ModelAdmin):
    """A build's page reads as tables (measures against their anchors, parameters, clusters, decades), with
    the actions a curator takes on a build: rebuild the map, make this kept build live again, compare two."""

    list_display = ["map", "version", "status", "n_points", "feature_version", "live_quality", "created", "finished"]
    list_filter = ["map", "status"]
    change_form_template = "admin/embeddings/mapbuild/change_form.html"
    readonly_fields = [
        "map",
        "version",
        "status",
        "feature_version",
        "n_points",
        "n_published",
        "created",
        "finished",
        "error",
    ]
    fields = [*readonly_fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Builds come from a rebuild, never from a form."""
        return False

    @admin.display(description=_("Trustworthiness / kNN recall"))
    def live_quality(self, obj: MapBuild) -> str:
        m = obj.layout_metrics
        return f"{m.get('trustworthiness', 0):.3f} / {m.get('knn_recall', 0):.3f}" if m else "—"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("compare/", view(self.compare_view), name="embeddings_mapbuild_compare"),
            path("<int:pk>/make-live/", view(self.make_live_view), name="embeddings_mapbuild_make_live"),
            path("<int:pk>/rebuild/", view(self.rebuild_view), name="embeddings_mapbuild_rebuild"),
            *super().get_urls(),
        ]

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        from maps.build_pages import build_page

        allowed = self.has_view_or_change_permission(request) and str(object_id).isdigit()
        build = MapBuild.objects.select_related("map").filter(pk=object_id).first() if allowed else None
        context = {**(build_page(build) if build else {}), "can_act": _may_act(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, context)

    @method_decorator(require_POST)
    def make_live_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Refused with the reason (failed, incomplete, files lost, other features); otherwise queued as a job."""
        from maps.switching import live_refusal
        from maps.tasks import enqueue_make_live

        build = _acted_on(request, pk)
        refusal = live_refusal(build)
        if refusal:
            self.message_user(request, refusal, messages.ERROR)
        else:
            job = enqueue_make_live(build.pk)
            self.message_user(
                request,
                _("v%(v)s of %(map)s goes live in the background (job %(job)s, under Jobs).")
                % {"v": build.version, "map": build.map.slug, "job": job.pk},
                messages.SUCCESS,
            )
        return redirect("admin:embeddings_mapbuild_change", build.pk)

    @method_decorator(require_POST)
    def rebuild_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        from maps.tasks import enqueue_build

        build = _acted_on(request, pk)
        job = enqueue_build(build.map_id)
        self.message_user(
            request,
            _("A new build of %(map)s is queued (job %(job)s, under Jobs).") % {"map": build.map.slug, "job": job.pk},
            messages.SUCCESS,
        )
        return redirect("admin:embeddings_mapbuild_change", build.pk)

    def compare_view(self, request: HttpRequest) -> HttpResponse:
        """Two builds of one map side by side (a read: GET, view permission)."""
        from maps.build_pages import comparison

        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            a, b = (MapBuild.objects.select_related("map").get(pk=int(request.GET[k])) for k in ("a", "b"))
        except (KeyError, ValueError, MapBuild.DoesNotExist):
            raise Http404(_("Choose two builds to compare.")) from None
        if a.map_id != b.map_id:
            raise Http404(_("Only builds of the same map can be compared."))
        context = {
            **self.admin_site.each_context(request),
            **comparison(a, b),
            "opts": self.model._meta,
            "title": _("%(map)s: v%(a)s against v%(b)s") % {"map": a.map.title, "a": a.version, "b": b.version},
        }
        return TemplateResponse(request, "admin/embeddings/mapbuild/compare.html", context)


def _may_act(request: HttpRequest) -> bool:
    """Rebuilding and switching builds change what visitors see: the map's change permission, not the build's."""
    return request.user.has_perm("embeddings.change_map")


def _acted_on(request: HttpRequest, pk: int) -> MapBuild:
    if not _may_act(request):
        raise PermissionDenied
    return get_object_or_404(MapBuild.objects.select_related("map"), pk=pk)


def on_the_maps(work: Artwork) -> str | None:
    """Where a work sits on each live map: the public link (published works only) and its nearest works there.

    Neighbours by distance on the map itself, unpublished ones included: it is what a curator looks at to
    judge the layout around the work, which the similar-works index (published works only) would not show.
    """
    if work.pk is None or work.image_id is None:
        return None
    points = (
        MapPoint.objects.filter(
            artwork=work, face=None, build__map__live_build=F("build"), build__map__subject=Map.Subject.ARTWORKS
        )
        .select_related("build__map")
        .order_by("build__map__slug")
    )
    parts = [_map_part(work, point) for point in points]
    return format_html_join("", "{}", ((part,) for part in parts)) if parts else None


def _map_part(work: Artwork, point: MapPoint) -> str:
    map_ = point.build.map
    link = (
        format_html(
            '<a class="public-map-link" href="{}?{}">{}</a>',
            reverse("frontend:home"),
            urlencode({"map": map_.slug, "sel": work.pk}),
            _("Show on the public map"),
        )
        if work.published
        else _("Not on the public map while unpublished.")
    )
    # The map page in curator mode: its API then serves unpublished works too, to curators only (maps/api.py).
    curator_link = format_html(
        '<a class="curator-map-link" href="{}?{}">{}</a>',
        reverse("frontend:home"),
        urlencode({"map": map_.slug, "sel": work.pk, "curator": 1}),
        _("Show on the map (curator view, including unpublished works)"),
    )
    return format_html(
        '<div class="map-place"><p><strong>{}</strong> (v{}, {}): {} · {}</p><div class="map-neighbours">{}</div></div>',
        map_.title,
        point.build.version,
        _("placed after the build") if point.placed else _("fitted in the build"),
        link,
        curator_link,
        _neighbours(point),
    )


def _neighbours(point: MapPoint) -> str:
    dx, dy = F("x") - point.x, F("y") - point.y
    nearest = (
        MapPoint.objects.filter(build=point.build, face=None)
        .exclude(artwork_id=point.artwork_id)
        .annotate(d2=dx * dx + dy * dy)
        .order_by("d2", "pk")
        .select_related("artwork__image")[:NEIGHBOURS_SHOWN]
    )
    return format_html_join(
        "",
        '<a class="map-neighbour" href="{}" title="{}"><img src="{}" alt="{}" style="max-height:96px;margin:2px" '
        'loading="lazy"></a>',
        (
            (reverse("admin:collection_artwork_change", args=[p.artwork_id]), p.artwork.title, url, p.artwork.title)
            for p in nearest
            if (url := thumb_url(p.artwork))
        ),
    )


add_artwork_section(_("On the map"), on_the_maps)
