from django.urls import path

from collection import views

app_name = "collection"

urlpatterns = [
    path("files/private/<str:token>", views.private_file, name="private-file"),
]
