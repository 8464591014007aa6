"""maps' part of the REST API: maps, points, decades, similar works, search by image.

config/urls.py assembles the whole API and tries these routes before collection's (see similar_api).
"""

from django.urls import path, re_path

from collection.api.urls import StageRouter
from collection.values import ACCESSION_REGEX
from maps.api import DecadeDetailView, DecadeListView, MapPointsView, MapViewSet
from maps.map_page_api import MapMatchView, MapWorksView
from maps.similar_api import ImageSearchView, SimilarWorksView

router = StageRouter(trailing_slash=True)
router.register("maps", MapViewSet, basename="map")

urlpatterns = router.urls + [
    re_path(
        rf"^artworks/(?P<accession_number>{ACCESSION_REGEX})/similar/$",
        SimilarWorksView.as_view({"get": "similar"}),
        name="artwork-similar",
    ),
    path("maps/<slug:slug>/points/", MapPointsView.as_view(), name="map-points"),
    # For the map page: work details in batches (GET), CSV export (POST), filter matches.
    path("maps/<slug:slug>/works/", MapWorksView.as_view(), name="map-works"),
    path("maps/<slug:slug>/match/", MapMatchView.as_view(), name="map-match"),
    path("decades/", DecadeListView.as_view(), name="decade-list"),
    path("decades/<int:decade>/", DecadeDetailView.as_view(), name="decade-detail"),
    path("search/image/", ImageSearchView.as_view(), name="search-image"),
]
