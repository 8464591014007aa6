from django.urls import path, register_converter

from collection.values import AccessionConverter
from frontend import views

register_converter(AccessionConverter, "accession")

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("list/", views.works_list, name="list"),
    path("decades/", views.decades, name="decades"),
    path("works/<accession:accession_number>/", views.artwork, name="artwork"),
]
