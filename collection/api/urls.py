from django.urls import path
from rest_framework.routers import DefaultRouter

from collection.api.views import ArtworkViewSet, ImageSearchView
from embeddings.api import DecadeDetailView, DecadeListView, MapPointsView, MapViewSet

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.register("artworks", ArtworkViewSet, basename="artwork")
router.register("maps", MapViewSet, basename="map")

urlpatterns = router.urls + [
    path("maps/<slug:slug>/points/", MapPointsView.as_view(), name="map-points"),
    path("decades/", DecadeListView.as_view(), name="decade-list"),
    path("decades/<int:decade>/", DecadeDetailView.as_view(), name="decade-detail"),
    path("search/image/", ImageSearchView.as_view(), name="search-image"),
]
