from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView

from analysis import api_urls as analysis_api
from collection.api import urls as collection_api
from maps import api_urls as maps_api

# The REST API, assembled from each stage's own routes. Later stages come first: a work's
# .../similar/ (maps) must be tried before collection's work detail, whose accession
# numbers may hold "/". Each stage's router has no root view; this is the one root for all.
STAGE_APIS = [maps_api, analysis_api, collection_api]
api_root = APIRootView.as_view(
    api_root_dict={
        prefix: f"{basename}-list" for stage in reversed(STAGE_APIS) for prefix, _, basename in stage.router.registry
    }
)
api_urlpatterns = [path("", api_root, name="api-root")] + [
    pattern for stage in STAGE_APIS for pattern in stage.urlpatterns
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (no inline script); Swagger UI's own page
    # still carries a <style> block, so only this page allows inline styles.
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api/v1/", include((api_urlpatterns, "api"))),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("collection.urls")),
    path("", include("frontend.urls")),
]

# Under /api/ these answer in the API's JSON error shape (collection.api.errors); elsewhere, Django's pages.
handler400 = "collection.api.errors.bad_request"
handler404 = "collection.api.errors.not_found"
handler500 = "collection.api.errors.server_error"

if settings.SERVE_MEDIA:
    # Public derivatives only: originals live in the private area, reachable through signed URLs.
    urlpatterns += [
        re_path(r"^media/public/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT / "public"}),
    ]
