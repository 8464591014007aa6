from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("list/", views.works_list, name="list"),
    path("decades/", views.decades, name="decades"),
    path("works/<str:accession_number>/", views.artwork, name="artwork"),
]
