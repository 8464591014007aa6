"""mlserver's part of the REST API: faces, search by face, object labels. config/urls.py assembles the whole."""

from django.urls import path

from collection.api.urls import StageRouter
from mlserver.api import FaceSearchView, FaceViewSet
from mlserver.works_api import ObjectLabelListView

router = StageRouter(trailing_slash=True)
router.register("faces", FaceViewSet, basename="face")

urlpatterns = router.urls + [
    path("search/face/", FaceSearchView.as_view(), name="search-face"),
    path("objects/", ObjectLabelListView.as_view(), name="object-list"),
]
