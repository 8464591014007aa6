from django.urls import path

from frontend import views

app_name = "frontend"

urlpatterns = [
    path("", views.home, name="home"),
    path("works/<str:accession_number>/", views.artwork, name="artwork"),
]
