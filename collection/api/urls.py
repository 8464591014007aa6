from django.urls import path
from rest_framework.routers import DefaultRouter

from collection.api.views import ArtworkViewSet, ImageSearchView, ObjectLabelListView
from embeddings.api import (
    DecadeDetailView,
    DecadeListView,
    MapMatchView,
    MapPointsView,
    MapViewSet,
    MapWorksView,
)
from mlserver.api import FaceSearchView, FaceViewSet

app_name = "api"


class ActionsFirstRouter(DefaultRouter):
    """Tries a work's actions (.../1986/23/similar/) before its detail route, whose accession may hold "/"."""

    routes = [DefaultRouter.routes[0], DefaultRouter.routes[1], DefaultRouter.routes[3], DefaultRouter.routes[2]]


router = ActionsFirstRouter(trailing_slash=True)
router.register("artworks", ArtworkViewSet, basename="artwork")
router.register("maps", MapViewSet, basename="map")
router.register("faces", FaceViewSet, basename="face")

urlpatterns = router.urls + [
    path("maps/<slug:slug>/points/", MapPointsView.as_view(), name="map-points"),
    # For the map page: work details in batches (GET), CSV export (POST), filter matches.
    path("maps/<slug:slug>/works/", MapWorksView.as_view(), name="map-works"),
    path("maps/<slug:slug>/match/", MapMatchView.as_view(), name="map-match"),
    path("decades/", DecadeListView.as_view(), name="decade-list"),
    path("decades/<int:decade>/", DecadeDetailView.as_view(), name="decade-detail"),
    path("search/image/", ImageSearchView.as_view(), name="search-image"),
    path("search/face/", FaceSearchView.as_view(), name="search-face"),
    path("objects/", ObjectLabelListView.as_view(), name="object-list"),
]
