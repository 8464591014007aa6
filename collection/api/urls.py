from rest_framework.routers import DefaultRouter

from collection.api.views import ArtworkViewSet

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.register("artworks", ArtworkViewSet, basename="artwork")

urlpatterns = router.urls
