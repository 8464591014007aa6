"""analysis' part of the REST API: faces, search by face, object labels. config/urls.py assembles the whole."""

from django.urls import path

from analysis.api import FaceSearchView, FaceViewSet
from analysis.works_api import ObjectLabelListView
from collection.api.urls import StageRouter

router = StageRouter(trailing_slash=True)
router.register("faces", FaceViewSet, basename="face")

urlpatterns = router.urls + [
    path("search/face/", FaceSearchView.as_view(), name="search-face"),
    path("objects/", ObjectLabelListView.as_view(), name="object-list"),
]
