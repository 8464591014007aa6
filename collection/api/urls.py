"""collection's part of the REST API: works. config/urls.py assembles it with the later stages' parts."""

from rest_framework.routers import DefaultRouter

from collection.api.views import ArtworkViewSet


class StageRouter(DefaultRouter):
    """One stage's routes, with format suffixes like DefaultRouter's; config.urls makes the one API root for all."""

    include_root_view = False


class ActionsFirstRouter(StageRouter):
    """Tries a work's actions (.../1986/23/image/) before its detail route, whose accession may hold "/"."""

    routes = [DefaultRouter.routes[0], DefaultRouter.routes[1], DefaultRouter.routes[3], DefaultRouter.routes[2]]


router = ActionsFirstRouter(trailing_slash=True)
router.register("artworks", ArtworkViewSet, basename="artwork")

urlpatterns = router.urls
